// A plan as text (what `mixcl plan` prints) and as JSON (`--json`).
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "scheduler/plan_detail.h"

namespace mixcl::scheduler {
namespace {

std::string ms(double seconds) { return fmt::format("{:.3f} ms", seconds * 1e3); }

// Time and bytes of the steps of one kind on one place, summed over layers.
struct KindTotals {
  int steps = 0;
  double decode_s = 0, prefill_s = 0, decode_bytes = 0;
};

nlohmann::json cost_json(const StepCost& c) {
  return {{"bytes", c.bytes},           {"flops", c.flops},         {"transfer_bytes", c.transfer_bytes},
          {"read_s", c.read_s},         {"compute_s", c.compute_s}, {"overhead_s", c.overhead_s},
          {"transfer_s", c.transfer_s}, {"ops", c.ops},               {"copies", c.copies},
          {"seconds", c.seconds}};
}

nlohmann::json phase_json(const PhaseTime& p) {
  nlohmann::json shares = nlohmann::json::array();
  for (const auto& [resource, s] : p.shares) shares.push_back({{"resource", resource}, {"seconds", s}});
  return {{"seconds", p.seconds},
          {"tokens", p.tokens},
          {"tokens_per_s", p.tokens_per_s},
          {"bottleneck", p.bottleneck},
          {"shares", shares}};
}

}  // namespace

std::string format_plan(const Plan& plan) {
  const arch::Deepseek2Config& c = plan.config;
  std::string out;
  uint64_t total_weights = 0;
  for (const MemoryUse& m : plan.memory) total_weights += m.weights;
  out += fmt::format("plan: {} on profile {} (context {}, batch {})\n", plan.model, plan.profile, plan.options.context,
                     plan.options.batch);
  out += fmt::format("model: {} layers ({} dense), {} routed experts ({} used per token), {} shared, {} of weights\n\n",
                     c.n_layer, c.n_dense, c.n_expert, c.n_expert_used, c.n_expert_shared, format_bytes(total_weights));

  out += fmt::format("{:<10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}\n", "memory", "budget", "weights",
                     "KV cache", "scratch", "reserve", "total", "free");
  for (const MemoryUse& m : plan.memory)
    out += fmt::format("{:<10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}\n", m.location, format_bytes(m.budget),
                       format_bytes(m.weights), format_bytes(m.kv_cache), format_bytes(m.scratch),
                       format_bytes(m.reserve), format_bytes(m.total()), format_bytes(m.budget - m.total()));
  for (const MemoryUse& m : plan.memory)
    if (m.unused > 0)
      out += fmt::format("({}: {} of tensors no step reads stay in the file mapping, not counted)\n", m.location,
                         format_bytes(m.unused));

  out += "\nplacement:\n";
  for (const std::string& d : plan.decisions) out += "  " + d + "\n";

  std::map<size_t, std::vector<int>> kv_layers;
  for (const StepPlan& s : plan.steps)
    if (s.kind == StepKind::kAttention) kv_layers[s.location].push_back(s.layer);
  std::string kv_where;
  for (const auto& [loc, layers] : kv_layers)
    kv_where += fmt::format("{}{}: layers {}", kv_where.empty() ? "" : "; ", plan.locations[loc],
                            detail::layer_ranges(layers));
  out += fmt::format("\nKV cache: {}, ({} + {}) x {} positions x {} layers = {} ({})\n", dtype_name(plan.kv_type),
                     c.kv_lora_rank, c.rope_dim, plan.options.context, c.n_layer,
                     format_bytes(plan.kv_bytes_per_layer * c.n_layer), kv_where);

  // Time per step kind and place.
  std::map<std::pair<std::string, std::string>, KindTotals> totals;
  for (const StepPlan& s : plan.steps) {
    const size_t run_at = s.streamed ? s.stream_location : s.location;
    KindTotals& k = totals[{std::string(step_kind_name(s.kind)),
                            plan.locations[s.location] + (s.streamed ? " (prefill on " + plan.locations[run_at] + ")" : "") +
                                (s.overlapped ? " (overlaps shared)" : "")}];
    k.steps += 1;
    k.decode_s += s.decode.seconds;
    k.prefill_s += s.prefill.seconds;
    k.decode_bytes += s.decode.bytes;
  }
  out += fmt::format("\n{:<16} {:<34} {:>6} {:>14} {:>14} {:>14}\n", "step", "place", "steps", "read/token",
                     "decode/token", "prefill/batch");
  for (const auto& [key, k] : totals)
    out += fmt::format("{:<16} {:<34} {:>6} {:>14} {:>14} {:>14}\n", key.first, key.second, k.steps,
                       format_bytes(static_cast<uint64_t>(k.decode_bytes)), ms(k.decode_s), ms(k.prefill_s));

  out += fmt::format("\npredicted (roofline; decode at position {}, prefill of a {}-token batch from position 0):\n",
                     plan.options.decode_position, plan.options.batch);
  out += fmt::format("  decode:  {:.2f} tokens/s ({} per token); bottleneck: {}\n", plan.decode.tokens_per_s,
                     ms(plan.decode.seconds), plan.decode.bottleneck);
  out += fmt::format("  prefill: {:.1f} tokens/s ({} per batch); bottleneck: {}\n", plan.prefill.tokens_per_s,
                     ms(plan.prefill.seconds), plan.prefill.bottleneck);
  for (const std::string& n : plan.notes) out += "note: " + n + "\n";
  return out;
}

std::string plan_json(const Plan& plan) {
  nlohmann::json j;
  j["model"] = plan.model;
  j["profile"] = plan.profile;
  j["options"] = {{"context", plan.options.context},
                  {"batch", plan.options.batch},
                  {"decode_position", plan.options.decode_position}};
  const arch::Deepseek2Config& c = plan.config;
  j["config"] = {{"n_layer", c.n_layer},     {"n_dense", c.n_dense},         {"n_embd", c.n_embd},
                 {"n_expert", c.n_expert},   {"n_expert_used", c.n_expert_used}, {"n_vocab", c.n_vocab},
                 {"kv_lora_rank", c.kv_lora_rank}, {"rope_dim", c.rope_dim}};
  j["locations"] = plan.locations;
  nlohmann::json speeds = nlohmann::json::array();
  for (size_t i = 0; i < plan.speeds.size(); ++i) {
    const Speeds& s = plan.speeds[i];
    speeds.push_back({{"location", plan.locations[i]}, {"read_bps", s.read_bps}, {"flops", s.flops},
                      {"h2d_bps", s.h2d_bps}, {"d2h_bps", s.d2h_bps}, {"op_overhead_s", s.op_overhead_s}, {"copy_latency_s", s.copy_latency_s}});
  }
  j["speeds"] = speeds;
  nlohmann::json memory = nlohmann::json::array();
  for (const MemoryUse& m : plan.memory)
    memory.push_back({{"location", m.location}, {"budget", m.budget}, {"weights", m.weights},
                      {"kv_cache", m.kv_cache}, {"scratch", m.scratch}, {"reserve", m.reserve},
                      {"total", m.total()}, {"unused", m.unused}});
  j["memory"] = memory;
  nlohmann::json kv_layers = nlohmann::json::array();
  for (const StepPlan& s : plan.steps)
    if (s.kind == StepKind::kAttention) kv_layers.push_back({{"layer", s.layer}, {"location", plan.locations[s.location]}});
  j["kv_cache"] = {{"type", std::string(dtype_name(plan.kv_type))},
                   {"bytes_per_layer", plan.kv_bytes_per_layer},
                   {"bytes", plan.kv_bytes_per_layer * c.n_layer},
                   {"layers", kv_layers}};
  nlohmann::json steps = nlohmann::json::array();
  for (const StepPlan& s : plan.steps) {
    nlohmann::json e = {{"kind", std::string(step_kind_name(s.kind))},
                        {"layer", s.layer},
                        {"location", plan.locations[s.location]},
                        {"weight_bytes", s.weight_bytes},
                        {"reason", s.reason},
                        {"overlapped", s.overlapped},
                        {"decode", cost_json(s.decode)},
                        {"prefill", cost_json(s.prefill)}};
    if (s.streamed) e["prefill_streamed_to"] = plan.locations[s.stream_location];
    steps.push_back(e);
  }
  j["steps"] = steps;
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorPlan& t : plan.tensors)
    tensors.push_back({{"name", t.name},
                       {"step", std::string(step_kind_name(t.step))},
                       {"layer", t.layer},
                       {"location", plan.locations[t.location]},
                       {"file_type", std::string(dtype_name(t.file_type))},
                       {"stored_type", std::string(dtype_name(t.stored_type))},
                       {"file_bytes", t.file_bytes},
                       {"bytes", t.bytes},
                       {"by_rule", t.by_rule},
                       {"reason", t.reason}});
  j["tensors"] = tensors;
  j["decisions"] = plan.decisions;
  j["notes"] = plan.notes;
  j["decode"] = phase_json(plan.decode);
  j["prefill"] = phase_json(plan.prefill);
  return j.dump(2);
}

}  // namespace mixcl::scheduler
