// The planner's predictions: the roofline cost of each step, activation copies between places, host and
// accelerator overlap, expert streaming in prefill, and the phase totals with their bottleneck.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "common/error.h"
#include "scheduler/plan_detail.h"

namespace mixcl::scheduler::detail {
namespace {

constexpr double kActBytes = 4;     // activations cross devices as f32
constexpr double kRouteBytes = 8;   // one expert id (i32) and its weight (f32)

// Where the steps of one layer run, as the executor runs them (scheduler/executor/forward_steps.cpp): the
// residual stream follows the steps (attention, then the FFN), and a MoE layer's norm and router run where
// its routed experts are, whatever the plan charges their weights to.
struct LayerPlaces {
  size_t attention = 0;    // attention and its KV cache
  size_t ffn = 0;          // where the FFN runs and leaves the residual: routed experts' place, or dense FFN's
  size_t residual_in = 0;  // where the residual is before the attention (previous layer's FFN, or embedding)
  bool moe = false;
  bool has_shared = false;
};

const Speeds* place_speeds(const Plan& plan, size_t loc) {
  return loc == plan.host() ? nullptr : &plan.speeds[loc];
}

// Where layer `layer`'s FFN leaves the residual (the embedding's place for layer -1).
size_t ffn_place(const Plan& plan, int layer) {
  size_t attention = plan.host(), ffn = SIZE_MAX, embedding = plan.host();
  for (const StepPlan& s : plan.steps) {
    if (s.kind == StepKind::kEmbedding) embedding = s.location;
    if (s.layer != layer) continue;
    if (s.kind == StepKind::kAttention) attention = s.location;
    if (s.kind == StepKind::kRoutedExperts || s.kind == StepKind::kDenseFfn) ffn = s.location;
  }
  if (layer < 0) return embedding;
  return ffn != SIZE_MAX ? ffn : attention;
}

LayerPlaces layer_places(const Plan& plan, int layer) {
  LayerPlaces p;
  p.residual_in = ffn_place(plan, layer - 1);
  p.ffn = ffn_place(plan, layer);
  for (const StepPlan& s : plan.steps) {
    if (s.layer != layer) continue;
    if (s.kind == StepKind::kAttention) p.attention = s.location;
    if (s.kind == StepKind::kRoutedExperts) p.moe = true;
    if (s.kind == StepKind::kSharedExperts) p.has_shared = true;
  }
  return p;
}

// Location of the last layer's residual stream (input of the head).
size_t last_residual(const Plan& plan) { return ffn_place(plan, static_cast<int>(plan.config.n_layer) - 1); }

// One copy of `bytes` between places; counts it in `moved` and `copies`.
double copy(const Plan& plan, double bytes, size_t from, size_t to, double* moved, double* copies) {
  if (from == to || bytes == 0) return 0;
  *moved += bytes;
  *copies += (from != plan.host()) + (to != plan.host());  // each device end is one transfer with its latency
  return transfer_time(bytes, place_speeds(plan, from), place_speeds(plan, to), plan.options.cost);
}

// The step's weights by stored format, times `fraction` (the share of them a decode token reads).
std::map<DType, double> weights_by_type(const Plan& plan, const StepPlan& step, double fraction) {
  std::map<DType, double> out;
  for (const TensorPlan& t : plan.tensors)
    if (t.step == step.kind && t.layer == step.layer) out[t.stored_type] += fraction * static_cast<double>(t.bytes);
  return out;
}

}  // namespace

StepCost step_cost(const Plan& plan, const StepPlan& step, bool prefill) {
  const arch::Deepseek2Config& c = plan.config;
  const double t = prefill ? plan.options.batch : 1.0;
  const double act = kActBytes * c.n_embd * t;
  size_t loc = step.location;
  StepCost cost;
  Work work;
  double moved = 0, transfer_s = 0, copies = 0, ops = 0;
  if (step.kind == StepKind::kEmbedding) {
    const TensorPlan* embd = plan.find("token_embd.weight");
    if (embd != nullptr) work.bytes = t * static_cast<double>(embd->bytes) / c.n_vocab;  // one row per token
    transfer_s += copy(plan, 4 * t, plan.host(), loc, &moved, &copies);                  // the token ids
    ops = 1;                                                                              // get_rows
  } else if (step.kind == StepKind::kHead) {
    work = matmul_work(static_cast<double>(step.weight_bytes), step.params, 1.0);  // logits of the last token
    transfer_s += copy(plan, act, last_residual(plan), loc, &moved, &copies);      // the whole batch's rows move
    transfer_s += copy(plan, kActBytes * c.n_vocab, loc, plan.host(), &moved, &copies);
    ops = 2;  // output_norm, output
  } else if (step.layer >= 0) {
    const LayerPlaces p = layer_places(plan, step.layer);
    switch (step.kind) {
      case StepKind::kAttention: {
        const double kvb = kv_elem_bytes(plan.kv_type);
        const double pos = prefill ? (t + 1) / 2 : plan.options.decode_position;
        const double read = prefill ? t : plan.options.decode_position;
        work = matmul_work(static_cast<double>(step.weight_bytes), step.params, t);
        work += attention_core_work(c, t, pos, read, kvb);
        transfer_s += copy(plan, act, p.residual_in, loc, &moved, &copies);
        ops = attention_ops(c, t, /*heads_as_one_op=*/loc == plan.host());
        break;
      }
      case StepKind::kRouter:
        // ffn_norm, the router matmul and top-k run beside the routed experts; the shared expert's output
        // is added there too.
        loc = p.ffn;
        work = matmul_work(static_cast<double>(step.weight_bytes), step.params, t);
        transfer_s += copy(plan, act, p.attention, loc, &moved, &copies);
        ops = 3 + (p.has_shared ? 1 : 0);
        break;
      case StepKind::kSharedExperts:
        work = matmul_work(static_cast<double>(step.weight_bytes), step.params, t);
        transfer_s += copy(plan, act, p.ffn, loc, &moved, &copies);  // normed input from the router's place
        transfer_s += copy(plan, act, loc, p.ffn, &moved, &copies);  // output back to be added
        ops = 4;  // gate, up, swiglu, down
        break;
      case StepKind::kDenseFfn:
        work = matmul_work(static_cast<double>(step.weight_bytes), step.params, t);
        transfer_s += copy(plan, act, p.attention, loc, &moved, &copies);
        ops = 6;  // ffn_norm, gate, up, swiglu, down, residual add
        break;
      case StepKind::kRoutedExperts: {
        const double per_bytes = static_cast<double>(step.weight_bytes) / c.n_expert;
        const double per_params = step.params / c.n_expert;
        const double touched = experts_touched(c.n_expert, c.n_expert_used, t);
        work.bytes = touched * per_bytes;
        work.flops = 2.0 * t * c.n_expert_used * per_params;
        ops = 1;  // moe_ffn (its input, ids and weights are already where the router ran)
        if (prefill && step.streamed) {
          const size_t run_at = step.stream_location;
          transfer_s += copy(plan, act, loc, run_at, &moved, &copies);
          transfer_s += copy(plan, kRouteBytes * c.n_expert_used * t, loc, run_at, &moved, &copies);
          transfer_s += copy(plan, act, run_at, loc, &moved, &copies);
          // The touched experts cross the link while the accelerator computes the previous ones.
          const double link = copy(plan, work.bytes, loc, run_at, &moved, &copies);
          const StepTime st = step_time(work, plan.speeds[run_at], ops);
          cost.bytes = work.bytes;
          cost.flops = work.flops;
          cost.read_s = std::max(st.read_s, link);
          cost.compute_s = st.compute_s;
          cost.overhead_s = st.overhead_s;
          cost.ops = ops;
          cost.copies = copies;
          cost.transfer_bytes = moved;
          cost.transfer_s = transfer_s;
          cost.seconds = std::max(cost.read_s, cost.compute_s) + cost.overhead_s + cost.transfer_s;
          return cost;
        }
        break;
      }
      default: break;
    }
  }
  // A decode token's weight reads are mat-vec products, whose kernels reach a rate of their own per format.
  if (!prefill && step.kind != StepKind::kEmbedding && step.weight_bytes > 0) {
    const double share = step.kind == StepKind::kRoutedExperts
                             ? experts_touched(c.n_expert, c.n_expert_used, 1.0) / c.n_expert
                             : 1.0;
    work.by_type = weights_by_type(plan, step, share);
  }
  const StepTime st = step_time(work, plan.speeds[loc], ops);
  cost.bytes = work.bytes;
  cost.flops = work.flops;
  cost.read_s = st.read_s;
  cost.compute_s = st.compute_s;
  cost.overhead_s = st.overhead_s;
  cost.ops = ops;
  cost.copies = copies;
  cost.transfer_bytes = moved;
  cost.transfer_s = transfer_s;
  cost.seconds = st.total() + transfer_s;
  return cost;
}

double layer_seconds(const Plan& plan, int layer, bool prefill) {
  double total = 0, shared = 0, routed = 0;
  bool overlap = false;
  for (const StepPlan& s : plan.steps) {
    if (s.layer != layer || s.kind == StepKind::kHead || s.kind == StepKind::kEmbedding) continue;
    const double sec = (prefill ? s.prefill : s.decode).seconds;
    if (s.kind == StepKind::kSharedExperts) shared = sec;
    else if (s.kind == StepKind::kRoutedExperts) {
      routed = sec;
      overlap = s.overlapped && !(prefill && s.streamed);
    } else total += sec;
  }
  // Where the FFN leaves the residual decides the next copy too (costed in the next step, counted here so
  // that a placement choice for this layer sees it).
  const double t = prefill ? plan.options.batch : 1.0;
  size_t next = plan.host();
  for (const StepPlan& s : plan.steps)
    if ((s.kind == StepKind::kAttention && s.layer == layer + 1) ||
        (s.kind == StepKind::kHead && layer + 1 == static_cast<int>(plan.config.n_layer)))
      next = s.location;
  double moved = 0, copies = 0;
  const double onward = copy(plan, kActBytes * plan.config.n_embd * t, ffn_place(plan, layer), next, &moved, &copies);
  return total + onward + (overlap ? std::max(shared, routed) : shared + routed);
}

namespace {

// Resource names for the bottleneck report.
struct Shares {
  std::map<std::string, double> seconds;
  std::map<std::string, std::map<std::string, double>> by_step;  // resource -> step kind -> seconds

  void add(const std::string& resource, std::string_view step, double s) {
    if (s <= 0) return;
    seconds[resource] += s;
    by_step[resource][std::string(step)] += s;
  }
  void add_step(const Plan& plan, const StepPlan& step, const StepCost& c, bool prefill) {
    const size_t run_at = prefill && step.streamed            ? step.stream_location
                          : step.kind == StepKind::kRouter ? ffn_place(plan, step.layer)
                                                           : step.location;
    const std::string& where = plan.locations[run_at];
    const std::string_view kind = step_kind_name(step.kind);
    if (prefill && step.streamed && c.read_s > c.compute_s)
      add(where + " link (expert streaming)", kind, c.read_s);
    else if (c.read_s >= c.compute_s)
      add(where + " memory bandwidth", kind, c.read_s);
    else
      add(where + " compute", kind, c.compute_s);
    add(where + " op launches", kind, c.overhead_s);
    add("activation copies", kind, c.transfer_s);
  }
};

PhaseTime sum_phase(const Plan& plan, bool prefill) {
  Shares shares;
  double total = 0;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const StepPlan& s = plan.steps[i];
    const StepCost& c = prefill ? s.prefill : s.decode;
    if (s.kind == StepKind::kSharedExperts || s.kind == StepKind::kRoutedExperts) continue;  // per layer below
    total += c.seconds;
    shares.add_step(plan, s, c, prefill);
  }
  // Shared and routed experts of each layer: summed, or the longer of the two when they overlap.
  for (uint32_t layer = 0; layer < plan.config.n_layer; ++layer) {
    const StepPlan *shared = nullptr, *routed = nullptr;
    for (const StepPlan& s : plan.steps) {
      if (s.layer != static_cast<int>(layer)) continue;
      if (s.kind == StepKind::kSharedExperts) shared = &s;
      if (s.kind == StepKind::kRoutedExperts) routed = &s;
    }
    const bool overlap = routed != nullptr && routed->overlapped && !(prefill && routed->streamed);
    const auto sec = [&](const StepPlan* s) { return s ? (prefill ? s->prefill : s->decode).seconds : 0.0; };
    if (overlap && shared != nullptr) {
      const StepPlan* longer = sec(routed) >= sec(shared) ? routed : shared;
      total += sec(longer);
      shares.add_step(plan, *longer, prefill ? longer->prefill : longer->decode, prefill);
    } else {
      for (const StepPlan* s : {shared, routed}) {
        if (s == nullptr) continue;
        total += sec(s);
        shares.add_step(plan, *s, prefill ? s->prefill : s->decode, prefill);
      }
    }
  }
  PhaseTime p;
  p.seconds = total;
  p.tokens = prefill ? plan.options.batch : 1.0;
  p.tokens_per_s = total > 0 ? p.tokens / total : 0;
  for (const auto& [resource, s] : shares.seconds) p.shares.emplace_back(resource, s);
  std::stable_sort(p.shares.begin(), p.shares.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (!p.shares.empty() && total > 0) {
    const std::string& top = p.shares.front().first;
    std::string step;
    double best = -1;
    for (const auto& [kind, s] : shares.by_step[top])
      if (s > best) {
        best = s;
        step = kind;
      }
    p.bottleneck = fmt::format("{} ({}): {:.0f}% of {} time", top, step, 100.0 * p.shares.front().second / total,
                               prefill ? "prefill" : "decode");
  }
  return p;
}

}  // namespace

std::pair<size_t, uint64_t> cost_plan(Plan& plan, const std::vector<uint64_t>& stream_room,
                                      const SchedulingKnobs& knobs) {
  for (StepPlan& s : plan.steps) {
    s.streamed = false;
    s.decode = step_cost(plan, s, false);
    s.prefill = step_cost(plan, s, true);
  }
  // Prefill: host experts may be copied to an accelerator and computed there when that is faster (or when
  // the batch reaches the profile's stream_experts_min_batch), if one layer's experts fit beside the plan.
  size_t stream_loc = plan.host();
  uint64_t buffer = 0;
  for (StepPlan& s : plan.steps) {
    if (s.kind != StepKind::kRoutedExperts || s.location != plan.host()) continue;
    if (knobs.stream_experts_min_batch > 0 && plan.options.batch < knobs.stream_experts_min_batch) continue;
    size_t best = plan.host();
    const size_t attn = layer_places(plan, s.layer).attention;
    if (attn != plan.host() && stream_room[attn] >= s.weight_bytes) best = attn;
    for (size_t d = 0; d < plan.host() && best == plan.host(); ++d)
      if (stream_room[d] >= s.weight_bytes) best = d;
    if (best == plan.host()) continue;
    if (stream_loc != plan.host() && best != stream_loc) continue;  // one stream buffer, on one device
    StepPlan trial = s;
    trial.streamed = true;
    trial.stream_location = best;
    const StepCost streamed = step_cost(plan, trial, true);
    if (knobs.stream_experts_min_batch == 0 && streamed.seconds >= s.prefill.seconds) continue;
    s.streamed = true;
    s.stream_location = best;
    s.prefill = streamed;
    stream_loc = best;
    buffer = std::max(buffer, s.weight_bytes);
  }
  plan.decode = sum_phase(plan, false);
  plan.prefill = sum_phase(plan, true);
  return {stream_loc, buffer};
}

uint64_t scratch_bytes(const arch::Deepseek2Config& c, uint32_t tokens, uint32_t context, bool head) {
  const uint64_t t = tokens, e = c.n_embd, h = c.n_head;
  const uint64_t ffn = std::max<uint64_t>(c.n_dense > 0 ? c.n_ff : 0,
                                          uint64_t{c.n_expert_used} * c.n_ff_exp + uint64_t{c.n_expert_shared} * c.n_ff_exp);
  // Live f32 buffers of one layer: residual, normed input and output (3 E), q, absorbed q, attention output
  // in latent and value space, and the FFN's gate and up halves; attention scores in chunks of 512 positions.
  uint64_t floats = t * (3 * e + h * c.qk_head_dim() + h * (c.kv_lora_rank + c.rope_dim) + h * c.kv_lora_rank +
                         h * c.v_head_dim + 2 * ffn);
  floats += h * t * std::min<uint64_t>(context, 512);
  if (head) floats += t * c.n_vocab;
  return floats * 4;
}

std::string layer_ranges(const std::vector<int>& layers) {
  std::string out;
  size_t i = 0;
  while (i < layers.size()) {
    size_t j = i;
    while (j + 1 < layers.size() && layers[j + 1] == layers[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += j == i ? fmt::format("{}", layers[i]) : fmt::format("{}-{}", layers[i], layers[j]);
    i = j + 1;
  }
  return out;
}

uint32_t kv_elem_bytes(DType type) {
  if (type == DType::F16) return 2;
  if (type == DType::F32) return 4;
  fail("KV cache type {} is not supported: use F16 or F32 (profile quant.kv_cache)", dtype_name(type));
}

}  // namespace mixcl::scheduler::detail
