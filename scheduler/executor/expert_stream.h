#pragma once
// Prefill expert streaming: host-resident routed experts copied, layer by layer, into one set of buffers on an
// accelerator and computed there when a batch is large enough for the copy to pay (the plan decides which).
#include <cstdint>
#include <memory>
#include <span>

#include "backend/device.h"
#include "backend/op_params.h"
#include "scheduler/executor.h"
#include "scheduler/executor/layer_weights.h"

namespace mixcl::scheduler::exec {

/// The stream buffers on one device and the layers that use them.
class ExpertStream {
 public:
  /// Checks the options against the model (marked layers must have host-resident routed experts; the device
  /// must be an accelerator) and allocates one buffer per expert matrix for the largest marked layer; throws
  /// mixcl::Error naming the layer or the device (and what would fix it) otherwise.
  ExpertStream(const ExpertStreaming& options, const ModelWeights& weights, std::span<backend::Device* const> devices);

  /// True when block `layer`'s experts run on the stream device for a batch of m tokens.
  bool applies(uint32_t layer, uint32_t m) const;
  size_t device() const { return options_.device; }
  /// Bytes of the stream buffers.
  uint64_t bytes() const;
  /// Queues the upload of `host` (one layer's experts, host views) into the buffers; the device's later ops
  /// wait for it. Returns the same experts as views on the device. The caller must have waited for the
  /// device's previous use of the buffers (the executor does: it brings the layer's output back first).
  backend::ExpertWeights load(const backend::ExpertWeights& host);

 private:
  ExpertStreaming options_;
  backend::Device* dev_ = nullptr;
  std::shared_ptr<backend::Buffer> gate_, up_, down_;
};

}  // namespace mixcl::scheduler::exec
