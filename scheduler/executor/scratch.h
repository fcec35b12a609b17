#pragma once
// Activation buffers of one device, allocated once per executor for the largest batch (never per token).
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/device.h"
#include "model/arch/deepseek2_config.h"

namespace mixcl::scheduler::exec {

/// What a device does in the forward pass, deciding which scratch it needs.
struct DeviceRoles {
  bool attention = false, dense = false, moe = false, shared = false, embedding = false, head = false;
};

/// f32 activations (int32 for ids/positions) of one device; a view is null when the device's roles do not
/// need it. Sizes are for `batch` tokens.
class Scratch {
 public:
  Scratch(backend::Device& dev, const arch::Deepseek2Config& c, const DeviceRoles& roles, uint32_t batch,
          uint32_t context, uint32_t head_rows);

  /// Bytes allocated.
  uint64_t bytes() const { return bytes_; }

  // Every device: the residual stream, a normed copy, and a landing buffer for partial sums from elsewhere.
  backend::View x, h, recv;
  // Attention.
  backend::View positions;  // int32 [context] = 0, 1, 2, ... (filled once)
  backend::View cq, cq_n, q, kva, lat_a, lat_b, q_full, att, nope, v_tmp, o, attn_out;
  // Dense FFN and shared experts.
  backend::View ff_gate, ff_up, ff_act, ff_out;
  // Router.
  backend::View logits_r, ids, weights;
  // Embedding: token ids by position, int32 [context].
  backend::View tokens;
  // Head: normed rows and logits for head_rows tokens.
  backend::View head_x, head_logits;

 private:
  backend::View make(uint64_t bytes);

  backend::Device& dev_;
  std::vector<std::shared_ptr<backend::Buffer>> buffers_;
  uint64_t bytes_ = 0;
};

}  // namespace mixcl::scheduler::exec
