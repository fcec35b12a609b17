#pragma once
// The steps of one deepseek2 forward batch (embedding, absorbed MLA attention, dense or MoE FFN, head), each
// enqueued on the device of its weights; the residual stream follows them across devices.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/device.h"
#include "backend/op_params.h"
#include "model/arch/deepseek2_config.h"
#include "scheduler/executor/expert_stream.h"
#include "scheduler/executor/host_worker.h"
#include "scheduler/executor/kv_cache.h"
#include "scheduler/executor/layer_weights.h"
#include "scheduler/executor/scratch.h"
#include "scheduler/executor/transfer.h"

namespace mixcl::scheduler::exec {

/// Everything the steps read and write; owned by the executor.
struct ForwardContext {
  const arch::Deepseek2Config* config = nullptr;
  std::vector<backend::Device*> devices;
  const ModelWeights* weights = nullptr;
  const KvCache* cache = nullptr;
  std::vector<std::unique_ptr<Scratch>> scratch;  // per device; null where a device has no role
  std::unique_ptr<Stager> stager;
  backend::RopeParams rope;
  backend::RouterParams router;
  float attn_scale = 1.0f;
  uint32_t head_rows = 1;  // rows of logits the head computes per pass
  /// Runs host-resident routed experts whose shared expert is on an accelerator (made when some layer has them).
  std::unique_ptr<HostWorker> worker;
  /// True: the worker's routed experts run while the accelerator computes the shared expert; false: after it.
  bool overlap = true;
  uint64_t host_expert_steps = 0;  // MoE steps (layer x batch) with host routed experts and the shared expert apart
  uint64_t overlapped_steps = 0;   // of those, the ones whose two halves ran at the same time
  /// Prefill expert streaming (null when no layer streams).
  std::unique_ptr<ExpertStream> stream;
  uint64_t streamed_steps = 0;  // MoE steps whose host experts ran on the stream device
};

/// Runs one batch of m tokens at positions pos0.. through the model.
class ForwardSteps {
 public:
  explicit ForwardSteps(ForwardContext& ctx) : ctx_(ctx) {}

  /// Writes the token ids and looks up their embeddings; the residual stream starts on the embedding device.
  void embed(std::span<const int32_t> tokens, uint32_t pos0);
  /// x += Attention(RMSNorm(x)) for block `layer`, appending the batch to its KV cache rows.
  void attention(uint32_t layer, uint32_t m, uint32_t pos0);
  /// x += FFN(RMSNorm(x)) for block `layer`; with `routes`, appends the sorted expert ids of each token.
  void ffn(uint32_t layer, uint32_t m, std::vector<std::vector<int32_t>>* routes);
  /// Logits of tokens [first, m) of the batch into out ([m - first][V], row-major), waiting for them.
  void head(uint32_t first, uint32_t m, float* out);

 private:
  // Moves rows of x to device `dev` (nothing when it is there already).
  void follow(size_t dev, uint64_t bytes);
  // Shared expert and routed experts of an MoE block whose shared expert is on another device than its router.
  void experts_apart(uint32_t layer, const FfnWeights& w, uint32_t m, std::vector<std::vector<int32_t>>* routes);
  // x += the routed experts of block `layer` (routing done): where they are, or on the stream device.
  void routed_experts(uint32_t layer, const FfnWeights& w, uint32_t m);
  // Router of an MoE block on its device; with `routes`, appends the sorted expert ids of each token.
  void route(const FfnWeights& w, uint32_t m, std::vector<std::vector<int32_t>>* routes);
  // out = SwiGLU FFN of sc.h on device `on` into sc.ff_out.
  void swiglu_ffn(backend::Device& on, Scratch& sc, const backend::WeightView& gate, const backend::WeightView& up,
                  const backend::WeightView& down, uint32_t m);
  backend::Device& dev(size_t i) { return *ctx_.devices[i]; }
  Scratch& scratch(size_t i) { return *ctx_.scratch[i]; }

  ForwardContext& ctx_;
  size_t cur_ = 0;  // device holding the residual stream
};

}  // namespace mixcl::scheduler::exec
