#include "scheduler/executor/scratch.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"

namespace mixcl::scheduler::exec {

backend::View Scratch::make(uint64_t bytes) {
  std::shared_ptr<backend::Buffer> b;
  try {
    b = dev_.allocate(std::max<uint64_t>(bytes, 4));
  } catch (const Error& e) {
    fail("activation scratch ({}) does not fit on device {}: {}; lower the batch size (-b)", format_bytes(bytes),
         dev_.name(), e.what());
  }
  buffers_.push_back(b);
  bytes_ += b->size();
  return {b.get(), 0};
}

Scratch::Scratch(backend::Device& dev, const arch::Deepseek2Config& c, const DeviceRoles& roles, uint32_t batch,
                 uint32_t context, uint32_t head_rows)
    : dev_(dev) {
  const uint64_t B = batch, E = c.n_embd, H = c.n_head, Lkv = c.kv_lora_rank, dr = c.rope_dim, dn = c.nope_dim,
                 dv = c.v_head_dim;
  x = make(B * E * 4);
  h = make(B * E * 4);
  recv = make(B * E * 4);
  if (roles.attention) {
    positions = make(uint64_t{context} * 4);
    std::vector<int32_t> pos(context);
    std::iota(pos.begin(), pos.end(), 0);
    dev.upload(*positions.buffer, 0, pos.data(), pos.size() * 4).wait();
    if (c.q_lora_rank > 0) {
      cq = make(B * c.q_lora_rank * 4);
      cq_n = make(B * c.q_lora_rank * 4);
    }
    q = make(B * H * (dn + dr) * 4);
    kva = make(B * (Lkv + dr) * 4);
    lat_a = make(B * Lkv * 4);
    lat_b = make(B * Lkv * 4);
    q_full = make(B * H * (Lkv + dr) * 4);
    att = make(B * H * Lkv * 4);
    nope = make(B * dn * 4);
    v_tmp = make(B * dv * 4);
    o = make(B * H * dv * 4);
    attn_out = make(B * E * 4);
  }
  uint64_t ff = 0;
  if (roles.dense) ff = std::max<uint64_t>(ff, c.n_ff);
  if (roles.shared) ff = std::max<uint64_t>(ff, uint64_t{c.n_expert_shared} * c.n_ff_exp);
  if (ff > 0) {
    ff_gate = make(B * ff * 4);
    ff_up = make(B * ff * 4);
    ff_act = make(B * ff * 4);
    ff_out = make(B * E * 4);
  }
  if (roles.moe) {
    logits_r = make(B * c.n_expert * 4);
    ids = make(B * c.n_expert_used * 4);
    weights = make(B * c.n_expert_used * 4);
  }
  if (roles.embedding) tokens = make(uint64_t{context} * 4);
  if (roles.head) {
    head_x = make(uint64_t{head_rows} * E * 4);
    head_logits = make(uint64_t{head_rows} * c.n_vocab * 4);
  }
}

}  // namespace mixcl::scheduler::exec
