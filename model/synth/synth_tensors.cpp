#include "model/synth/synth_tensors.h"

#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "model/synth/weight_gen.h"

namespace mixcl::synth {

uint64_t SynthTensor::n_rows() const {
  uint64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  return rows;
}

uint64_t SynthTensor::nbytes() const { return row_bytes(type, dims[0]) * n_rows(); }

namespace {

// Standard deviations chosen so activations stay O(1) through the layers.
constexpr float kNormMean = 1.0f;  // RMSNorm weights scatter around 1
constexpr float kNormStd = 0.1f;
constexpr float kEmbeddingStd = 1.0f;   // rows enter the residual stream at unit scale
constexpr float kRouterBiasStd = 0.05f;  // small next to sigmoid score spreads: steers, does not dominate

// Collects tensors with their types resolved against the class choice.
class Planner {
 public:
  Planner(const TypeChoice& types) : types_(types) {}

  // A matrix-like tensor with values ~ N(0, 1/fan_in), fan_in = ne0 (the contracted dimension).
  void matrix(std::string name, std::vector<uint64_t> dims, TensorClass cls) {
    const float std = 1.0f / std::sqrt(static_cast<float>(dims[0]));
    add(std::move(name), std::move(dims), cls, 0.0f, std, ValueSource::kOwn, "");
  }
  void norm(std::string name, uint64_t n) { add(std::move(name), {n}, TensorClass::kNorm, kNormMean, kNormStd); }
  void add(std::string name, std::vector<uint64_t> dims, TensorClass cls, float mean, float std,
           ValueSource source = ValueSource::kOwn, std::string stream_key = "") {
    SynthTensor t;
    t.type = fitting_type(types_.for_class(cls), dims[0]);
    t.stream_key = stream_key.empty() ? name : std::move(stream_key);
    t.name = std::move(name);
    t.dims = std::move(dims);
    t.cls = cls;
    t.mean = mean;
    t.std = std;
    t.source = source;
    out.push_back(std::move(t));
  }

  std::vector<SynthTensor> out;

 private:
  const TypeChoice& types_;
};

void plan_attention(Planner& p, const arch::Deepseek2Config& c, const std::string& b) {
  const uint64_t e = c.n_embd, h = c.n_head, lq = c.q_lora_rank, lkv = c.kv_lora_rank;
  const uint64_t dn = c.nope_dim, dv = c.v_head_dim, qk = c.qk_head_dim();
  p.norm(b + "attn_norm.weight", e);
  if (lq > 0) {
    p.matrix(b + "attn_q_a.weight", {e, lq}, TensorClass::kAttention);
    p.norm(b + "attn_q_a_norm.weight", lq);
    p.matrix(b + "attn_q_b.weight", {lq, h * qk}, TensorClass::kAttention);
  } else {
    p.matrix(b + "attn_q.weight", {e, h * qk}, TensorClass::kAttention);
  }
  p.matrix(b + "attn_kv_a_mqa.weight", {e, lkv + c.rope_dim}, TensorClass::kAttention);
  p.norm(b + "attn_kv_a_norm.weight", lkv);
  const float kvb_std = 1.0f / std::sqrt(static_cast<float>(lkv));  // every kv_b row contracts over Lkv
  if (c.mla == arch::MlaLayout::kSplit) {
    p.add(b + "attn_k_b.weight", {dn, lkv, h}, TensorClass::kAttention, 0.0f, kvb_std, ValueSource::kKb,
          b + "kv_b");
    p.add(b + "attn_v_b.weight", {lkv, dv, h}, TensorClass::kAttention, 0.0f, kvb_std, ValueSource::kVb,
          b + "kv_b");
  } else {
    p.add(b + "attn_kv_b.weight", {lkv, h * (dn + dv)}, TensorClass::kAttention, 0.0f, kvb_std,
          ValueSource::kKvbLegacy, b + "kv_b");
  }
  p.matrix(b + "attn_output.weight", {h * dv, e}, TensorClass::kAttention);
}

void plan_ffn(Planner& p, const arch::Deepseek2Config& c, uint32_t layer, const std::string& b) {
  const uint64_t e = c.n_embd, f = c.n_ff, fe = c.n_ff_exp, x = c.n_expert, fs = fe * c.n_expert_shared;
  p.norm(b + "ffn_norm.weight", e);
  if (!c.is_moe_layer(layer)) {
    p.matrix(b + "ffn_gate.weight", {e, f}, TensorClass::kDenseFfn);
    p.matrix(b + "ffn_up.weight", {e, f}, TensorClass::kDenseFfn);
    p.matrix(b + "ffn_down.weight", {f, e}, TensorClass::kDenseFfn);
    return;
  }
  // Router: unit-variance logits for a unit-RMS input, so the scores vary between experts.
  p.add(b + "ffn_gate_inp.weight", {e, x}, TensorClass::kNorm, 0.0f, 1.0f / std::sqrt(static_cast<float>(e)));
  if (c.router_bias) p.add(b + "exp_probs_b.bias", {x}, TensorClass::kNorm, 0.0f, kRouterBiasStd);
  p.matrix(b + "ffn_gate_exps.weight", {e, fe, x}, TensorClass::kRoutedExperts);
  p.matrix(b + "ffn_up_exps.weight", {e, fe, x}, TensorClass::kRoutedExperts);
  p.matrix(b + "ffn_down_exps.weight", {fe, e, x}, TensorClass::kRoutedExperts);
  if (fs > 0) {
    p.matrix(b + "ffn_gate_shexp.weight", {e, fs}, TensorClass::kSharedExperts);
    p.matrix(b + "ffn_up_shexp.weight", {e, fs}, TensorClass::kSharedExperts);
    p.matrix(b + "ffn_down_shexp.weight", {fs, e}, TensorClass::kSharedExperts);
  }
}

}  // namespace

std::vector<SynthTensor> plan_tensors(const arch::Deepseek2Config& c, const TypeChoice& types) {
  c.validate();
  Planner p(types);
  p.add("token_embd.weight", {c.n_embd, c.n_vocab}, TensorClass::kEmbedding, 0.0f, kEmbeddingStd);
  for (uint32_t layer = 0; layer < c.n_layer; ++layer) {
    const std::string b = fmt::format("blk.{}.", layer);
    plan_attention(p, c, b);
    plan_ffn(p, c, layer, b);
  }
  p.norm("output_norm.weight", c.n_embd);
  if (!c.tied_output) p.matrix("output.weight", {c.n_embd, c.n_vocab}, TensorClass::kOutput);
  return std::move(p.out);
}

void generate_rows(const SynthTensor& t, const arch::Deepseek2Config& c, uint64_t seed, uint64_t first_row,
                   uint64_t n_rows, float* dst) {
  const uint64_t s = tensor_seed(seed, t.stream_key);
  const uint64_t ne0 = t.dims[0];
  if (t.source == ValueSource::kOwn || t.source == ValueSource::kKvbLegacy) {
    // Legacy attn_kv_b is the HF kv_b matrix itself: element (row, c) has index row * Lkv + c.
    fill_normal(s, first_row * ne0, n_rows * ne0, t.mean, t.std, dst);
    return;
  }
  const uint64_t lkv = c.kv_lora_rank, dn = c.nope_dim, dv = c.v_head_dim, per_head = dn + dv;
  for (uint64_t r = 0; r < n_rows; ++r) {
    const uint64_t row = first_row + r;
    float* out = dst + r * ne0;
    if (t.source == ValueSource::kKb) {
      // attn_k_b row (i, c) holds kv_b[i (dn+dv) + d][c] for d < dn (the key part, transposed).
      const uint64_t head = row / lkv, lat = row % lkv;
      for (uint64_t d = 0; d < dn; ++d)
        out[d] = t.mean + t.std * unit_normal(s, (head * per_head + d) * lkv + lat);
    } else {
      // attn_v_b row (i, v) is kv_b row i (dn+dv) + dn + v, not transposed.
      const uint64_t head = row / dv, v = row % dv;
      fill_normal(s, (head * per_head + dn + v) * lkv, lkv, t.mean, t.std, out);
    }
  }
}

}  // namespace mixcl::synth
