#include "scheduler/executor/layer_weights.h"

#include <fmt/format.h>

#include "scheduler/executor/mla_relayout.h"

namespace mixcl::scheduler::exec {
namespace {

using Dims = std::vector<uint64_t>;

uint64_t wbytes(const backend::WeightView& w) { return w.rows * row_bytes(w.type, w.cols); }

AttentionWeights load_attention(const arch::Deepseek2Config& c, WeightStore& s, uint32_t l, size_t dev) {
  const std::string b = fmt::format("blk.{}.", l);
  const uint64_t E = c.n_embd, H = c.n_head, Lq = c.q_lora_rank, Lkv = c.kv_lora_rank, dr = c.rope_dim,
                 dn = c.nope_dim, dv = c.v_head_dim;
  AttentionWeights a;
  a.device = dev;
  a.attn_norm = s.vector(b + "attn_norm.weight", E, dev);
  a.q_lora = Lq > 0;
  if (a.q_lora) {
    a.q_a = s.matrix(b + "attn_q_a.weight", Dims{E, Lq}, "{E, Lq}", dev);
    a.q_a_norm = s.vector(b + "attn_q_a_norm.weight", Lq, dev);
    a.q_b = s.matrix(b + "attn_q_b.weight", Dims{Lq, H * (dn + dr)}, "{Lq, H (dn + dr)}", dev);
    a.bytes += wbytes(a.q_a) + Lq * 4 + wbytes(a.q_b);
  } else {
    a.q = s.matrix(b + "attn_q.weight", Dims{E, H * (dn + dr)}, "{E, H (dn + dr)}", dev);
    a.bytes += wbytes(a.q);
  }
  a.kv_a = s.matrix(b + "attn_kv_a_mqa.weight", Dims{E, Lkv + dr}, "{E, Lkv + dr}", dev);
  a.kv_a_norm = s.vector(b + "attn_kv_a_norm.weight", Lkv, dev);
  backend::WeightView& kb = a.k_b;
  backend::WeightView& vb = a.v_b;
  if (c.mla == arch::MlaLayout::kLegacy) {
    const auto& t = s.require(b + "attn_kv_b.weight", "legacy MLA key/value up-projection");
    s.check_dims(t, Dims{Lkv, H * (dn + dv)}, "{Lkv, H (dn + dv)}");
    SplitKvB split = split_kv_b(t, H, Lkv, dn, dv);
    kb = s.put(b + "attn_k_b (from attn_kv_b)", std::move(split.k_b), split.type, dn, H * Lkv, dev, Lkv);
    vb = s.put(b + "attn_v_b (from attn_kv_b)", std::move(split.v_b), split.type, Lkv, H * dv, dev, dv);
  } else {
    kb = s.matrix(b + "attn_k_b.weight", Dims{dn, Lkv, H}, "{dn, Lkv, H}", dev, Lkv);
    vb = s.matrix(b + "attn_v_b.weight", Dims{Lkv, dv, H}, "{Lkv, dv, H}", dev, dv);
  }
  a.out = s.matrix(b + "attn_output.weight", Dims{H * dv, E}, "{H dv, E}", dev);
  a.bytes += wbytes(a.kv_a) + Lkv * 4 + wbytes(kb) + wbytes(vb) + wbytes(a.out) + E * 4;
  return a;
}

// Fused gate+up experts: each slab holds Fe gate rows then Fe up rows; split them into two stacks.
void split_gate_up(const arch::Deepseek2Config& c, WeightStore& s, const std::string& b, FfnWeights& f) {
  const uint64_t E = c.n_embd, Fe = c.n_ff_exp, X = c.n_expert;
  const auto& t = s.require(b + "ffn_gate_up_exps.weight", "fused routed-expert gate/up");
  s.check_dims(t, Dims{E, 2 * Fe, X}, "{E, 2 Fe, X}");
  const uint64_t rb = t.row_bytes(), half = Fe * rb;
  std::vector<uint8_t> gate(X * half), up(X * half);
  for (uint64_t e = 0; e < X; ++e) {
    const uint8_t* slab = t.data + e * 2 * half;
    std::copy(slab, slab + half, gate.begin() + e * half);
    std::copy(slab + half, slab + 2 * half, up.begin() + e * half);
  }
  f.experts.gate = s.put(b + "ffn_gate_exps (from ffn_gate_up_exps)", std::move(gate), t.type, E, X * Fe, f.device, Fe);
  f.experts.up = s.put(b + "ffn_up_exps (from ffn_gate_up_exps)", std::move(up), t.type, E, X * Fe, f.device, Fe);
}

FfnWeights load_ffn(const arch::Deepseek2Config& c, WeightStore& s, uint32_t l, size_t dev, size_t shared_dev) {
  const std::string b = fmt::format("blk.{}.", l);
  const uint64_t E = c.n_embd, F = c.n_ff, Fe = c.n_ff_exp, X = c.n_expert, S = c.n_expert_shared;
  FfnWeights f;
  f.device = dev;
  f.ffn_norm = s.vector(b + "ffn_norm.weight", E, dev);
  f.moe = c.is_moe_layer(l);
  if (!f.moe) {
    f.gate = s.matrix(b + "ffn_gate.weight", Dims{E, F}, "{E, F}", dev);
    f.up = s.matrix(b + "ffn_up.weight", Dims{E, F}, "{E, F}", dev);
    f.down = s.matrix(b + "ffn_down.weight", Dims{F, E}, "{F, E}", dev);
    f.dense_bytes = wbytes(f.gate) + wbytes(f.up) + wbytes(f.down);
    return f;
  }
  f.router = s.matrix(b + "ffn_gate_inp.weight", Dims{E, X}, "{E, X}", dev);
  f.router_bytes = wbytes(f.router);
  if (s.file().find_tensor(b + "exp_probs_b.bias")) {
    f.router_bias = s.vector(b + "exp_probs_b.bias", X, dev);
    f.router_bytes += X * 4;
  }
  f.experts.n_expert = static_cast<uint32_t>(X);
  if (s.file().find_tensor(b + "ffn_gate_up_exps.weight")) {
    split_gate_up(c, s, b, f);
  } else {
    f.experts.gate = s.matrix(b + "ffn_gate_exps.weight", Dims{E, Fe, X}, "{E, Fe, X}", dev, Fe);
    f.experts.up = s.matrix(b + "ffn_up_exps.weight", Dims{E, Fe, X}, "{E, Fe, X}", dev, Fe);
  }
  f.experts.down = s.matrix(b + "ffn_down_exps.weight", Dims{Fe, E, X}, "{Fe, E, X}", dev, E);
  // The op sees each stack as X matrices of Fe (gate/up) or E (down) rows back to back.
  f.experts.gate.rows = f.experts.up.rows = Fe;
  f.experts.down.rows = E;
  f.routed_bytes = X * (Fe * row_bytes(f.experts.gate.type, E) + Fe * row_bytes(f.experts.up.type, E) +
                        E * row_bytes(f.experts.down.type, Fe));
  f.shared = S > 0;
  if (f.shared) {
    f.shared_device = shared_dev;
    f.sh_gate = s.matrix(b + "ffn_gate_shexp.weight", Dims{E, S * Fe}, "{E, S Fe}", shared_dev);
    f.sh_up = s.matrix(b + "ffn_up_shexp.weight", Dims{E, S * Fe}, "{E, S Fe}", shared_dev);
    f.sh_down = s.matrix(b + "ffn_down_shexp.weight", Dims{S * Fe, E}, "{S Fe, E}", shared_dev);
    f.shared_bytes = wbytes(f.sh_gate) + wbytes(f.sh_up) + wbytes(f.sh_down);
  }
  return f;
}

}  // namespace

ModelWeights load_model_weights(const arch::Deepseek2Config& c, WeightStore& s, const DeviceOf& device_of) {
  ModelWeights m;
  const uint64_t E = c.n_embd, V = c.n_vocab;
  auto& g = m.global;
  g.embd_device = device_of("token_embd.weight");
  const bool tied = !s.file().find_tensor("output.weight");
  g.head_device = tied ? g.embd_device : device_of("output.weight");
  g.token_embd = s.table("token_embd.weight", Dims{E, V}, "{E, V}", g.embd_device);
  g.embd_row_bytes = row_bytes(g.token_embd.type, E);
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const std::string b = fmt::format("blk.{}.", l);
    m.attention.push_back(load_attention(c, s, l, device_of(b + "attn_kv_a_mqa.weight")));
    const bool moe = c.is_moe_layer(l);
    const size_t dev = device_of(b + (moe ? (s.file().find_tensor(b + "ffn_gate_up_exps.weight")
                                                ? "ffn_gate_up_exps.weight"
                                                : "ffn_gate_exps.weight")
                                          : "ffn_gate.weight"));
    const size_t shared_dev = moe && c.n_expert_shared > 0 ? device_of(b + "ffn_gate_shexp.weight") : dev;
    m.ffn.push_back(load_ffn(c, s, l, dev, shared_dev));
  }
  g.output_norm = s.vector("output_norm.weight", E, g.head_device);
  if (tied) {
    g.output = g.token_embd;
    s.check_matmul_type("token_embd.weight (tied output head)", g.output.type, g.head_device);
    s.check_dims(s.require("token_embd.weight", "tied output head"), Dims{E, V}, "{E, V}");
  } else {
    g.output = s.matrix("output.weight", Dims{E, V}, "{E, V}", g.head_device);
  }
  g.head_bytes = wbytes(g.output) + E * 4;
  return m;
}

}  // namespace mixcl::scheduler::exec
