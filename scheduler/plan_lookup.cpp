// The plan's small public pieces: step names, tensor and KV lookups, and the executor's placement function.
#include <memory>
#include <unordered_map>

#include "common/error.h"
#include "scheduler/plan.h"

namespace mixcl::scheduler {

std::string_view step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::kEmbedding: return "embedding";
    case StepKind::kAttention: return "attention";
    case StepKind::kRouter: return "router";
    case StepKind::kSharedExperts: return "shared experts";
    case StepKind::kRoutedExperts: return "routed experts";
    case StepKind::kDenseFfn: return "dense FFN";
    case StepKind::kHead: return "head";
    case StepKind::kUnused: return "unused";
  }
  return "?";
}

const TensorPlan* Plan::find(std::string_view name) const {
  for (const TensorPlan& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

size_t Plan::kv_location(uint32_t layer) const {
  for (const StepPlan& s : steps)
    if (s.kind == StepKind::kAttention && s.layer == static_cast<int>(layer)) return s.location;
  fail("plan: no attention step for layer {} (the model has {} layers)", layer, config.n_layer);
}

PlacementFn placement_fn(const Plan& plan, const std::map<std::string, size_t>& executor_index) {
  std::vector<size_t> index_of(plan.locations.size(), SIZE_MAX);
  for (size_t loc = 0; loc < plan.locations.size(); ++loc) {
    const auto it = executor_index.find(plan.locations[loc]);
    if (it != executor_index.end()) index_of[loc] = it->second;
  }
  auto map = std::make_shared<std::unordered_map<std::string, size_t>>();
  for (const TensorPlan& t : plan.tensors) {
    if (index_of[t.location] == SIZE_MAX) {
      if (t.step == StepKind::kUnused) continue;  // never loaded
      fail("placement: the plan puts {} on {} but the executor's device list has no '{}'", t.name,
           plan.locations[t.location], plan.locations[t.location]);
    }
    map->emplace(t.name, index_of[t.location]);
  }
  std::string model = plan.model;
  return [map, model](std::string_view name) -> size_t {
    const auto it = map->find(std::string(name));
    if (it == map->end()) fail("placement: tensor '{}' is not in the plan of {}", name, model);
    return it->second;
  };
}

}  // namespace mixcl::scheduler
