#pragma once
// The planner (docs/plan.md): for a deepseek2 model and a hardware profile, where every tensor lives and in
// which format, where every step runs, where the KV cache goes, the scratch memory of each place, and the
// predicted decode and prefill speed from the roofline cost model. Works from metadata only: a machine with
// 24 GB can plan a 671B model for hardware it does not have.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/dtype.h"
#include "model/arch/deepseek2_config.h"
#include "scheduler/cost_model.h"
#include "scheduler/executor.h"
#include "scheduler/profile.h"

namespace mixcl::gguf {
class GgufFile;
}

namespace mixcl::scheduler {

/// One tensor as the planner sees it: name, shape, type and size; no data.
struct ModelTensor {
  std::string name;
  std::vector<uint64_t> dims;  // ne0 first
  DType type = DType::F32;
  uint64_t bytes = 0;
  /// Product of the dims.
  uint64_t elements() const;
};

/// What the planner plans: a model's hyperparameters and tensor list.
struct ModelInfo {
  std::string source;  // file path, or "geometry v3, Q4_K_M"
  arch::Deepseek2Config config;
  std::vector<ModelTensor> tensors;
};

/// Metadata of an opened GGUF file (header only; no tensor data is read).
ModelInfo model_info(const gguf::GgufFile& file);
/// Metadata of a named geometry (arch::geometry) stored with a weight-type mix (type_mix_names()), with
/// the tensor list a synthetic file of it would have; nothing is written.
ModelInfo model_info(std::string_view geometry, std::string_view type_mix);
/// Names of the weight-type mixes model_info accepts ("Q4_K_M", ...).
std::vector<std::string_view> type_mix_names();
/// One-line description of a mix (which class gets which type).
std::string_view type_mix_description(std::string_view name);

/// The steps of the forward pass that the planner places.
enum class StepKind { kEmbedding, kAttention, kRouter, kSharedExperts, kRoutedExperts, kDenseFfn, kHead, kUnused };
/// "embedding", "attention", "router", "shared experts", "routed experts", "dense FFN", "head", "unused".
std::string_view step_kind_name(StepKind kind);

/// Where one tensor lives and how it is stored.
struct TensorPlan {
  std::string name;
  StepKind step = StepKind::kUnused;  // the step that reads it
  int layer = -1;                     // block index, -1 outside blocks
  size_t location = 0;                // index into Plan::locations
  DType file_type = DType::F32;
  DType stored_type = DType::F32;     // profile quant choice, or the file's type
  uint64_t file_bytes = 0;
  uint64_t bytes = 0;                 // bytes as stored (counted against the budget)
  bool by_rule = false;               // placed by a profile placement rule
  std::string reason;                 // one line: why here
};

/// Predicted cost of one step in one phase (decode: one token; prefill: one batch).
struct StepCost {
  double bytes = 0, flops = 0;   // weights and KV read, flops done
  double transfer_bytes = 0;     // activations copied in and out of the step's place
  double read_s = 0, compute_s = 0, overhead_s = 0, transfer_s = 0;
  double ops = 0;                // ops the executor launches for it (overhead_s = ops × the place's per-op cost)
  double copies = 0;             // activation copies in and out (each pays the link's latency)
  double seconds = 0;            // max(read_s, compute_s) + overhead_s + transfer_s
};

/// One step of the forward pass and where it runs.
struct StepPlan {
  StepKind kind = StepKind::kUnused;
  int layer = -1;
  size_t location = 0;           // index into Plan::locations
  uint64_t weight_bytes = 0;     // stored bytes of the step's tensors
  double params = 0;             // elements of the step's matrices
  std::string reason;            // one line: why here
  StepCost decode, prefill;
  bool overlapped = false;       // runs at the same time as the layer's shared expert (other place)
  bool streamed = false;         // prefill copies these host experts to `stream_location` and runs them there
  size_t stream_location = 0;
};

/// Memory of one place against its budget.
struct MemoryUse {
  std::string location;
  uint64_t budget = 0;
  uint64_t weights = 0, kv_cache = 0, scratch = 0;
  uint64_t reserve = 0;    // profile scheduling.scratch_reserve (accelerators)
  uint64_t unused = 0;     // bytes of tensors no step reads (MTP blocks): mapped, never touched, not counted
  /// weights + kv_cache + scratch + reserve.
  uint64_t total() const { return weights + kv_cache + scratch + reserve; }
};

/// Predicted time of one phase.
struct PhaseTime {
  double seconds = 0;       // per decode token, or per prefill batch
  double tokens = 0;        // tokens per pass (1 or the batch)
  double tokens_per_s = 0;
  std::string bottleneck;   // "host memory bandwidth (routed experts): 85% of decode time"
  std::vector<std::pair<std::string, double>> shares;  // resource -> seconds, largest first
};

/// Planner inputs besides the model and profile.
struct PlanOptions {
  uint32_t context = 4096;         // KV cache positions
  uint32_t batch = 512;            // prefill batch (tokens per forward step)
  uint32_t decode_position = 0;    // cached positions a predicted decode token attends to; 0 = context / 2
  uint64_t host_memory = 0;        // host DRAM when the profile's dram_budget is 0; 0 = physical memory
  std::map<std::string, uint64_t> device_memory;  // device id -> memory when its memory_budget is 0
  CostParams cost;
};

/// The planner's output.
struct Plan {
  std::string model, profile;
  arch::Deepseek2Config config;
  PlanOptions options;
  std::vector<std::string> locations;  // profile device ids in file order, then "host"
  std::vector<Speeds> speeds;          // resolved speeds per location
  std::vector<TensorPlan> tensors;     // model order
  std::vector<StepPlan> steps;         // execution order: embedding, per layer, head
  std::vector<MemoryUse> memory;       // per location
  DType kv_type = DType::F16;
  uint64_t kv_bytes_per_layer = 0;     // (Lkv + dr) x context x 2 or 4
  std::vector<std::string> decisions;  // one line per choice, compact (layer ranges)
  std::vector<std::string> notes;      // assumptions (defaulted speeds, ...)
  PhaseTime decode, prefill;

  /// Index of "host" in locations.
  size_t host() const { return locations.size() - 1; }
  /// The plan of a tensor, or nullptr.
  const TensorPlan* find(std::string_view name) const;
  /// Location of the KV cache of `layer` (where its attention runs).
  size_t kv_location(uint32_t layer) const;
};

/// Plans `model` on `profile`; throws mixcl::Error when a budget cannot hold what must be placed (naming the
/// tensors and the missing bytes), a rule is malformed or names an unknown device, or a size is unknown.
Plan make_plan(const ModelInfo& model, const Profile& profile, const PlanOptions& options = {});

/// The executor's placement for a plan: `executor_index` maps each plan location id ("gpu0", "host") to the
/// index of its device in the executor's device list. Throws when a location the plan uses is missing;
/// the returned function throws for a tensor name the plan does not know.
PlacementFn placement_fn(const Plan& plan, const std::map<std::string, size_t>& executor_index);

/// The human-readable plan: memory per place, placement by class and layer range, speeds, bottleneck.
std::string format_plan(const Plan& plan);
/// The whole plan as JSON text (memory, steps, tensors, predictions, decisions).
std::string plan_json(const Plan& plan);

}  // namespace mixcl::scheduler
