// Tiny synthetic models of every variant, written and read back with the GGUF reader.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "model/quant/quant.h"
#include "model/synth/synth_model.h"
#include "model/synth/synth_tensors.h"
#include "model/synth/synth_tokenizer.h"
#include "tests/model/synth/synth_test_util.h"

namespace mixcl::synth {
namespace {

using arch::Deepseek2Config;
using gguf::GgufFile;
using testing::TempDir;

// Every weight stored as F32, so file contents can be compared with the generator exactly.
TypeChoice all_f32() {
  TypeChoice t;
  t.embedding = t.output = t.attention = t.dense_ffn = t.shared_experts = t.routed_experts = DType::F32;
  return t;
}

std::vector<float> tensor_f32(const GgufFile& f, const std::string& name) {
  const auto& t = f.tensor(name);
  std::vector<float> out(t.n_elements);
  const uint64_t rows = t.n_elements / t.ne[0];
  for (uint64_t r = 0; r < rows; ++r)
    quant::dequantize_row(t.type, t.data + r * t.row_bytes(), out.data() + r * t.ne[0], t.ne[0]);
  return out;
}

// The tensor names the spec (deepseek2.md §3) requires for `c`, derived independently of plan_tensors.
std::vector<std::string> expected_names(const Deepseek2Config& c) {
  std::vector<std::string> n = {"token_embd.weight", "output_norm.weight"};
  if (!c.tied_output) n.push_back("output.weight");
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    for (auto s : {"attn_norm.weight", "attn_kv_a_mqa.weight", "attn_kv_a_norm.weight", "attn_output.weight",
                   "ffn_norm.weight"})
      n.push_back(b + s);
    if (c.q_lora_rank > 0) {
      for (auto s : {"attn_q_a.weight", "attn_q_a_norm.weight", "attn_q_b.weight"}) n.push_back(b + s);
    } else {
      n.push_back(b + "attn_q.weight");
    }
    if (c.mla == arch::MlaLayout::kSplit) {
      n.push_back(b + "attn_k_b.weight");
      n.push_back(b + "attn_v_b.weight");
    } else {
      n.push_back(b + "attn_kv_b.weight");
    }
    if (l < c.n_dense) {
      for (auto s : {"ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"}) n.push_back(b + s);
    } else {
      for (auto s : {"ffn_gate_inp.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight",
                     "ffn_gate_shexp.weight", "ffn_up_shexp.weight", "ffn_down_shexp.weight"})
        n.push_back(b + s);
      if (c.router_bias) n.push_back(b + "exp_probs_b.bias");
    }
  }
  return n;
}

void expect_same_config(const Deepseek2Config& a, const Deepseek2Config& b) {
  EXPECT_EQ(a.n_embd, b.n_embd);
  EXPECT_EQ(a.n_layer, b.n_layer);
  EXPECT_EQ(a.n_dense, b.n_dense);
  EXPECT_EQ(a.n_head, b.n_head);
  EXPECT_EQ(a.q_lora_rank, b.q_lora_rank);
  EXPECT_EQ(a.kv_lora_rank, b.kv_lora_rank);
  EXPECT_EQ(a.rope_dim, b.rope_dim);
  EXPECT_EQ(a.nope_dim, b.nope_dim);
  EXPECT_EQ(a.v_head_dim, b.v_head_dim);
  EXPECT_EQ(a.n_ff, b.n_ff);
  EXPECT_EQ(a.n_ff_exp, b.n_ff_exp);
  EXPECT_EQ(a.n_expert, b.n_expert);
  EXPECT_EQ(a.n_expert_used, b.n_expert_used);
  EXPECT_EQ(a.n_expert_shared, b.n_expert_shared);
  EXPECT_EQ(a.n_group, b.n_group);
  EXPECT_EQ(a.n_group_used, b.n_group_used);
  EXPECT_EQ(a.n_vocab, b.n_vocab);
  EXPECT_EQ(a.context_length, b.context_length);
  EXPECT_EQ(a.rms_eps, b.rms_eps);
  EXPECT_EQ(a.rope_base, b.rope_base);
  EXPECT_EQ(a.yarn, b.yarn);
  EXPECT_EQ(a.yarn_factor, b.yarn_factor);
  EXPECT_EQ(a.yarn_orig_ctx, b.yarn_orig_ctx);
  EXPECT_NEAR(a.mscale_all_dim, b.mscale_all_dim, 1e-6);
  EXPECT_EQ(a.yarn_beta_fast, b.yarn_beta_fast);
  EXPECT_EQ(a.yarn_beta_slow, b.yarn_beta_slow);
  EXPECT_EQ(a.expert_weights_scale, b.expert_weights_scale);
  EXPECT_EQ(a.expert_weights_norm, b.expert_weights_norm);
  EXPECT_EQ(a.gating, b.gating);
  EXPECT_EQ(a.router_bias, b.router_bias);
  EXPECT_EQ(a.mla, b.mla);
  EXPECT_EQ(a.tied_output, b.tied_output);
}

// Routed experts in Q8_0 (fast to quantize) where the K-quant path is not the point of a test.
TypeChoice fast_types() {
  TypeChoice t;
  t.routed_experts = DType::Q8_0;
  return t;
}

// Writes `c` with `types` and checks tensors, dims, types and keys against the spec.
void check_variant(const Deepseek2Config& config, const std::string& label, const TypeChoice& types = {}) {
  SCOPED_TRACE(label);
  TempDir dir;
  SynthOptions o;
  o.config = config;
  o.types = types;
  o.seed = 3;
  const auto path = dir / "m.gguf";
  const SynthResult r = write_synth_model(path, o);
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  EXPECT_EQ(std::filesystem::file_size(path), r.file_bytes);
  const Deepseek2Config& c = r.config;
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.architecture(), "deepseek2");

  // Tensors: exactly the spec's set, with the spec's dims and the class types (after the Q4 fallback).
  const auto names = expected_names(c);
  EXPECT_EQ(f.tensors().size(), names.size());
  EXPECT_EQ(r.n_tensors, names.size());
  for (const auto& n : names) EXPECT_TRUE(f.find_tensor(n).has_value()) << n;
  const uint64_t e = c.n_embd, h = c.n_head, x = c.n_expert, fe = c.n_ff_exp, dn = c.nope_dim, dv = c.v_head_dim;
  const auto dims = [&](const std::string& n) {
    const auto t = f.tensor(n).dims();
    return std::vector<uint64_t>(t.begin(), t.end());
  };
  EXPECT_EQ(dims("token_embd.weight"), (std::vector<uint64_t>{e, c.n_vocab}));
  const std::string moe = "blk." + std::to_string(c.n_dense) + ".";
  EXPECT_EQ(dims(moe + "ffn_gate_exps.weight"), (std::vector<uint64_t>{e, fe, x}));
  EXPECT_EQ(dims(moe + "ffn_down_exps.weight"), (std::vector<uint64_t>{fe, e, x}));
  EXPECT_EQ(dims(moe + "ffn_gate_inp.weight"), (std::vector<uint64_t>{e, x}));
  EXPECT_EQ(dims(moe + "ffn_down_shexp.weight"), (std::vector<uint64_t>{c.n_expert_shared * fe, e}));
  EXPECT_EQ(dims("blk.0.attn_kv_a_mqa.weight"), (std::vector<uint64_t>{e, c.kv_lora_rank + c.rope_dim}));
  EXPECT_EQ(dims("blk.0.attn_output.weight"), (std::vector<uint64_t>{h * dv, e}));
  if (c.mla == arch::MlaLayout::kSplit) {
    EXPECT_EQ(dims("blk.0.attn_k_b.weight"), (std::vector<uint64_t>{dn, c.kv_lora_rank, h}));
    EXPECT_EQ(dims("blk.0.attn_v_b.weight"), (std::vector<uint64_t>{c.kv_lora_rank, dv, h}));
  } else {
    EXPECT_EQ(dims("blk.0.attn_kv_b.weight"), (std::vector<uint64_t>{c.kv_lora_rank, h * (dn + dv)}));
  }
  if (c.q_lora_rank > 0) {
    EXPECT_EQ(dims("blk.0.attn_q_b.weight"), (std::vector<uint64_t>{c.q_lora_rank, h * (dn + c.rope_dim)}));
  } else {
    EXPECT_EQ(dims("blk.0.attn_q.weight"), (std::vector<uint64_t>{e, h * (dn + c.rope_dim)}));
  }
  if (c.n_dense > 0) {
    EXPECT_EQ(dims("blk.0.ffn_down.weight"), (std::vector<uint64_t>{c.n_ff, e}));
  }
  EXPECT_EQ(f.tensor(moe + "ffn_up_exps.weight").type, types.routed_experts);
  EXPECT_EQ(f.tensor(moe + "ffn_up_shexp.weight").type, DType::Q8_0);
  EXPECT_EQ(f.tensor(moe + "ffn_gate_inp.weight").type, DType::F32);
  EXPECT_EQ(f.tensor("blk.0.attn_norm.weight").type, DType::F32);
  EXPECT_EQ(f.tensor("token_embd.weight").type, DType::Q4_K);
  if (!c.tied_output) {
    EXPECT_EQ(f.tensor("output.weight").type, DType::Q6_K);
  }

  // Keys as converters write them.
  EXPECT_EQ(f.get_u32("block_count"), c.n_layer);
  EXPECT_EQ(f.get_u32("vocab_size"), c.n_vocab);
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "deepseek-v3");
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get("tokenizer.ggml.tokens").array_size(), c.n_vocab);
  EXPECT_EQ(f.get("tokenizer.ggml.token_type").array_size(), c.n_vocab);
  const auto& tokens = f.get("tokenizer.ggml.tokens").as_string_array();
  EXPECT_EQ(tokens.at(f.get_u32("tokenizer.ggml.bos_token_id")), kBosText);
  EXPECT_EQ(tokens.at(f.get_u32("tokenizer.ggml.eos_token_id")), kEosText);
  if (c.mla == arch::MlaLayout::kSplit) {
    EXPECT_EQ(f.get_u32("attention.head_count_kv"), 1u);
    EXPECT_EQ(f.get_u32("attention.key_length"), c.kv_lora_rank + c.rope_dim);
    EXPECT_EQ(f.get_u32("attention.value_length"), c.kv_lora_rank);
    EXPECT_EQ(f.get_u32("attention.key_length_mla"), dn + c.rope_dim);
    EXPECT_EQ(f.get_u32("attention.value_length_mla"), dv);
  } else {
    EXPECT_EQ(f.get_u32("attention.head_count_kv"), h);
    EXPECT_EQ(f.get_u32("attention.key_length"), dn + c.rope_dim);
    EXPECT_EQ(f.get_u32("attention.value_length"), dv);
    EXPECT_FALSE(f.has("attention.key_length_mla"));
  }
  EXPECT_EQ(f.has("attention.q_lora_rank"), c.q_lora_rank > 0);
  if (c.yarn) {
    EXPECT_NEAR(f.get_f32("rope.scaling.yarn_log_multiplier"), 0.1 * c.mscale_all_dim, 1e-7);
  }
  EXPECT_EQ(f.get_u32("expert_gating_func", 1), static_cast<uint32_t>(c.gating));

  // The reader recovers every hyperparameter.
  expect_same_config(arch::from_gguf(f), c);
}

TEST(SynthModel, EveryTinyGeometryRoundTrips) {
  for (auto name : arch::geometry_names()) {
    if (!std::string_view(name).starts_with("tiny-")) continue;
    // Default types (Q4_K experts) for the V3 variant; the faster Q8_0 experts for the others.
    check_variant(arch::geometry(name), std::string(name), name == "tiny-v3" ? TypeChoice{} : fast_types());
  }
}

TEST(SynthModel, LayoutQLoraGatingAndTiedOverrides) {
  Deepseek2Config c = arch::geometry("tiny-v3");
  c.mla = arch::MlaLayout::kLegacy;
  c.q_lora_rank = 0;
  c.tied_output = true;
  check_variant(c, "tiny-v3 legacy, no q-lora, tied", fast_types());
  c = arch::geometry("tiny-v2-lite");
  c.gating = arch::GatingFunc::kSqrtSoftplus;
  c.router_bias = true;
  c.n_group = 4, c.n_group_used = 2;
  c.mla = arch::MlaLayout::kLegacy;
  check_variant(c, "tiny-v2-lite sqrt-softplus, groups, legacy", fast_types());
}

TEST(SynthModel, StoredValuesAreTheGeneratorsAndLayoutsShareKvB) {
  TempDir dir;
  SynthOptions o;
  o.config = arch::geometry("tiny-v3");
  o.types = all_f32();
  o.seed = 11;
  const SynthResult split = write_synth_model(dir / "split.gguf", o);
  o.config.mla = arch::MlaLayout::kLegacy;
  write_synth_model(dir / "legacy.gguf", o);
  const GgufFile fs = GgufFile::open(dir / "split.gguf"), fl = GgufFile::open(dir / "legacy.gguf");
  const Deepseek2Config& c = split.config;

  // Every stored tensor equals the generator's values.
  for (const auto& t : plan_tensors(c, o.types)) {
    std::vector<float> want(t.n_rows() * t.dims[0]);
    generate_rows(t, c, o.seed, 0, t.n_rows(), want.data());
    ASSERT_EQ(tensor_f32(fs, t.name), want) << t.name;
  }
  // deepseek2.md §3.4: Kb (d, c, i) at (i Lkv + c) dn + d == kv_b[i (dn+dv) + d][c]; Vb (c, v, i) at
  // (i dv + v) Lkv + c == kv_b[i (dn+dv) + dn + v][c]; legacy attn_kv_b is kv_b itself.
  const uint64_t lkv = c.kv_lora_rank, dn = c.nope_dim, dv = c.v_head_dim;
  for (uint32_t layer = 0; layer < c.n_layer; ++layer) {
    const std::string b = "blk." + std::to_string(layer) + ".";
    const auto kb = tensor_f32(fs, b + "attn_k_b.weight"), vb = tensor_f32(fs, b + "attn_v_b.weight");
    const auto kvb = tensor_f32(fl, b + "attn_kv_b.weight");
    for (uint64_t i = 0; i < c.n_head; ++i)
      for (uint64_t lat = 0; lat < lkv; ++lat) {
        for (uint64_t d = 0; d < dn; ++d)
          ASSERT_EQ(kb[(i * lkv + lat) * dn + d], kvb[(i * (dn + dv) + d) * lkv + lat]);
        for (uint64_t v = 0; v < dv; ++v)
          ASSERT_EQ(vb[(i * dv + v) * lkv + lat], kvb[(i * (dn + dv) + dn + v) * lkv + lat]);
      }
    // All other tensors are identical between the layouts.
    EXPECT_EQ(tensor_f32(fs, b + "attn_output.weight"), tensor_f32(fl, b + "attn_output.weight"));
  }
}

TEST(SynthModel, ValueScalesKeepActivationsOrderOne) {
  TempDir dir;
  SynthOptions o;
  o.config = arch::geometry("tiny-v2-lite");
  o.types = all_f32();
  write_synth_model(dir / "m.gguf", o);
  const GgufFile f = GgufFile::open(dir / "m.gguf");
  const auto stats = [&](const std::string& n) {
    const auto v = tensor_f32(f, n);
    double s = 0, s2 = 0;
    for (float x : v) s += x, s2 += double(x) * x;
    const double mean = s / v.size();
    return std::pair{mean, std::sqrt(s2 / v.size() - mean * mean)};
  };
  EXPECT_NEAR(stats("blk.1.ffn_gate_exps.weight").second, 1 / 16.0, 0.002);  // 1/sqrt(E = 256)
  EXPECT_NEAR(stats("blk.1.ffn_down_exps.weight").second, 1 / 16.0, 0.002);  // 1/sqrt(Fe = 256)
  EXPECT_NEAR(stats("blk.0.ffn_down.weight").second, 1 / std::sqrt(512.0), 0.002);
  EXPECT_NEAR(stats("blk.0.attn_norm.weight").first, 1.0, 0.03);
  EXPECT_NEAR(stats("token_embd.weight").second, 1.0, 0.02);
  EXPECT_NEAR(stats("blk.1.ffn_gate_inp.weight").second, 1 / 16.0, 0.01);  // unit-variance router logits
}

TEST(SynthModel, QuantizedTensorsDecodeToTheGeneratedValues) {
  TempDir dir;
  SynthOptions o;
  o.config = arch::geometry("tiny-v3");
  o.seed = 5;
  const SynthResult r = write_synth_model(dir / "m.gguf", o);
  const GgufFile f = GgufFile::open(dir / "m.gguf");
  for (const auto& t : plan_tensors(r.config, o.types)) {
    std::vector<float> want(t.n_rows() * t.dims[0]);
    generate_rows(t, r.config, o.seed, 0, t.n_rows(), want.data());
    const auto got = tensor_f32(f, t.name);
    double err = 0, ref = 0;
    for (size_t i = 0; i < want.size(); ++i) err += std::pow(got[i] - want[i], 2), ref += want[i] * want[i];
    // Relative RMS error bounds per format (Q4_K ~ 4.5 bits, Q6_K, Q8_0).
    const double bound = t.type == DType::Q4_K ? 0.15 : t.type == DType::F32 ? 0.0 : 0.03;
    EXPECT_LE(std::sqrt(err / ref), bound) << t.name << " " << dtype_name(t.type);
  }
}

TEST(SynthModel, SameSeedSameBytesAcrossSlabSizesDifferentSeedDiffers) {
  TempDir dir;
  SynthOptions o;
  o.config = arch::geometry("tiny-kimi-k2");
  o.types = fast_types();
  o.seed = 42;
  write_synth_model(dir / "a.gguf", o);
  o.slab_bytes = 3000;  // many slabs per tensor, slab edges inside expert matrices
  write_synth_model(dir / "b.gguf", o);
  o.slab_bytes = 0;
  o.seed = 43;
  write_synth_model(dir / "c.gguf", o);
  const auto a = testing::read_all(dir / "a.gguf"), b = testing::read_all(dir / "b.gguf"),
             c = testing::read_all(dir / "c.gguf");
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), c.size());
  EXPECT_NE(a, c);
  const GgufFile fa = GgufFile::open(dir / "a.gguf"), fc = GgufFile::open(dir / "c.gguf");
  for (const auto& t : fa.tensors()) {
    const auto u = fc.tensor(t.name);
    EXPECT_NE(std::vector<uint8_t>(t.data, t.data + t.nbytes), std::vector<uint8_t>(u.data, u.data + u.nbytes))
        << t.name;
  }
}

TEST(SynthModel, CancellationLeavesNoFile) {
  TempDir dir;
  std::atomic<bool> cancel{false};
  SynthOptions o;
  o.config = arch::geometry("tiny-v3");
  o.cancel = &cancel;
  o.slab_bytes = 4096;
  int calls = 0;
  const auto path = dir / "m.gguf";
  EXPECT_THROW(write_synth_model(path, o,
                                 [&](uint64_t, uint64_t) {
                                   if (++calls == 5) cancel = true;
                                 }),
               Error);
  EXPECT_GE(calls, 5);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SynthModel, BadOptionsFailBeforeWriting) {
  TempDir dir;
  SynthOptions o;
  o.config = arch::geometry("tiny-v3");
  o.config.n_expert_used = 40;
  EXPECT_THROW(write_synth_model(dir / "m.gguf", o), Error);
  o.config = arch::geometry("tiny-v3");
  o.types.norm = DType::Q4_0;
  EXPECT_THROW(write_synth_model(dir / "m.gguf", o), Error);
  o.types = TypeChoice{};
  o.config.n_group = 5;  // 8 experts do not split into 5 groups
  EXPECT_THROW(write_synth_model(dir / "m.gguf", o), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace mixcl::synth
