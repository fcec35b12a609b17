// from_gguf (model/arch) on synthetic files, and on copies with keys or tensors changed (quirks Q1-Q3, Q5, Q6, Q8,
// bad input). It lives here because it needs the synthesizer, which the arch test area does not link.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"
#include "model/synth/synth_model.h"

namespace mixcl::arch {
namespace {

using gguf::GgufFile;
using gguf::GgufValue;

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("mixcl_from_gguf_" + std::to_string(getpid()) + "_" + name);
}

Deepseek2Config geometry_config(const std::string& name, MlaLayout mla) {
  Deepseek2Config c = geometry(name);
  c.mla = mla;
  return c;
}

// Writes a tiny model (Q8_0 everywhere it fits, F32 norms) once per test program run.
std::filesystem::path model(const std::string& geometry, MlaLayout mla = MlaLayout::kSplit) {
  const auto path = temp_path(geometry + (mla == MlaLayout::kSplit ? "-split" : "-legacy") + ".gguf");
  if (std::filesystem::exists(path)) return path;
  synth::SynthOptions o;
  o.config = geometry_config(geometry, mla);
  o.types.embedding = o.types.output = o.types.routed_experts = DType::Q8_0;
  synth::write_synth_model(path, o);
  return path;
}

// Copies `src` to a new file with one key dropped or replaced and optionally one tensor left out.
struct Edit {
  std::string drop_key;
  std::string set_key;
  GgufValue set_value;
  std::string drop_tensor;
};

Edit drop_key(std::string key) {
  Edit e;
  e.drop_key = std::move(key);
  return e;
}
Edit set_key(std::string key, GgufValue value) {
  Edit e;
  e.set_key = std::move(key);
  e.set_value = std::move(value);
  return e;
}
Edit drop_tensor(std::string name) {
  Edit e;
  e.drop_tensor = std::move(name);
  return e;
}

std::filesystem::path rewrite(const std::filesystem::path& src, const Edit& e, const std::string& name) {
  const GgufFile f = GgufFile::open(src);
  const auto dst = temp_path(name + ".gguf");
  gguf::GgufWriter w(dst);
  bool replaced = false;
  for (const auto& kv : f.kvs()) {
    if (kv.key == e.drop_key) continue;
    if (kv.key == e.set_key) {
      w.set(kv.key, e.set_value);
      replaced = true;
    } else {
      w.set(kv.key, kv.value);
    }
  }
  if (!e.set_key.empty() && !replaced) w.set(e.set_key, e.set_value);
  for (const auto& t : f.tensors()) {
    if (t.name == e.drop_tensor) continue;
    w.add_tensor_bytes(std::string(t.name), std::vector<uint64_t>(t.dims().begin(), t.dims().end()), t.type,
                       std::vector<uint8_t>(t.data, t.data + t.nbytes));
  }
  w.finish();
  return dst;
}

// The message of the Error from_gguf throws for `path` ("" when it does not throw).
std::string error_of(const std::filesystem::path& path) {
  try {
    from_gguf(GgufFile::open(path));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class FromGguf : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    const std::string prefix = "mixcl_from_gguf_" + std::to_string(getpid()) + "_";
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
      if (entry.path().filename().string().starts_with(prefix)) std::filesystem::remove(entry.path());
  }
};

TEST_F(FromGguf, MissingRequiredKeysAreNamed) {
  for (std::string key : {"expert_count", "attention.kv_lora_rank", "embedding_length", "block_count",
                          "attention.layer_norm_rms_epsilon", "expert_shared_count"}) {
    const auto p = rewrite(model("tiny-v3"), drop_key("deepseek2." + key), "drop");
    const std::string err = error_of(p);
    EXPECT_NE(err.find("deepseek2." + key), std::string::npos) << key << ": " << err;
  }
}

TEST_F(FromGguf, MissingGatingMeansSoftmax) {  // quirk Q2
  const auto p = rewrite(model("tiny-v3"), drop_key("deepseek2.expert_gating_func"), "nogating");
  EXPECT_EQ(from_gguf(GgufFile::open(p)).gating, GatingFunc::kSoftmax);
  const auto bad = rewrite(model("tiny-v3"), set_key("deepseek2.expert_gating_func", GgufValue::u32(7)), "gating7");
  EXPECT_NE(error_of(bad).find("expert_gating_func"), std::string::npos);
}

TEST_F(FromGguf, YarnLogMultiplierIsDividedByATenth) {  // quirk Q3
  const auto p = rewrite(model("tiny-v2-lite"),
                         set_key("deepseek2.rope.scaling.yarn_log_multiplier", GgufValue::f32(0.0707f)),
                         "yarn");
  const Deepseek2Config c = from_gguf(GgufFile::open(p));
  EXPECT_NEAR(c.mscale_all_dim, 0.707, 1e-6);
  EXPECT_NEAR(c.mscale(), 1.260804, 1e-6);  // V2-Lite row of §5.4 (f = 40)
  const auto linear = rewrite(model("tiny-v2-lite"),
                              set_key("deepseek2.rope.scaling.type", GgufValue::str("linear")), "lin");
  EXPECT_NE(error_of(linear).find("rope.scaling.type"), std::string::npos);
}

TEST_F(FromGguf, QLoraIsDecidedByTensorPresence) {  // quirk Q1
  const auto no_key = rewrite(model("tiny-v3"), drop_key("deepseek2.attention.q_lora_rank"), "nolq");
  EXPECT_EQ(from_gguf(GgufFile::open(no_key)).q_lora_rank, 96u);
  const auto wrong = rewrite(model("tiny-v3"),
                             set_key("deepseek2.attention.q_lora_rank", GgufValue::u32(64)), "lq64");
  EXPECT_NE(error_of(wrong).find("attn_q_a.weight has 96 rows"), std::string::npos) << error_of(wrong);
  const auto stray_key = rewrite(model("tiny-v2-lite"),
                                 set_key("deepseek2.attention.q_lora_rank", GgufValue::u32(96)), "stray");
  EXPECT_EQ(from_gguf(GgufFile::open(stray_key)).q_lora_rank, 0u);  // no attn_q_a: the key is ignored
  const auto no_q = rewrite(model("tiny-v2-lite"), drop_tensor("blk.0.attn_q.weight"), "noq");
  EXPECT_NE(error_of(no_q).find("attn_q.weight"), std::string::npos);
}

TEST_F(FromGguf, MlaDimsComeFromTheMlaKeysAndTensors) {  // quirk Q6
  const Deepseek2Config split = from_gguf(GgufFile::open(model("tiny-v3")));
  EXPECT_EQ(split.mla, MlaLayout::kSplit);
  EXPECT_EQ(split.nope_dim, 32u);
  EXPECT_EQ(split.v_head_dim, 32u);
  const Deepseek2Config legacy = from_gguf(GgufFile::open(model("tiny-v3", MlaLayout::kLegacy)));
  EXPECT_EQ(legacy.mla, MlaLayout::kLegacy);
  EXPECT_EQ(legacy.nope_dim, 32u);
  EXPECT_EQ(legacy.v_head_dim, 32u);
  const auto bad = rewrite(model("tiny-v3"),
                           set_key("deepseek2.attention.key_length_mla", GgufValue::u32(40)), "klm");
  EXPECT_NE(error_of(bad).find("key_length_mla"), std::string::npos);
  const auto neither = rewrite(model("tiny-v3", MlaLayout::kLegacy), drop_tensor("blk.0.attn_kv_b.weight"), "nokvb");
  EXPECT_NE(error_of(neither).find("attn_kv_b"), std::string::npos);
  const auto legacy_no_kl = rewrite(model("tiny-v3", MlaLayout::kLegacy), drop_key("deepseek2.attention.key_length"), "nokl");
  EXPECT_NE(error_of(legacy_no_kl).find("deepseek2.attention.key_length"), std::string::npos);
}

TEST_F(FromGguf, VocabFromTokensAndArchitectureChecked) {
  const auto no_v = rewrite(model("tiny-v3"), drop_key("deepseek2.vocab_size"), "nov");
  const Deepseek2Config c = from_gguf(GgufFile::open(no_v));
  EXPECT_EQ(c.n_vocab, GgufFile::open(no_v).get("tokenizer.ggml.tokens").array_size());
  const auto bad_v = rewrite(model("tiny-v3"), set_key("deepseek2.vocab_size", GgufValue::u32(1000)), "v1000");
  EXPECT_NE(error_of(bad_v).find("token_embd.weight"), std::string::npos);
  const auto llama = rewrite(model("tiny-v3"), set_key("general.architecture", GgufValue::str("llama")), "llama");
  EXPECT_NE(error_of(llama).find("expected 'deepseek2'"), std::string::npos);
  const auto k_too_big = rewrite(model("tiny-v3"), set_key("deepseek2.expert_used_count", GgufValue::u32(9)), "k9");
  EXPECT_NE(error_of(k_too_big).find("9 experts used per token"), std::string::npos);
}

TEST_F(FromGguf, TiedOutputAndRouterBiasByPresence) {  // quirks Q5, Q8
  const auto tied = rewrite(model("tiny-v3"), drop_tensor("output.weight"), "tied");
  EXPECT_TRUE(from_gguf(GgufFile::open(tied)).tied_output);
  EXPECT_FALSE(from_gguf(GgufFile::open(model("tiny-v3"))).tied_output);
  EXPECT_TRUE(from_gguf(GgufFile::open(model("tiny-v3"))).router_bias);
  EXPECT_FALSE(from_gguf(GgufFile::open(model("tiny-v2-lite"))).router_bias);
}

}  // namespace
}  // namespace mixcl::arch
