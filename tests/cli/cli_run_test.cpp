// `mixcl run` through the binary on a tiny synthetic model: greedy output equals the argmax of eval's logits
// over the growing sequence, seeds reproduce, the closing statistics, chat turns, and error cases.
#include <gtest/gtest.h>

#include "cli_fixture.h"
#include "model/sampler/sampler.h"
#include "model/tokenizer/chat_template.h"
#include "model/tokenizer/stream_decoder.h"

namespace mixcl::cli::test {
namespace {

const std::string kPrompt = "The quick brown fox";

std::string model_arg() {
  return "-m " + shell_quote(tiny_model().path.string()) + " --threads " + std::to_string(kThreads);
}

// Greedy continuation of `prompt_ids` computed from `mixcl eval` logits of the growing sequence (stops at eos).
std::vector<int32_t> greedy_by_eval(std::vector<int32_t> seq, int n, const tokenizer::Tokenizer& tok) {
  const TinyModel& m = tiny_model();
  const size_t vocab = std::min<size_t>(m.config.n_vocab, tok.vocab_size());
  const TempDir out("greedy");
  std::vector<int32_t> generated;
  for (int i = 0; i < n; ++i) {
    const CliResult r = run_mixcl_io("eval " + model_arg() + " --tokens " + join_ids(seq) + " --logits-out " +
                                     shell_quote((out / "l").string()));
    EXPECT_EQ(r.status, 0) << r.err;
    const std::vector<float> logits = read_floats(out / "l");
    EXPECT_EQ(logits.size(), seq.size() * m.config.n_vocab);
    if (logits.size() != seq.size() * m.config.n_vocab) return {};
    const std::span<const float> last(logits.data() + (seq.size() - 1) * m.config.n_vocab, vocab);
    const int32_t id = sampler::argmax(last);
    if (tok.eos_id() && id == *tok.eos_id()) break;
    generated.push_back(id);
    seq.push_back(id);
  }
  return generated;
}

TEST(CliRun, GreedyEqualsArgmaxOfEvalLogits) {
  const tokenizer::Tokenizer tok = tiny_tokenizer();
  const std::vector<int32_t> prompt = tokenizer::encode_prompt(tok, kPrompt, true);
  const std::vector<int32_t> want = greedy_by_eval(prompt, 6, tok);
  ASSERT_FALSE(want.empty());
  const CliResult r = run_mixcl_io("run " + model_arg() + " -p " + shell_quote(kPrompt) + " -n 6 --temp 0");
  ASSERT_EQ(r.status, 0) << r.err;
  // run streams through the tokenizer's StreamDecoder (invalid UTF-8 becomes U+FFFD), then a newline.
  tokenizer::StreamDecoder decoder(tok, /*render_special=*/false);
  std::string text;
  for (int32_t id : want) text += decoder.push(id);
  text += decoder.finish();
  EXPECT_EQ(r.out, text + "\n");
  const CliResult again =
      run_mixcl_io("run " + model_arg() + " -p " + shell_quote(kPrompt) + " -n 6 --temp 0 --seed 99");
  EXPECT_EQ(again.out, r.out);  // greedy ignores the seed
}

TEST(CliRun, EndsWithSpeedAndMemoryOnStderr) {
  const CliResult r = run_mixcl_io("run " + model_arg() + " -p " + shell_quote(kPrompt) + " -n 4 --seed 3");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* part : {"prompt: ", "tokens/s", "generation: ", "time to first token: ", "memory host: weights",
                           "KV cache", "seed 3"})
    EXPECT_NE(r.err.find(part), std::string::npos) << part << "\n" << r.err;
  EXPECT_EQ(r.out.find("mixcl:"), std::string::npos) << "stdout holds only the text";
}

TEST(CliRun, SeedsReproduce) {
  const auto run = [&](int seed) {
    const CliResult r =
        run_mixcl_io("run " + model_arg() + " -p " + shell_quote(kPrompt) +
                     " -n 16 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed " + std::to_string(seed));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  const std::string a = run(5);
  EXPECT_EQ(run(5), a);
  EXPECT_NE(run(6), a);  // 16 draws from a wide distribution: equal outputs would mean the seed is ignored
}

TEST(CliRun, ChatKeepsTheCacheAcrossTurns) {
  const tokenizer::Tokenizer tok = tiny_tokenizer();
  const tokenizer::ChatTemplate tmpl = tokenizer::ChatTemplate::detect(tok.data());
  const std::vector<tokenizer::ChatMessage> first = {{"user", "hello there"}};
  const std::string formatted = tmpl.format(first, true);
  // The first reply of a greedy chat equals a plain greedy run on the formatted conversation.
  const CliResult plain = run_mixcl_io("run " + model_arg() + " -p " + shell_quote(formatted) + " -n 6 --temp 0");
  ASSERT_EQ(plain.status, 0) << plain.err;
  const CliResult chat = run_mixcl_io("run " + model_arg() + " --chat -n 6 --temp 0", "hello there\nand again\n");
  ASSERT_EQ(chat.status, 0) << chat.err;
  ASSERT_EQ(chat.out.compare(0, plain.out.size(), plain.out), 0) << chat.out << "\n---\n" << plain.out;
  // Two turns: two replies, each ended by a newline; the prompt count covers both turns.
  EXPECT_GT(chat.out.size(), plain.out.size());
  EXPECT_NE(chat.err.find("chat template: deepseek-v2"), std::string::npos) << chat.err;
  // A context that the second turn overflows gives the context error.
  const size_t first_turn = tokenizer::encode_prompt(tok, formatted, true).size() + 6;
  const CliResult full =
      run_mixcl_io("run " + model_arg() + " --chat -n 6 --temp 0 -c " + std::to_string(first_turn + 2),
                   "hello there\nand again, a longer second message\n");
  EXPECT_NE(full.status, 0);
  EXPECT_NE(full.err.find("context full"), std::string::npos) << full.err;
}

TEST(CliRun, Errors) {
  const TempDir out("runerr");
  const auto expect_error = [&](const std::string& args, const std::string& message) {
    const CliResult r = run_mixcl_io(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  };
  expect_error("run -m " + shell_quote((out / "missing.gguf").string()) + " -p hi", "not found");
  expect_error("run " + model_arg() + " -p ''", "empty prompt");
  expect_error("run " + model_arg(), "empty prompt");
  expect_error("run " + model_arg() + " -p " + shell_quote(kPrompt) + " -c 3", "context full");
  // Room for the prompt but not for -n: text comes out, then the error.
  const tokenizer::Tokenizer tok = tiny_tokenizer();
  const size_t n_prompt = tokenizer::encode_prompt(tok, kPrompt, true).size();
  expect_error("run " + model_arg() + " -p " + shell_quote(kPrompt) + " --temp 0 --min-p 0 -n 20 -c " +
                   std::to_string(n_prompt + 2),
               "context full after");
  expect_error("run " + model_arg() + " -p hi --top-p 0", "top-p");
  expect_error("run " + model_arg() + " -p hi --kv-type q8", "--kv-type q8");
  expect_error("run " + model_arg() + " -p hi --weight-memory hugepages", "--weight-memory hugepages");
}

TEST(CliRun, HugePageWeightsGenerateTheSameTextAndAreReportedAsCopies) {
  const std::string args = "run " + model_arg() + " -p " + shell_quote(kPrompt) + " -n 8 --temp 0";
  const CliResult mapped = run_mixcl_io(args + " --weight-memory mapped");
  const CliResult copied = run_mixcl_io(args + " --weight-memory huge_pages");
  ASSERT_EQ(mapped.status, 0) << mapped.err;
  ASSERT_EQ(copied.status, 0) << copied.err;
  EXPECT_EQ(copied.out, mapped.out);
  EXPECT_NE(mapped.err.find("mapped from the file"), std::string::npos) << mapped.err;
  EXPECT_EQ(copied.err.find("mapped from the file"), std::string::npos) << copied.err;
}

}  // namespace
}  // namespace mixcl::cli::test
