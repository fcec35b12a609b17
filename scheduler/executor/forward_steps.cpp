#include "scheduler/executor/forward_steps.h"

#include <algorithm>

#include "backend/host/host_buffer.h"
#include "common/error.h"

namespace mixcl::scheduler::exec {
namespace {

using backend::View;

// `v` moved on by `bytes`.
View at(View v, uint64_t bytes) { return {v.buffer, v.offset + bytes}; }

}  // namespace

void ForwardSteps::follow(size_t to, uint64_t bytes) {
  if (to == cur_) return;
  ctx_.stager->move(dev(cur_), scratch(cur_).x, dev(to), scratch(to).x, bytes);
  cur_ = to;
}

void ForwardSteps::embed(std::span<const int32_t> tokens, uint32_t pos0) {
  const auto& g = ctx_.weights->global;
  backend::Device& d = dev(g.embd_device);
  Scratch& s = scratch(g.embd_device);
  // Ids live at their positions, so a later batch never overwrites ids an earlier one may still read.
  const View ids = at(s.tokens, uint64_t{pos0} * 4);
  d.wait_for(d.upload(*ids.buffer, ids.offset, tokens.data(), tokens.size() * 4));
  d.get_rows(g.token_embd, ids, s.x, tokens.size());
  cur_ = g.embd_device;
}

void ForwardSteps::attention(uint32_t layer, uint32_t m, uint32_t pos0) {
  const auto& c = *ctx_.config;
  const AttentionWeights& w = ctx_.weights->attention[layer];
  const uint64_t E = c.n_embd, H = c.n_head, Lkv = c.kv_lora_rank, dr = c.rope_dim, dn = c.nope_dim,
                 dv = c.v_head_dim, qk = dn + dr, kvw = Lkv + dr;
  follow(w.device, m * E * 4);
  backend::Device& d = dev(w.device);
  Scratch& s = scratch(w.device);
  const View positions = at(s.positions, uint64_t{pos0} * 4);

  d.rmsnorm(s.x, w.attn_norm, s.h, m, E, c.rms_eps);
  if (w.q_lora) {
    d.matmul(w.q_a, s.h, s.cq, m);
    d.rmsnorm(s.cq, w.q_a_norm, s.cq_n, m, c.q_lora_rank, c.rms_eps);
    d.matmul(w.q_b, s.cq_n, s.q, m);
  } else {
    d.matmul(w.q, s.h, s.q, m);
  }
  // Cache rows: [RMSNorm(c) | RoPE(k_pe)]; the norm runs on a packed copy of the latent parts.
  d.matmul(w.kv_a, s.h, s.kva, m);
  d.rope(s.kva, positions, m, 1, kvw, Lkv, ctx_.rope);
  d.copy_2d(s.kva, kvw * 4, s.lat_a, Lkv * 4, Lkv * 4, m);
  d.rmsnorm(s.lat_a, w.kv_a_norm, s.lat_b, m, Lkv, c.rms_eps);
  d.copy_2d(s.lat_b, Lkv * 4, s.kva, kvw * 4, Lkv * 4, m);
  d.convert(s.kva, ctx_.cache->row(layer, pos0), ctx_.cache->type(), m * kvw);

  // Queries in the latent space: [Kb_i^T q_nope_i | RoPE(q_pe_i)] per head.
  d.rope(s.q, positions, m, H, qk, dn, ctx_.rope);
  d.copy_2d(at(s.q, dn * 4), qk * 4, at(s.q_full, Lkv * 4), kvw * 4, dr * 4, m * H);
  // Decode: all heads as one op. Prefill: one m-token product per head, its slices gathered and scattered.
  if (m == 1) d.matmul_heads(w.k_b, H, s.q, qk, s.q_full, kvw);
  for (uint64_t i = 0; i < H && m > 1; ++i) {
    d.copy_2d(at(s.q, i * qk * 4), H * qk * 4, s.nope, dn * 4, dn * 4, m);
    d.matmul(backend::slab(w.k_b, i, Lkv), s.nope, s.lat_a, m);
    d.copy_2d(s.lat_a, Lkv * 4, at(s.q_full, i * kvw * 4), H * kvw * 4, Lkv * 4, m);
  }
  d.mla_attention(s.q_full, ctx_.cache->layer(layer), ctx_.cache->type(), s.att, m, pos0, H, Lkv, dr,
                  ctx_.attn_scale);
  // Back from the latent space per head: o_i = Vb_i ol_i.
  if (m == 1) d.matmul_heads(w.v_b, H, s.att, Lkv, s.o, dv);
  for (uint64_t i = 0; i < H && m > 1; ++i) {
    d.copy_2d(at(s.att, i * Lkv * 4), H * Lkv * 4, s.lat_a, Lkv * 4, Lkv * 4, m);
    d.matmul(backend::slab(w.v_b, i, dv), s.lat_a, s.v_tmp, m);
    d.copy_2d(s.v_tmp, dv * 4, at(s.o, i * dv * 4), H * dv * 4, dv * 4, m);
  }
  d.matmul(w.out, s.o, s.attn_out, m);
  d.add(s.x, s.attn_out, s.x, m * E);
}

void ForwardSteps::swiglu_ffn(backend::Device& on, Scratch& sc, const backend::WeightView& gate,
                              const backend::WeightView& up, const backend::WeightView& down, uint32_t m) {
  on.matmul(gate, sc.h, sc.ff_gate, m);
  on.matmul(up, sc.h, sc.ff_up, m);
  on.swiglu(sc.ff_gate, sc.ff_up, sc.ff_act, uint64_t{m} * gate.rows);
  on.matmul(down, sc.ff_act, sc.ff_out, m);
}

void ForwardSteps::route(const FfnWeights& w, uint32_t m, std::vector<std::vector<int32_t>>* routes) {
  backend::Device& d = dev(w.device);
  Scratch& s = scratch(w.device);
  d.matmul(w.router, s.h, s.logits_r, m);
  d.router(s.logits_r, w.router_bias, s.ids, s.weights, m, ctx_.router);
  if (!routes) return;
  const uint64_t k = ctx_.config->n_expert_used;
  std::vector<int32_t> ids(m * k);
  d.download(*s.ids.buffer, s.ids.offset, ids.data(), ids.size() * 4).wait();
  for (uint64_t t = 0; t < m; ++t) {
    std::vector<int32_t> row(ids.begin() + t * k, ids.begin() + (t + 1) * k);
    std::sort(row.begin(), row.end());
    routes->push_back(std::move(row));
  }
}

void ForwardSteps::ffn(uint32_t layer, uint32_t m, std::vector<std::vector<int32_t>>* routes) {
  const auto& c = *ctx_.config;
  const FfnWeights& w = ctx_.weights->ffn[layer];
  const uint64_t E = c.n_embd;
  follow(w.device, m * E * 4);
  backend::Device& d = dev(w.device);
  Scratch& s = scratch(w.device);
  d.rmsnorm(s.x, w.ffn_norm, s.h, m, E, c.rms_eps);
  if (!w.moe) {
    swiglu_ffn(d, s, w.gate, w.up, w.down, m);
    d.add(s.x, s.ff_out, s.x, m * E);
    return;
  }
  if (w.shared && w.shared_device != w.device) {
    experts_apart(layer, w, m, routes);
    return;
  }
  route(w, m, routes);
  routed_experts(layer, w, m);
  if (w.shared) {
    swiglu_ffn(d, s, w.sh_gate, w.sh_up, w.sh_down, m);
    d.add(s.x, s.ff_out, s.x, m * E);
  }
}

void ForwardSteps::routed_experts(uint32_t layer, const FfnWeights& w, uint32_t m) {
  const auto& c = *ctx_.config;
  backend::Device& d = dev(w.device);
  Scratch& s = scratch(w.device);
  ExpertStream* stream = ctx_.stream.get();
  if (!stream || !stream->applies(layer, m)) {
    d.moe_ffn(w.experts, s.h, s.ids, s.weights, s.x, m, c.n_expert_used);  // x += routed experts
    return;
  }
  // Streamed: the layer's experts, the normed input, the routing and x go to the stream device, x comes back.
  // The uploads are ordered after the stream device's queued ops, so the previous layer's use of the
  // buffers is over before they are overwritten.
  ++ctx_.streamed_steps;
  backend::Device& sd = dev(stream->device());
  Scratch& ss = scratch(stream->device());
  const backend::ExpertWeights experts = stream->load(w.experts);
  const uint64_t act = uint64_t{m} * c.n_embd * 4, sel = uint64_t{m} * c.n_expert_used * 4;
  ctx_.stager->move(d, s.h, sd, ss.h, act);
  ctx_.stager->move(d, s.ids, sd, ss.ids, sel);
  ctx_.stager->move(d, s.weights, sd, ss.weights, sel);
  ctx_.stager->move(d, s.x, sd, ss.recv, act);  // recv: the stream device's x may hold its own residual
  sd.moe_ffn(experts, ss.h, ss.ids, ss.weights, ss.recv, m, c.n_expert_used);
  ctx_.stager->move(sd, ss.recv, d, s.x, act);
}

void ForwardSteps::experts_apart(uint32_t layer, const FfnWeights& w, uint32_t m,
                                 std::vector<std::vector<int32_t>>* routes) {
  const auto& c = *ctx_.config;
  const uint64_t n = uint64_t{m} * c.n_embd, bytes = n * 4;
  backend::Device& d = dev(w.device);
  Scratch& s = scratch(w.device);
  backend::Device& sd = dev(w.shared_device);
  Scratch& ss = scratch(w.shared_device);
  // The shared expert is queued first, so an accelerator computes it while the routed experts run.
  ctx_.stager->move(d, s.h, sd, ss.h, bytes);
  swiglu_ffn(sd, ss, w.sh_gate, w.sh_up, w.sh_down, m);
  auto routed = [&] {
    route(w, m, routes);
    routed_experts(layer, w, m);
  };
  // Streamed experts run on an accelerator: no host worker is involved.
  const bool streamed = ctx_.stream && ctx_.stream->applies(layer, m);
  const bool host_routed = d.caps().kind == backend::DeviceKind::kHost && !streamed;
  if (!host_routed || sd.caps().kind == backend::DeviceKind::kHost) {
    // Both halves asynchronous (two accelerators) or both on the calling thread: nothing to hand over.
    routed();
    ctx_.stager->move(sd, ss.ff_out, d, s.recv, bytes);
    d.add(s.x, s.recv, s.x, n);
    return;
  }
  // Routed experts on the host, shared expert on an accelerator. Its result lands straight in the host's recv
  // buffer (the download is on the accelerator's copy queue, after its ops).
  if (!ctx_.worker) fail("internal: layer with host routed experts beside an accelerator but no host worker");
  ++ctx_.host_expert_steps;
  uint8_t* recv = backend::host_ptr(s.recv);
  // The routed experts always run on the persistent worker (the host's OpenMP threads in the worker's team), so
  // both modes use the same threads and differ only in what runs at the same time. The worker touches x, ids
  // and weights; this thread only recv.
  if (ctx_.overlap) {
    ++ctx_.overlapped_steps;
    WorkerJoin join(*ctx_.worker);
    ctx_.worker->start(routed);
    sd.download(*ss.ff_out.buffer, ss.ff_out.offset, recv, bytes).wait();
    join.wait();
  } else {
    // One after the other: the shared expert has finished before the routed experts start.
    sd.download(*ss.ff_out.buffer, ss.ff_out.offset, recv, bytes).wait();
    WorkerJoin join(*ctx_.worker);
    ctx_.worker->start(routed);
    join.wait();
  }
  d.add(s.x, s.recv, s.x, n);  // (x + routed) + shared either way: the overlap never changes the arithmetic
}

void ForwardSteps::head(uint32_t first, uint32_t m, float* out) {
  const auto& c = *ctx_.config;
  const auto& g = ctx_.weights->global;
  const uint64_t E = c.n_embd, V = c.n_vocab;
  // Only rows [first, m) are needed; the move brings rows [0, m) (cheap next to the head itself).
  follow(g.head_device, m * E * 4);
  backend::Device& d = dev(g.head_device);
  Scratch& s = scratch(g.head_device);
  for (uint32_t r = first; r < m; r += ctx_.head_rows) {
    const uint32_t rows = std::min(ctx_.head_rows, m - r);
    d.rmsnorm(at(s.x, uint64_t{r} * E * 4), g.output_norm, s.head_x, rows, E, c.rms_eps);
    d.matmul(g.output, s.head_x, s.head_logits, rows);
    // Waited at once: the next pass overwrites head_logits.
    d.download(*s.head_logits.buffer, s.head_logits.offset, out + uint64_t{r - first} * V, uint64_t{rows} * V * 4)
        .wait();
  }
}

}  // namespace mixcl::scheduler::exec
