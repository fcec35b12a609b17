// One executor on the host: batch sizes, chunked calls, truncation, context overflow and bad tokens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "executor_test_util.h"

namespace mixcl::scheduler::test {
namespace {

using ::testing::HasSubstr;

// F32 cache: with int8-quantized activations (the host kernels for quantized weights) an F16 cache's rounding
// is amplified to ~1% of the logit range, which would hide real differences; F16 is checked on its own.
ExecutorOptions options(uint32_t batch, uint32_t context = 64) {
  ExecutorOptions o;
  o.batch = batch;
  o.context = context;
  o.kv_type = DType::F32;
  return o;
}

// The default storage mix (K-quants where rows allow) on tiny-v3: q-LoRA, sigmoid + bias, groups, 2 dense blocks.
const gguf::GgufFile& quant_v3() {
  static const gguf::GgufFile f = gguf::GgufFile::open(synth_model("v3-quant", "tiny-v3", synth::TypeChoice{}));
  return f;
}

TEST(ExecutorBatch, OneBatchEqualsDecodeAndOddBatches) {
  const auto& file = quant_v3();
  const auto tokens = test_tokens(13, arch::from_gguf(file).n_vocab);
  const RunOutput whole = run_model(file, {&host()}, options(64), tokens, tokens.size());
  ASSERT_EQ(whole.logits.size(), tokens.size() * arch::from_gguf(file).n_vocab);
  ASSERT_EQ(whole.routes.size(), 2u);  // 4 blocks, 2 dense
  ASSERT_EQ(whole.routes[0].size(), tokens.size());
  for (const auto& r : whole.routes[0]) {
    ASSERT_EQ(r.size(), 4u);
    EXPECT_TRUE(std::is_sorted(r.begin(), r.end()));
  }
  // Decode one token per call, and batches of odd sizes inside one call.
  expect_same(whole, run_model(file, {&host()}, options(1), tokens, 1), 1e-4, "one token per call");
  expect_same(whole, run_model(file, {&host()}, options(3), tokens, tokens.size()), 1e-4, "batch 3");
  expect_same(whole, run_model(file, {&host()}, options(5), tokens, 7), 1e-4, "batch 5, calls of 7");
}

TEST(ExecutorBatch, LastLogitsAreTheLastRowOfAll) {
  const auto& file = quant_v3();
  const uint32_t V = arch::from_gguf(file).n_vocab;
  const auto tokens = test_tokens(6, V);
  Executor a(file, {&host()}, options(4)), b(file, {&host()}, options(4));
  ForwardRequest all;
  all.all_logits = true;
  const auto ra = a.forward(tokens, all);
  const auto rb = b.forward(tokens);
  ASSERT_EQ(rb.logits.size(), V);
  EXPECT_TRUE(rb.routes.empty());
  const std::vector<float> last(ra.logits.end() - V, ra.logits.end());
  EXPECT_EQ(max_abs_diff(last, rb.logits), 0.0);
  EXPECT_EQ(a.position(), 6u);
  EXPECT_EQ(b.position(), 6u);
}

TEST(ExecutorBatch, TruncateThenRerunEqualsOriginal) {
  const auto& file = quant_v3();
  const uint32_t V = arch::from_gguf(file).n_vocab;
  const auto tokens = test_tokens(9, V, 5);
  Executor ex(file, {&host()}, options(4, 32));
  ForwardRequest req;
  req.all_logits = req.routes = true;
  RunOutput first;
  append(first, ex.forward(tokens, req));
  // Replace the tail with other tokens, then go back and redo the original tail.
  ex.truncate(5);
  EXPECT_EQ(ex.position(), 5u);
  ex.forward(test_tokens(3, V, 99));
  ex.truncate(5);
  RunOutput tail;
  append(tail, ex.forward(std::span(tokens).subspan(5), req));
  RunOutput want;
  want.logits.assign(first.logits.begin() + 5 * V, first.logits.end());
  for (const auto& layer : first.routes) want.routes.emplace_back(layer.begin() + 5, layer.end());
  expect_same(want, tail, 1e-5, "after truncate(5)");
  // From scratch.
  ex.truncate(0);
  RunOutput again;
  append(again, ex.forward(tokens, req));
  expect_same(first, again, 1e-5, "after truncate(0)");
  EXPECT_THROW(ex.truncate(10), Error);
}

TEST(ExecutorBatch, ContextOverflowNamesTheNumbersAndAppendsNothing) {
  const auto& file = quant_v3();
  const uint32_t V = arch::from_gguf(file).n_vocab;
  const auto tokens = test_tokens(8, V, 11);
  Executor ex(file, {&host()}, options(4, 8));
  EXPECT_EQ(ex.context(), 8u);
  ex.forward(std::span(tokens).first(6));
  try {
    ex.forward(std::span(tokens).subspan(5, 3));
    FAIL() << "no error past the context";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr("8 positions"));
    EXPECT_THAT(msg, HasSubstr("-c"));
    EXPECT_THAT(msg, HasSubstr("6 are in use"));
    EXPECT_THAT(msg, HasSubstr("3 more tokens"));
  }
  EXPECT_EQ(ex.position(), 6u);
  // The cache is intact: filling it to the end gives what one full run gives.
  const auto r = ex.forward(std::span(tokens).subspan(6, 2));
  Executor fresh(file, {&host()}, options(8, 8));
  const auto want = fresh.forward(tokens);
  EXPECT_LE(max_abs_diff(r.logits, want.logits), 1e-4 * value_range(want.logits));
  EXPECT_EQ(ex.position(), 8u);
  EXPECT_THROW(ex.forward(std::span(tokens).first(1)), Error);
}

TEST(ExecutorBatch, OutOfRangeTokenIsAnErrorAndAppendsNothing) {
  const auto& file = quant_v3();
  const uint32_t V = arch::from_gguf(file).n_vocab;
  Executor ex(file, {&host()}, options(4, 16));
  for (int32_t bad : {static_cast<int32_t>(V), -1}) {
    const std::vector<int32_t> tokens{1, 2, bad};
    try {
      ex.forward(tokens);
      FAIL() << "token " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("token id " + std::to_string(bad)));
      EXPECT_THAT(e.what(), HasSubstr("index 2"));
      EXPECT_THAT(e.what(), HasSubstr(std::to_string(V)));
    }
    EXPECT_EQ(ex.position(), 0u);
  }
  EXPECT_TRUE(ex.forward({}).logits.empty());
}

TEST(ExecutorBatch, BadOptionsAreErrors) {
  const auto& file = quant_v3();
  ExecutorOptions o = options(0);
  EXPECT_THROW(Executor(file, {&host()}, o), Error);
  o = options(4, 0);
  EXPECT_THROW(Executor(file, {&host()}, o), Error);
  o = options(4);
  o.kv_type = DType::Q8_0;
  EXPECT_THROW(Executor(file, {&host()}, o), Error);
  o = options(4);
  o.placement = place_all_on(3);
  try {
    Executor ex(file, {&host()}, o);
    FAIL() << "placement on a missing device accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("on device 3"));
  }
}

}  // namespace
}  // namespace mixcl::scheduler::test
