// `mixcl eval` through the binary on a tiny synthetic model: the logits file (size and values equal to the
// Executor's called directly), routes.json structure and content, error cases and no half-written files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_fixture.h"
#include "model/tokenizer/chat_template.h"

namespace mixcl::cli::test {
namespace {

std::vector<int32_t> sample_tokens() {
  const tokenizer::Tokenizer tok = tiny_tokenizer();
  return tokenizer::encode_prompt(tok, "The quick brown fox jumps over the lazy dog.", true);
}

std::string model_arg() {
  return "-m " + shell_quote(tiny_model().path.string()) + " --threads " + std::to_string(kThreads);
}

TEST(CliEval, LogitsAndRoutesEqualTheExecutor) {
  const TinyModel& m = tiny_model();
  const std::vector<int32_t> tokens = sample_tokens();
  ASSERT_GE(tokens.size(), 8u);
  const TempDir out("eval");
  // -b 3 splits the sequence into several forward steps inside the executor.
  const CliResult r = run_mixcl_io("eval " + model_arg() + " -b 3 --tokens " + join_ids(tokens) +
                                   " --logits-out " + shell_quote((out / "l.f32").string()) +
                                   " --routes-out " + shell_quote((out / "r.json").string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "l.f32.tmp"));

  const std::vector<float> logits = read_floats(out / "l.f32");
  ASSERT_EQ(fs::file_size(out / "l.f32"), tokens.size() * m.config.n_vocab * sizeof(float));
  const scheduler::ForwardResult want = forward_in_process(tokens);
  ASSERT_EQ(want.logits.size(), logits.size());
  size_t differing = 0;
  float max_diff = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    ASSERT_TRUE(std::isfinite(logits[i])) << i;
    differing += logits[i] != want.logits[i];
    max_diff = std::max(max_diff, std::abs(logits[i] - want.logits[i]));
  }
  // The same executor on the same device and threads: the same numbers (batching does not change them
  // beyond float rounding of a different split).
  EXPECT_LT(max_diff, 1e-3f) << differing << " of " << logits.size() << " differ";

  const nlohmann::json j = nlohmann::json::parse(read_file(out / "r.json"));
  EXPECT_EQ(j.at("n_tokens"), tokens.size());
  EXPECT_EQ(j.at("n_expert"), m.config.n_expert);
  EXPECT_EQ(j.at("n_expert_used"), m.config.n_expert_used);
  EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), tokens);
  const auto& layers = j.at("layers");
  ASSERT_EQ(layers.size(), m.config.n_layer - m.config.n_dense);
  ASSERT_EQ(want.routes.size(), layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    EXPECT_EQ(layers[l].at("layer"), m.config.n_dense + l);
    const auto experts = layers[l].at("experts").get<std::vector<std::vector<int32_t>>>();
    ASSERT_EQ(experts.size(), tokens.size());
    for (const auto& ids : experts) {
      ASSERT_EQ(ids.size(), m.config.n_expert_used);
      for (size_t k = 0; k < ids.size(); ++k) {
        EXPECT_GE(ids[k], 0);
        EXPECT_LT(ids[k], static_cast<int32_t>(m.config.n_expert));
        if (k > 0) {
          EXPECT_LT(ids[k - 1], ids[k]);  // sorted, distinct
        }
      }
    }
    EXPECT_EQ(experts, want.routes[l]) << "layer " << m.config.n_dense + l;
  }
}

TEST(CliEval, OneBatchEqualsTheExecutorExactly) {
  const std::vector<int32_t> tokens = sample_tokens();
  const TempDir out("eval1");
  const CliResult r = run_mixcl_io("eval " + model_arg() + " --tokens " + join_ids(tokens) +
                                   " --logits-out " + shell_quote((out / "l.f32").string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_floats(out / "l.f32"), forward_in_process(tokens).logits);
}

TEST(CliEval, TokensFileTakesCommasAndWhitespace) {
  const std::vector<int32_t> tokens = sample_tokens();
  const TempDir out("evalfile");
  std::string text;
  for (size_t i = 0; i < tokens.size(); ++i) text += std::to_string(tokens[i]) + (i % 3 == 0 ? ",\n" : " \t");
  std::ofstream(out / "t.txt") << text;
  const CliResult a =
      run_mixcl_io("eval " + model_arg() + " --tokens-file " + shell_quote((out / "t.txt").string()) +
                   " --logits-out " + shell_quote((out / "a.f32").string()));
  ASSERT_EQ(a.status, 0) << a.err;
  const CliResult b = run_mixcl_io("eval " + model_arg() + " --tokens " + join_ids(tokens) +
                                   " --logits-out " + shell_quote((out / "b.f32").string()));
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(read_file(out / "a.f32"), read_file(out / "b.f32"));
}

TEST(CliEval, ErrorsAreClearAndLeaveNoFile) {
  const TinyModel& m = tiny_model();
  const TempDir out("evalerr");
  const std::string logits = " --logits-out " + shell_quote((out / "l.f32").string());
  const auto expect_error = [&](const std::string& args, const std::string& message) {
    const CliResult r = run_mixcl_io(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out / "l.f32")) << args;
    EXPECT_FALSE(fs::exists(out / "l.f32.tmp")) << args;
  };
  expect_error("eval -m " + shell_quote((out / "missing.gguf").string()) + " --tokens 1" + logits, "not found");
  expect_error("eval " + model_arg() + " --tokens 1," + std::to_string(m.config.n_vocab) + logits,
               "out of range");
  expect_error("eval " + model_arg() + " --tokens 1,x2" + logits, "is not a token id");
  expect_error("eval " + model_arg() + " --tokens , " + logits, "empty prompt");
  expect_error("eval " + model_arg() + " -c 2 --tokens 1,2,3" + logits, "context full");
  expect_error("eval " + model_arg() + " --tokens 1,2", "nothing to write");
  expect_error("eval " + model_arg() + " --tokens 1 --device cl9.9" + logits, "no such device");
  // A GGUF of another architecture: the same file with every "deepseek2" renamed (keys stay consistent).
  std::string bytes = read_file(m.path);
  for (size_t at = bytes.find("deepseek2"); at != std::string::npos; at = bytes.find("deepseek2", at))
    bytes.replace(at, 9, "otherarch");
  std::ofstream(out / "other.gguf", std::ios::binary) << bytes;
  expect_error("eval -m " + shell_quote((out / "other.gguf").string()) + " --tokens 1" + logits, "'otherarch'");
  // An output folder that does not exist: a clear error, nothing left behind.
  const CliResult r = run_mixcl_io("eval " + model_arg() + " --tokens 1,2 --logits-out " +
                                   shell_quote((out / "no" / "l.f32").string()));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("cannot create"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mixcl::cli::test
