// The planner's placement policy (docs/plan.md): rules first, then each layer's attention, norms, router,
// shared expert, dense FFN and KV cache on the accelerators in proportion to their speed, the head beside
// the last layer, routed experts of whole layers on accelerators while budget remains and the cost model
// says it pays, everything else in host DRAM.
#include "scheduler/plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <regex>
#include <unordered_map>

#include "common/error.h"
#include "model/arch/tensor_class.h"
#include "model/synth/synth_types.h"
#include "scheduler/plan_detail.h"

namespace mixcl::scheduler {
namespace {

using detail::layer_ranges;

// The tensors one step reads, placed together.
struct Group {
  StepKind kind = StepKind::kUnused;
  int layer = -1;
  std::vector<size_t> tensors;   // indices into Plan::tensors
  uint64_t bytes = 0;            // stored bytes
  double params = 0;             // elements of its matrices
  std::optional<size_t> pinned;  // location forced by a rule
  std::string rule;              // the rule that pinned it
  size_t loc = 0;
  std::string key;               // reason category, for compacting layer ranges
  std::string reason;
};

int layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int v = 0;
  size_t i = 4;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) v = v * 10 + (name[i] - '0');
  return i == 4 ? -1 : v;
}

// The step that reads a tensor, and its layer.
StepKind step_of(std::string_view name, const arch::Deepseek2Config& c, int* layer) {
  *layer = -1;
  if (name == "token_embd.weight") return c.tied_output ? StepKind::kHead : StepKind::kEmbedding;
  if (name == "output.weight" || name == "output_norm.weight") return StepKind::kHead;
  const int l = layer_of(name);
  if (l < 0 || l >= static_cast<int>(c.n_layer)) return StepKind::kUnused;  // MTP blocks, unknown names
  *layer = l;
  switch (arch::classify_tensor(name)) {
    case arch::TensorClass::Attention: return StepKind::kAttention;
    case arch::TensorClass::Router: return StepKind::kRouter;
    case arch::TensorClass::SharedExperts: return StepKind::kSharedExperts;
    case arch::TensorClass::RoutedExperts: return StepKind::kRoutedExperts;
    case arch::TensorClass::DenseFfn: return StepKind::kDenseFfn;
    case arch::TensorClass::Norm:
      if (name.find(".ffn_norm.") == std::string_view::npos) return StepKind::kAttention;
      return c.is_moe_layer(static_cast<uint32_t>(l)) ? StepKind::kRouter : StepKind::kDenseFfn;
    default: break;
  }
  *layer = -1;
  return StepKind::kUnused;
}

// The profile's storage choice for a tensor's class; nullopt keeps the file's type.
std::optional<DType> quant_choice(std::string_view name, const QuantChoices& q) {
  switch (arch::classify_tensor(name)) {
    case arch::TensorClass::Attention: return q.attention;
    case arch::TensorClass::SharedExperts: return q.shared_experts;
    case arch::TensorClass::DenseFfn: return q.dense_ffn;
    case arch::TensorClass::RoutedExperts: return q.routed_experts;
    case arch::TensorClass::Embedding: return q.embedding;
    case arch::TensorClass::Output: return q.output;
    default: return std::nullopt;
  }
}

uint64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

class Planner {
 public:
  Planner(const ModelInfo& model, const Profile& profile, const PlanOptions& options)
      : model_(model), profile_(profile), c_(model.config) {
    plan_.model = model.source;
    plan_.profile = profile.name;
    plan_.config = c_;
    plan_.options = options;
    if (plan_.options.context == 0) fail("plan: context must be at least 1 (-c)");
    if (plan_.options.batch == 0) fail("plan: batch must be at least 1 (-b)");
    if (plan_.options.decode_position == 0) plan_.options.decode_position = std::max(1u, plan_.options.context / 2);
    plan_.kv_type = profile.quant.kv_cache;
    plan_.kv_bytes_per_layer = uint64_t{c_.kv_lora_rank + c_.rope_dim} * plan_.options.context *
                               detail::kv_elem_bytes(plan_.kv_type);
  }

  Plan run() {
    setup_locations();
    build_groups();
    apply_rules();
    charge_pinned();
    place_layer_cores();
    place_head();
    build_steps();
    place_routed_experts();
    place_embedding();
    finish();
    return std::move(plan_);
  }

 private:
  size_t host() const { return plan_.host(); }
  size_t n_dev() const { return profile_.devices.size(); }
  std::string where(size_t loc) const { return plan_.locations[loc]; }

  void setup_locations() {
    const CostParams& cp = plan_.options.cost;
    for (const DeviceProfile& d : profile_.devices) {
      plan_.locations.push_back(d.id);
      std::vector<std::string> defaulted;
      plan_.speeds.push_back(resolve_speeds(d.speeds, false, d.unified_memory, cp, &defaulted));
      if (!defaulted.empty())
        plan_.notes.push_back(fmt::format("{}: profile gives no {}; assumed the defaults", d.id, fmt::join(defaulted, ", ")));
      uint64_t budget = d.memory_budget;
      if (budget == 0) {
        const auto it = plan_.options.device_memory.find(d.id);
        if (it == plan_.options.device_memory.end() || it->second == 0)
          fail("plan: device {} of profile {} has memory_budget 0 (all the device reports) and the planner has no "
               "device to ask: set devices.{}.memory_budget (e.g. 24GiB)",
               d.id, profile_.name, d.id);
        budget = it->second;
      }
      budgets_.push_back(budget);
    }
    plan_.locations.push_back("host");
    std::vector<std::string> defaulted;
    plan_.speeds.push_back(resolve_speeds(profile_.host.speeds, true, false, plan_.options.cost, &defaulted));
    if (!defaulted.empty())
      plan_.notes.push_back(fmt::format("host: profile gives no {}; assumed the defaults", fmt::join(defaulted, ", ")));
    uint64_t host_budget = profile_.host.dram_budget;
    if (host_budget == 0) host_budget = plan_.options.host_memory ? plan_.options.host_memory : physical_memory();
    budgets_.push_back(host_budget);
    overdrawn_.assign(n_dev() + 1, 0);
    // Free bytes per place: budget less the reserve and the activation scratch of a place that runs steps.
    const uint64_t scratch = detail::scratch_bytes(c_, plan_.options.batch, plan_.options.context, false);
    for (size_t loc = 0; loc <= n_dev(); ++loc) {
      const uint64_t reserve = loc == host() ? 0 : profile_.scheduling.scratch_reserve;
      const uint64_t need = reserve + scratch;
      free_.push_back(budgets_[loc] > need ? budgets_[loc] - need : 0);
      if (loc != host() && budgets_[loc] <= need)
        plan_.notes.push_back(fmt::format("{}: budget {} holds no weights after reserve and scratch ({})", where(loc),
                                          format_bytes(budgets_[loc]), format_bytes(need)));
    }
  }

  void build_groups() {
    std::map<std::pair<int, int>, size_t> index;  // (layer, kind) -> group
    for (const ModelTensor& t : model_.tensors) {
      TensorPlan tp;
      tp.name = t.name;
      tp.step = step_of(t.name, c_, &tp.layer);
      tp.file_type = t.type;
      tp.file_bytes = t.bytes;
      tp.stored_type = t.type;
      tp.bytes = t.bytes;
      if (const auto q = quant_choice(t.name, profile_.quant); q && *q != t.type && !t.dims.empty()) {
        tp.stored_type = synth::fitting_type(*q, t.dims[0]);
        tp.bytes = row_bytes(tp.stored_type, t.dims[0]) * (t.elements() / t.dims[0]);
      }
      plan_.tensors.push_back(tp);
      const size_t ti = plan_.tensors.size() - 1;
      if (tp.step == StepKind::kUnused) {
        unused_.push_back(ti);
        continue;
      }
      const auto key = std::make_pair(tp.layer, static_cast<int>(tp.step));
      auto it = index.find(key);
      if (it == index.end()) {
        Group g;
        g.kind = tp.step;
        g.layer = tp.layer;
        groups_.push_back(g);
        it = index.emplace(key, groups_.size() - 1).first;
      }
      Group& g = groups_[it->second];
      g.tensors.push_back(ti);
      g.bytes += tp.bytes;
      if (t.dims.size() >= 2) g.params += static_cast<double>(t.elements());
    }
  }

  // Target location of a rule, checked against the profile's devices.
  size_t rule_target(const PlacementRule& r) const {
    for (size_t d = 0; d < n_dev(); ++d)
      if (profile_.devices[d].id == r.target) return d;
    if (r.target == "host") return host();
    fail("placement rule '{}' ({}) targets '{}': not a device of profile {} ({}) or 'host'", r.pattern, r.where,
         r.target, profile_.name, fmt::join(plan_.locations, ", "));
  }

  void apply_rules() {
    std::vector<std::regex> patterns;
    for (const PlacementRule& r : profile_.placement) {
      try {
        patterns.emplace_back(r.pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail("placement rule '{}' ({}): not a valid regular expression: {}", r.pattern, r.where, e.what());
      }
      rule_target(r);
    }
    // First matching rule of a tensor, or -1.
    const auto match = [&](const std::string& name) -> int {
      for (size_t i = 0; i < patterns.size(); ++i)
        if (std::regex_match(name, patterns[i])) return static_cast<int>(i);
      return -1;
    };
    for (Group& g : groups_) {
      // A rule places the steps whose weight matrices it matches; norm vectors follow their step.
      std::optional<int> chosen;
      std::string first_name;
      for (size_t ti : g.tensors) {
        const TensorPlan& t = plan_.tensors[ti];
        if (arch::classify_tensor(t.name) == arch::TensorClass::Norm) continue;
        const int r = match(t.name);
        if (!chosen) {
          chosen = r;
          first_name = t.name;
          continue;
        }
        const size_t a = *chosen < 0 ? host() + 1 : rule_target(profile_.placement[*chosen]);
        const size_t b = r < 0 ? host() + 1 : rule_target(profile_.placement[r]);
        if (a != b)
          fail("placement rules split the {} of layer {}: {} goes to {} but {} goes to {}; a step's weight "
               "matrices must share a place: make the rule match all of them (e.g. 'blk\\.{}\\..*')",
               step_kind_name(g.kind), g.layer, first_name,
               *chosen < 0 ? "the planner" : profile_.placement[*chosen].target, t.name,
               r < 0 ? "the planner" : profile_.placement[r].target, g.layer);
      }
      if (chosen && *chosen >= 0) {
        const PlacementRule& r = profile_.placement[*chosen];
        g.pinned = rule_target(r);
        g.loc = *g.pinned;
        g.rule = fmt::format("rule '{}' ({})", r.pattern, r.where);
        g.key = "rule " + r.where;
        g.reason = "placement " + g.rule;
      }
    }
    for (size_t ti : unused_) {
      TensorPlan& t = plan_.tensors[ti];
      const int r = match(t.name);
      t.location = r >= 0 ? rule_target(profile_.placement[r]) : host();
      t.by_rule = r >= 0;
      t.reason = "no step reads it (MTP block or unknown tensor): left in the file mapping, not counted";
    }
  }

  uint64_t kv_of(const Group& g) const { return g.kind == StepKind::kAttention ? plan_.kv_bytes_per_layer : 0; }

  void charge_pinned() {
    std::vector<std::vector<const Group*>> pinned(n_dev() + 1);
    for (const Group& g : groups_)
      if (g.pinned && *g.pinned != host()) {  // the host is checked once, in finish()
        take(*g.pinned, g.bytes + kv_of(g));
        pinned[*g.pinned].push_back(&g);
      }
    for (size_t d = 0; d < n_dev(); ++d)
      if (overdrawn_[d] > 0) fail("{}", missing_message(d, pinned[d], "placement rules put"));
  }

  // Takes bytes from a place's free memory; what does not fit is recorded as overdrawn.
  void take(size_t loc, uint64_t bytes) {
    if (free_[loc] >= bytes) {
      free_[loc] -= bytes;
    } else {
      overdrawn_[loc] += bytes - free_[loc];
      free_[loc] = 0;
    }
  }

  // "gpu0 (budget 8 GiB) cannot hold what placement rules put there: attention of layers 0-3 (1.2 GiB), ...;
  // missing 0.4 GiB".
  std::string missing_message(size_t loc, const std::vector<const Group*>& groups, std::string_view what) const {
    std::map<std::string, std::pair<std::vector<int>, uint64_t>> by_kind;
    std::vector<std::string> names;
    for (const Group* g : groups) {
      auto& e = by_kind[std::string(step_kind_name(g->kind))];
      if (g->layer >= 0) e.first.push_back(g->layer);
      e.second += g->bytes + kv_of(*g);
      for (size_t ti : g->tensors)
        if (names.size() < 4) names.push_back(plan_.tensors[ti].name);
    }
    std::vector<std::string> parts;
    for (auto& [kind, e] : by_kind) {
      std::sort(e.first.begin(), e.first.end());
      parts.push_back(e.first.empty() ? fmt::format("{} ({})", kind, format_bytes(e.second))
                                      : fmt::format("{} of layers {} ({})", kind, layer_ranges(e.first),
                                                    format_bytes(e.second)));
    }
    return fmt::format(
        "profile {}: {} (budget {}) cannot hold what {} there: {} [tensors {}, ...]; missing {}: raise the budget, "
        "move tensors with placement rules, or pick a smaller type mix",
        profile_.name, where(loc), format_bytes(budgets_[loc]), what, fmt::join(parts, ", "), fmt::join(names, ", "),
        format_bytes(overdrawn_[loc]));
  }

  std::vector<Group*> layer_groups(int layer, std::initializer_list<StepKind> kinds) {
    std::vector<Group*> out;
    for (Group& g : groups_)
      if (g.layer == layer && !g.pinned && std::find(kinds.begin(), kinds.end(), g.kind) != kinds.end())
        out.push_back(&g);
    return out;
  }

  void place_layer_cores() {
    // Contiguous layer ranges per accelerator in proportion to read bandwidth (decode reads every weight).
    double total_w = 0;
    for (size_t d = 0; d < n_dev(); ++d) total_w += plan_.speeds[d].read_bps;
    std::vector<uint32_t> bound(n_dev(), 0);
    double cum = 0;
    for (size_t d = 0; d < n_dev(); ++d) {
      cum += plan_.speeds[d].read_bps;
      bound[d] = static_cast<uint32_t>(std::lround(c_.n_layer * cum / total_w));
    }
    for (uint32_t l = 0; l < c_.n_layer; ++l) {
      const int layer = static_cast<int>(l);
      auto core = layer_groups(layer, {StepKind::kAttention, StepKind::kRouter, StepKind::kSharedExperts,
                                       StepKind::kDenseFfn});
      uint64_t need = 0;
      for (const Group* g : core) need += g->bytes + kv_of(*g);
      if (core.empty()) continue;
      size_t target = 0;
      while (target + 1 < n_dev() && l >= bound[target]) ++target;
      std::vector<size_t> order;
      for (size_t d = target; d < n_dev(); ++d) order.push_back(d);
      for (size_t d = target; d-- > 0;) order.push_back(d);
      size_t loc = host();
      std::string key, reason;
      for (size_t d : order)
        if (free_[d] >= need) {
          loc = d;
          break;
        }
      if (n_dev() == 0) {
        key = "no-accel";
        reason = "the profile has no accelerator";
      } else if (loc == host()) {
        key = "full";
        reason = fmt::format("accelerators full: {} has {} left < {} needed", where(order.front()),
                             format_bytes(free_[order.front()]), format_bytes(need));
      } else if (loc == target) {
        key = "share";
        reason = n_dev() == 1 ? "the accelerator holds what every token reads"
                              : fmt::format("{}'s share of the layers by read bandwidth ({:.0f} of {:.0f} GB/s)",
                                            where(loc), plan_.speeds[loc].read_bps / 1e9, total_w / 1e9);
      } else {
        key = "spill";
        reason = fmt::format("{} full ({} left < {} needed): next accelerator with room", where(target),
                             format_bytes(free_[target]), format_bytes(need));
      }
      if (loc != host()) take(loc, need);
      for (Group* g : core) {
        g->loc = loc;
        g->key = key;
        g->reason = reason;
      }
    }
  }

  // Accelerators by read bandwidth, fastest first (file order on ties).
  std::vector<size_t> fastest_first() const {
    std::vector<size_t> order;
    for (size_t d = 0; d < n_dev(); ++d) order.push_back(d);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return plan_.speeds[a].read_bps > plan_.speeds[b].read_bps; });
    return order;
  }

  Group* find_group(StepKind kind, int layer = -1) {
    for (Group& g : groups_)
      if (g.kind == kind && g.layer == layer) return &g;
    return nullptr;
  }

  void place_head() {
    Group* head = find_group(StepKind::kHead);
    if (head == nullptr || head->pinned) return;
    const uint64_t logits = uint64_t{4} * c_.n_vocab * plan_.options.batch;  // head's extra scratch
    const uint64_t need = head->bytes + logits;
    std::vector<size_t> order;
    const Group* last = find_group(StepKind::kAttention, static_cast<int>(c_.n_layer) - 1);
    if (last != nullptr && last->loc != host()) order.push_back(last->loc);
    for (size_t d : fastest_first())
      if (std::find(order.begin(), order.end(), d) == order.end()) order.push_back(d);
    head->loc = host();
    head->key = "host";
    head->reason = n_dev() == 0 ? "the profile has no accelerator"
                                : fmt::format("accelerators full: {} left < {} needed",
                                              order.empty() ? "0 B" : format_bytes(free_[order.front()]),
                                              format_bytes(need));
    for (size_t d : order)
      if (free_[d] >= need) {
        take(d, need);
        head_logits_ = d;
        head->loc = d;
        head->key = "accel";
        head->reason = last != nullptr && d == last->loc ? "read in full every token: beside the last layer"
                                                         : "read in full every token: fastest accelerator with room";
        break;
      }
  }

  void build_steps() {
    // Execution order: embedding, then per layer attention, router, shared, routed (or dense), then head.
    const auto rank = [](StepKind k) {
      switch (k) {
        case StepKind::kAttention: return 0;
        case StepKind::kRouter: return 1;
        case StepKind::kSharedExperts: return 2;
        case StepKind::kRoutedExperts: return 3;
        case StepKind::kDenseFfn: return 4;
        default: return 5;
      }
    };
    std::vector<size_t> order(groups_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto pos = [&](const Group& g) {
      if (g.kind == StepKind::kEmbedding) return -1.0;
      if (g.kind == StepKind::kHead) return 1e9;
      return g.layer * 10.0 + rank(g.kind);
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pos(groups_[a]) < pos(groups_[b]); });
    bool has_embedding = false;
    for (size_t gi : order) {
      const Group& g = groups_[gi];
      if (g.kind == StepKind::kHead && c_.tied_output && !has_embedding) {
        StepPlan e;  // tied: the embedding lookup runs where token_embd (the head) is
        e.kind = StepKind::kEmbedding;
        plan_.steps.insert(plan_.steps.begin(), e);
        embedding_step_tied_ = true;
        has_embedding = true;
      }
      has_embedding |= g.kind == StepKind::kEmbedding;
      StepPlan s;
      s.kind = g.kind;
      s.layer = g.layer;
      s.weight_bytes = g.bytes;
      s.params = g.params;
      plan_.steps.push_back(s);
      step_group_.push_back(gi);
    }
    if (embedding_step_tied_) step_group_.insert(step_group_.begin(), SIZE_MAX);
    sync_steps();
  }

  // Copies group locations into the steps and sets the overlap flags.
  void sync_steps() {
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      StepPlan& s = plan_.steps[i];
      const size_t gi = step_group_[i];
      if (gi == SIZE_MAX) {
        const Group* head = find_group(StepKind::kHead);
        s.location = head ? head->loc : host();
        s.reason = "tied output: the lookup runs where token_embd (the head) is";
        continue;
      }
      s.location = groups_[gi].loc;
      s.reason = groups_[gi].reason;
    }
    for (StepPlan& s : plan_.steps) {
      if (s.kind != StepKind::kRoutedExperts) continue;
      const Group* shared = find_group(StepKind::kSharedExperts, s.layer);
      s.overlapped = profile_.scheduling.overlap_host_experts && s.location == host() && shared != nullptr &&
                     shared->loc != host();
    }
  }

  double layer_decode(int layer) {
    sync_steps();
    for (StepPlan& s : plan_.steps)
      if (s.layer == layer) s.decode = detail::step_cost(plan_, s, false);
    return detail::layer_seconds(plan_, layer, false);
  }

  void place_routed_experts() {
    for (Group& g : groups_)
      if (g.kind == StepKind::kRoutedExperts && !g.pinned) {
        g.loc = host();
        g.key = "host";
      }
    // Pass 1: each layer's experts beside its attention; pass 2: any accelerator with room, fastest first.
    for (int pass = 0; pass < 2; ++pass) {
      for (Group& g : groups_) {
        if (g.kind != StepKind::kRoutedExperts || g.pinned || g.loc != host()) continue;
        const Group* attn = find_group(StepKind::kAttention, g.layer);
        std::vector<size_t> cands;
        if (pass == 0 && attn != nullptr && attn->loc != host()) cands.push_back(attn->loc);
        if (pass == 1) cands = fastest_first();
        const double on_host = layer_decode(g.layer);
        for (size_t d : cands) {
          if (free_[d] < g.bytes) continue;
          g.loc = d;
          const double on_dev = layer_decode(g.layer);
          if (on_dev < on_host) {
            take(d, g.bytes);
            g.key = "accel";
            g.reason = fmt::format("whole layer fits on {} ({} left) and decodes faster there ({:.3g} ms vs {:.3g} ms "
                                   "per layer on host)",
                                   where(d), format_bytes(free_[d] + g.bytes), on_dev * 1e3, on_host * 1e3);
            break;
          }
          g.loc = host();
          g.key = "slower";
          g.reason = fmt::format("{} has room but the cost model prefers the host ({:.3g} ms vs {:.3g} ms per layer)",
                                 where(d), on_host * 1e3, on_dev * 1e3);
        }
        if (g.loc == host() && g.key != "slower") {
          size_t best = n_dev();
          for (size_t d : fastest_first())
            if (best == n_dev() || free_[d] > free_[best]) best = d;
          g.key = "host";
          g.reason = best == n_dev() ? "the profile has no accelerator"
                                     : fmt::format("{} budget left {} < {} needed", where(best),
                                                   format_bytes(free_[best]), format_bytes(g.bytes));
        }
      }
    }
    sync_steps();
  }

  void place_embedding() {
    Group* e = find_group(StepKind::kEmbedding);
    if (e == nullptr || e->pinned) return;
    uint64_t host_need = e->bytes;
    for (const Group& g : groups_)
      if (g.loc == host() && &g != e) host_need += g.bytes + kv_of(g);
    e->loc = host();
    e->key = "host";
    e->reason = "one row read per token: host DRAM keeps accelerator memory for weights read in full";
    if (host_need > free_[host()])
      for (size_t d : fastest_first())
        if (free_[d] >= e->bytes) {
          take(d, e->bytes);
          e->loc = d;
          e->key = "accel";
          e->reason = "host DRAM budget is short: the table goes to the accelerator with room";
          break;
        }
    sync_steps();
  }

  void finish();
  std::string compact_decisions() const;

  const ModelInfo& model_;
  const Profile& profile_;
  const arch::Deepseek2Config& c_;
  Plan plan_;
  std::vector<Group> groups_;
  std::vector<size_t> unused_;
  std::vector<uint64_t> budgets_, free_, overdrawn_;
  std::vector<size_t> step_group_;  // step index -> group index (SIZE_MAX: tied embedding lookup)
  bool embedding_step_tied_ = false;
  std::optional<size_t> head_logits_;
};

void Planner::finish() {
  // Host check: everything left on the host must fit its DRAM budget.
  std::vector<const Group*> on_host;
  uint64_t host_bytes = 0;
  for (const Group& g : groups_)
    if (g.loc == host()) {
      on_host.push_back(&g);
      host_bytes += g.bytes + kv_of(g);
    }
  if (host_bytes > free_[host()]) {
    overdrawn_[host()] = host_bytes - free_[host()];
    std::string accel;
    for (size_t d = 0; d < n_dev(); ++d) accel += fmt::format("{}{} {} left", d ? ", " : "", where(d), format_bytes(free_[d]));
    fail("{}{}", missing_message(host(), on_host, "the planner must put"),
         accel.empty() ? "" : fmt::format(" (accelerators: {})", accel));
  }
  // Tensors take their group's place and reason.
  for (const Group& g : groups_)
    for (size_t ti : g.tensors) {
      TensorPlan& t = plan_.tensors[ti];
      t.location = g.loc;
      t.by_rule = g.pinned.has_value();
      t.reason = g.reason;
      if (t.stored_type != t.file_type)
        t.reason += fmt::format("; re-stored as {} (profile quant)", dtype_name(t.stored_type));
    }
  // Memory per place.
  std::vector<bool> runs(n_dev() + 1, false);
  for (const StepPlan& s : plan_.steps) runs[s.location] = true;
  const uint64_t scratch = detail::scratch_bytes(c_, plan_.options.batch, plan_.options.context, false);
  const uint64_t head_scratch = detail::scratch_bytes(c_, plan_.options.batch, plan_.options.context, true);
  const Group* head = find_group(StepKind::kHead);
  for (size_t loc = 0; loc <= n_dev(); ++loc) {
    MemoryUse m;
    m.location = where(loc);
    m.budget = budgets_[loc];
    m.reserve = loc == host() ? 0 : profile_.scheduling.scratch_reserve;
    if (runs[loc]) m.scratch = head != nullptr && head->loc == loc ? head_scratch : scratch;
    plan_.memory.push_back(m);
  }
  for (const Group& g : groups_) {
    plan_.memory[g.loc].weights += g.bytes;
    plan_.memory[g.loc].kv_cache += kv_of(g);
  }
  for (size_t ti : unused_) plan_.memory[plan_.tensors[ti].location].unused += plan_.tensors[ti].bytes;
  // Costs; prefill may stream host experts into the room left on an accelerator.
  std::vector<uint64_t> room(n_dev() + 1, 0);
  for (size_t d = 0; d < n_dev(); ++d) room[d] = plan_.memory[d].budget > plan_.memory[d].total() ? plan_.memory[d].budget - plan_.memory[d].total() : 0;
  const auto [stream_loc, buffer] = detail::cost_plan(plan_, room, profile_.scheduling);
  if (buffer > 0) plan_.memory[stream_loc].scratch += buffer;
  for (const MemoryUse& m : plan_.memory)
    if (m.total() > m.budget)
      fail("plan: internal error: {} uses {} of a {} budget", m.location, format_bytes(m.total()), format_bytes(m.budget));
  plan_.decisions.clear();
  const std::string text = compact_decisions();
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    plan_.decisions.push_back(text.substr(start, nl - start));
    start = nl == std::string::npos ? text.size() : nl + 1;
  }
  uint64_t host_layer = 0;  // largest layer of routed experts left on the host
  for (const Group& g : groups_)
    if (g.kind == StepKind::kRoutedExperts && g.loc == host()) host_layer = std::max(host_layer, g.bytes);
  const uint64_t most_room = n_dev() ? *std::max_element(room.begin(), room.end() - 1) : 0;
  const uint32_t min_batch = profile_.scheduling.stream_experts_min_batch;
  if (buffer > 0) {
    plan_.decisions.push_back(fmt::format("prefill streams host experts to {} ({} buffer): {} at batch {}",
                                          where(stream_loc), format_bytes(buffer),
                                          min_batch ? fmt::format("the profile streams from batch {}", min_batch)
                                                    : std::string("faster than the host"),
                                          plan_.options.batch));
  } else if (host_layer > 0 && n_dev() > 0) {
    plan_.decisions.push_back(
        min_batch > 0 && plan_.options.batch < min_batch
            ? fmt::format("prefill computes host experts on the host: batch {} < stream_experts_min_batch {}",
                          plan_.options.batch, min_batch)
        : most_room < host_layer
            ? fmt::format("prefill computes host experts on the host: no accelerator has room to stream a layer's "
                          "experts ({} free < {} needed)",
                          format_bytes(most_room), format_bytes(host_layer))
            : std::string("prefill computes host experts on the host: streaming them is slower"));
  }
}

// One line per run of consecutive layers with the same step kind, place and reason category.
std::string Planner::compact_decisions() const {
  std::string out;
  const StepKind kinds[] = {StepKind::kEmbedding, StepKind::kAttention, StepKind::kRouter, StepKind::kSharedExperts,
                            StepKind::kDenseFfn, StepKind::kRoutedExperts, StepKind::kHead};
  for (StepKind kind : kinds) {
    std::vector<const Group*> gs;
    for (const Group& g : groups_)
      if (g.kind == kind) gs.push_back(&g);
    std::stable_sort(gs.begin(), gs.end(), [](const Group* a, const Group* b) { return a->layer < b->layer; });
    size_t i = 0;
    while (i < gs.size()) {
      size_t j = i;
      std::vector<int> layers;
      while (j < gs.size() && gs[j]->loc == gs[i]->loc && gs[j]->key == gs[i]->key) {
        if (gs[j]->layer >= 0) layers.push_back(gs[j]->layer);
        ++j;
      }
      std::string what(step_kind_name(kind));
      if (kind == StepKind::kAttention) what += " + KV cache";
      if (!layers.empty()) what += fmt::format(" of layer{} {}", layers.size() > 1 ? "s" : "", layer_ranges(layers));
      out += fmt::format("{} → {}: {}\n", what, where(gs[i]->loc), gs[i]->reason);
      i = j;
    }
  }
  return out;
}

}  // namespace

Plan make_plan(const ModelInfo& model, const Profile& profile, const PlanOptions& options) {
  return Planner(model, profile, options).run();
}

}  // namespace mixcl::scheduler
