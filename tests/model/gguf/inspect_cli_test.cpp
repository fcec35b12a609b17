// `mixcl inspect` on a small written file: the text report names what matters and --json parses back.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "model/gguf/gguf_writer.h"
#include "tests/model/gguf/temp_dir.h"
#include "tests/support/command.h"

namespace mixcl::gguf::test {
namespace {

using ::mixcl::test::CommandResult;
using ::mixcl::test::run_command;

std::filesystem::path write_model(const TempDir& dir) {
  const auto path = dir / "tiny-deepseek2.gguf";
  GgufWriter w(path);
  w.set("general.architecture", GgufValue::str("deepseek2"));
  w.set("general.name", GgufValue::str("tiny"));
  w.set("general.description", GgufValue::str("not UTF-8: \xff\xfe"));  // must not break the JSON output
  w.set("deepseek2.block_count", GgufValue::u32(2));
  w.set("deepseek2.embedding_length", GgufValue::u32(64));
  w.set("deepseek2.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-6f));
  w.set("deepseek2.expert_weights_norm", GgufValue::boolean(true));
  w.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::str("deepseek-v3"));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array({"a", "b", "c", "ab", "<s>"}));
  w.set("tokenizer.ggml.merges", GgufValue::string_array({"a b"}));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(4));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
  w.set("tokenizer.chat_template", GgufValue::str("{{ messages }}"));
  const auto zero = [](uint64_t, uint64_t, uint8_t*) {};
  w.add_tensor("token_embd.weight", {64, 5}, DType::F16, zero);
  w.add_tensor("blk.0.attn_q.weight", {64, 96}, DType::Q8_0, zero);
  w.add_tensor("blk.1.ffn_up_exps.weight", {256, 8, 4}, DType::Q4_K, zero);
  w.add_tensor("blk.1.ffn_up_shexp.weight", {64, 8}, DType::BF16, zero);
  w.add_tensor("output_norm.weight", {64}, DType::F32, zero);
  w.finish();
  return path;
}

TEST(InspectCli, JsonReport) {
  TempDir dir;
  const auto path = write_model(dir);
  const CommandResult r = run_command(std::string(MIXCL_BINARY) + " inspect '" + path.string() + "' --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["architecture"], "deepseek2");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["hyperparameters"]["deepseek2.block_count"], 2);
  EXPECT_EQ(j["hyperparameters"]["deepseek2.expert_weights_norm"], true);
  const double eps = j["hyperparameters"]["deepseek2.attention.layer_norm_rms_epsilon"];
  EXPECT_NEAR(eps, 1e-6, 1e-12);
  EXPECT_EQ(j["metadata"]["general.name"], "tiny");
  EXPECT_EQ(j["metadata"]["general.description"], "not UTF-8: \uFFFD\uFFFD");
  EXPECT_EQ(j["tokenizer"]["model"], "gpt2");
  EXPECT_EQ(j["tokenizer"]["pre"], "deepseek-v3");
  EXPECT_EQ(j["tokenizer"]["vocab_size"], 5);
  EXPECT_EQ(j["tokenizer"]["merges"], 1);
  EXPECT_EQ(j["tokenizer"]["bos_token_id"], 4);
  EXPECT_EQ(j["tokenizer"]["add_bos_token"], true);
  EXPECT_EQ(j["tokenizer"]["chat_template"], true);
  ASSERT_EQ(j["tensors"].size(), 5u);
  EXPECT_EQ(j["tensors"][1]["name"], "blk.0.attn_q.weight");
  EXPECT_EQ(j["tensors"][1]["dims"], nlohmann::json({64, 96}));
  EXPECT_EQ(j["tensors"][1]["type"], "Q8_0");
  EXPECT_EQ(j["tensors"][1]["bytes"], 96 * 68);
  EXPECT_EQ(j["tensors"][1]["class"], "attention");
  EXPECT_EQ(j["classes"]["routed_experts"]["params"], 256 * 8 * 4);
  EXPECT_EQ(j["classes"]["routed_experts"]["bytes"], 32 * 144);
  EXPECT_EQ(j["classes"]["shared_experts"]["bytes"], 64 * 8 * 2);
  EXPECT_EQ(j["classes"]["embedding"]["bytes"], 64 * 5 * 2);
  EXPECT_EQ(j["total"]["tensors"], 5);
  EXPECT_EQ(j["total"]["params"], 64 * 5 + 64 * 96 + 256 * 8 * 4 + 64 * 8 + 64);
}

TEST(InspectCli, TextReport) {
  TempDir dir;
  const auto path = write_model(dir);
  const CommandResult r = run_command(std::string(MIXCL_BINARY) + " inspect '" + path.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want : {"architecture:  deepseek2", "deepseek2.block_count", "u32 2", "deepseek-v3",
                           "blk.1.ffn_up_exps.weight", "{256, 8, 4}", "Q4_K", "routed_experts", "total"})
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
}

TEST(InspectCli, DamagedFileGivesOneClearError) {
  const std::string path = std::string(MIXCL_TEST_DATA_DIR) + "/gguf_damaged/bad_bool.gguf";
  const CommandResult r = run_command(std::string(MIXCL_BINARY) + " inspect '" + path + "' 2>&1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("mixcl: error: " + path + ": value of 'deepseek2.expert_weights_norm' at byte 238"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace mixcl::gguf::test
