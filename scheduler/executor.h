#pragma once
// Runs a deepseek2 model on one or more devices: loads (or maps) its weights where a placement says,
// keeps the compressed MLA KV cache, and runs batches of tokens through the forward pass.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/device.h"
#include "common/dtype.h"
#include "model/arch/deepseek2_config.h"
#include "scheduler/host_weight_memory.h"

namespace mixcl::gguf {
class GgufFile;
}

namespace mixcl::scheduler {

/// Index (into the executor's device list) of the device that holds a weight tensor, by GGUF tensor name.
/// Steps run where their weights are: attention where blk.N.attn_kv_a_mqa.weight is (and the layer's KV
/// cache with it), routed experts where blk.N.ffn_gate_exps.weight is, the shared expert where
/// blk.N.ffn_gate_shexp.weight is, embedding lookup where token_embd.weight is, the head where output.weight
/// (or the tied token_embd) is; a dense FFN where blk.N.ffn_gate.weight is. The other tensors of a step (its
/// norms, the router, the q projections, ...) are placed with that anchor tensor.
using PlacementFn = std::function<size_t(std::string_view tensor_name)>;

/// Every tensor on device `index`.
PlacementFn place_all_on(size_t index);
/// Layers split in contiguous ranges over `devices_count` devices in proportion to `weights` (equal when
/// empty); embedding on the first, output head on the last.
PlacementFn place_layers_split(uint32_t n_layer, size_t devices_count, std::vector<double> weights = {});

/// Load progress: bytes of weights placed so far and in all.
using LoadProgress = std::function<void(uint64_t done, uint64_t total)>;

/// The plan's prefill expert streaming: the routed experts of the marked layers stay in host DRAM but, for
/// batches of at least `min_batch` tokens, are copied to device `device` (one buffer per expert matrix,
/// reused layer after layer) and computed there. Empty `layers`: never.
struct ExpertStreaming {
  size_t device = 0;
  uint32_t min_batch = 1;
  std::vector<bool> layers;  // by block index
};

/// How to build an executor.
struct ExecutorOptions {
  uint32_t context = 4096;       // KV cache positions (-c); a forward past it throws a clear error
  uint32_t batch = 512;          // largest number of tokens per forward step (-b); longer inputs are split
  DType kv_type = DType::F16;    // F32 or F16 compressed cache
  PlacementFn placement;         // null: everything on device 0
  LoadProgress progress;         // optional
  /// Routed experts on the host run on a host worker thread while an accelerator computes the layer's shared
  /// expert (profile: scheduling.overlap_host_experts); false: after it, on the same worker (same arithmetic).
  bool overlap_host_experts = true;
  /// Host-resident weights: in place in the file mapping, or copied into huge pages (profile: host.weight_memory).
  HostWeightMemory host_weights = HostWeightMemory::kMapped;
  ExpertStreaming stream_experts;  // prefill expert streaming (profile: the plan's decision); default: none
};

/// What the executor has done since it was built.
struct ExecutorStats {
  uint64_t tokens = 0;             // tokens run through forward()
  uint64_t host_expert_steps = 0;  // MoE steps (layer x batch) with routed experts on the host, shared expert apart
  uint64_t overlapped_steps = 0;   // of those, the steps whose routed and shared experts ran at the same time
  uint64_t streamed_steps = 0;     // MoE steps whose host experts were copied to an accelerator and computed there
};

/// What one forward call should return besides the new KV cache entries.
struct ForwardRequest {
  bool all_logits = false;  // true: logits of every input token; false: of the last token only
  bool routes = false;      // true: chosen expert ids per MoE layer and token
};

/// What one forward call returned.
struct ForwardResult {
  std::vector<float> logits;  // [n_out][n_vocab], row-major; n_out = tokens.size() or 1
  /// routes[moe_layer_index][token] = the n_expert_used chosen ids (sorted ascending); moe_layer_index
  /// counts from the first MoE block (layer n_dense).
  std::vector<std::vector<std::vector<int32_t>>> routes;
};

/// Bytes one device holds for this model.
struct DeviceMemoryReport {
  std::string device;
  uint64_t weights = 0, kv_cache = 0, scratch = 0;
  uint64_t mapped = 0;  // host weights used in place from the memory-mapped file (no copy)
  uint64_t peak = 0;    // allocator peak against the budget
  uint64_t budget = 0;
};

/// A loaded model with its KV cache. Not thread-safe: one forward at a time.
class Executor {
 public:
  /// Reads the hyperparameters and places every weight of `file` (which must outlive the executor) on
  /// `devices` (which must too); throws mixcl::Error naming the tensor and device when something is missing,
  /// malformed or does not fit.
  Executor(const gguf::GgufFile& file, std::vector<backend::Device*> devices, ExecutorOptions options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const arch::Deepseek2Config& config() const;
  /// Tokens already in the KV cache (the position of the next token).
  uint32_t position() const;
  /// KV cache capacity (ExecutorOptions::context).
  uint32_t context() const;
  /// Appends `tokens` at position()..; runs them in batches of at most options.batch; throws when the
  /// context would overflow (nothing is appended then) or a token id is out of range.
  ForwardResult forward(std::span<const int32_t> tokens, const ForwardRequest& request = {});
  /// Forgets the cache beyond `position` (0: start over).
  void truncate(uint32_t position);
  /// Memory per device.
  std::vector<DeviceMemoryReport> memory_report() const;
  /// Bytes of weights one decode token reads (for the bandwidth bound), summed over devices.
  uint64_t bytes_per_token() const;
  /// Counters since construction (how many steps overlapped host and accelerator work).
  ExecutorStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mixcl::scheduler
