// Prefill-then-decode, batch splitting, truncation and the context limit against one-shot prefill; the
// OpenCL device, a mixed host + OpenCL split and a two-OpenCL-device split against the reference.
#include <gtest/gtest.h>

#include <vector>

#include "common/error.h"
#include "tests/model_forward/engine_expect.h"

namespace mixcl::test {
namespace {

// Same arithmetic in a different call pattern: decode (one token per call) and batch splits may reorder a
// few float sums; far below the reference bounds.
constexpr double kSameEngineBound = 1e-4;
constexpr double kF32Bound = 1e-3;

void expect_same_run(const EngineRun& a, const EngineRun& b, size_t vocab, const std::string& label) {
  ASSERT_EQ(a.logits.size(), b.logits.size()) << label;
  EXPECT_EQ(a.routes, b.routes) << label << ": expert choices differ";
  const double d = max_rel_difference(a.logits, b.logits, vocab);
  std::printf("[measure] %-40s max_rel vs one-shot %.3e\n", label.c_str(), d);
  EXPECT_LE(d, kSameEngineBound) << label;
}

// Prefill 10 tokens, then 6 single-token decode steps (positions 10..15).
const std::vector<size_t> kPrefillDecode = {10, 1, 1, 1, 1, 1, 1};

class DecodeVsPrefill : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(DecodeVsPrefill, PrefillThenDecodeEqualsOneShot) {
  const auto [variant, mix] = GetParam();
  const LoadedModel& m = loaded(model_case(variant, mix));
  const std::string label = std::string(variant) + "/" + mix;
  const EngineRun one_shot = run_engine(m, {&host_device()}, executor_options(64, 512, DType::F32));
  const EngineRun decode = run_engine(m, {&host_device()}, executor_options(64, 512, DType::F32), kPrefillDecode);
  expect_same_run(one_shot, decode, m.written.n_vocab, label + " prefill+decode");
  // Batches of 5 (the -b split inside one forward call) and uneven chunks.
  const EngineRun batched = run_engine(m, {&host_device()}, executor_options(64, 5, DType::F32));
  expect_same_run(one_shot, batched, m.written.n_vocab, label + " batch=5");
  const std::vector<size_t> uneven = {3, 7, 2, 4};
  const EngineRun chunks = run_engine(m, {&host_device()}, executor_options(64, 4, DType::F32), uneven);
  expect_same_run(one_shot, chunks, m.written.n_vocab, label + " chunks 3/7/2/4 batch=4");
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeVsPrefill,
                         ::testing::Values(std::make_pair("tiny-v3", "f32"), std::make_pair("tiny-v2-lite", "default"),
                                           std::make_pair("legacy-mla", "q8_0")),
                         [](const auto& info) {
                           std::string n = std::string(info.param.first) + "_" + info.param.second;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(ExecutorCache, TruncateThenReplayEqualsOneShot) {
  const LoadedModel& m = loaded(model_case("tiny-kimi-k2", "f32"));
  scheduler::Executor ex(m.file, {&host_device()}, executor_options(64, 512, DType::F32));
  const EngineRun full = run_chunks(ex, m.tokens);
  EXPECT_EQ(ex.position(), m.tokens.size());
  ex.truncate(9);
  EXPECT_EQ(ex.position(), 9u);
  const EngineRun tail = run_chunks(ex, std::span(m.tokens).subspan(9));
  const size_t vocab = m.written.n_vocab;
  EngineRun expected;
  expected.logits.assign(full.logits.begin() + 9 * vocab, full.logits.end());
  for (const auto& layer : full.routes) expected.routes.emplace_back(layer.begin() + 9, layer.end());
  expect_same_run(expected, tail, vocab, "tiny-kimi-k2/f32 truncate(9)+replay");
  ex.truncate(0);
  const EngineRun again = run_chunks(ex, m.tokens);
  expect_same_run(full, again, vocab, "tiny-kimi-k2/f32 truncate(0)+replay");
}

TEST(ExecutorCache, ContextOverflowThrowsAndAppendsNothing) {
  const LoadedModel& m = loaded(model_case("tiny-moonlight", "f32"));
  scheduler::Executor ex(m.file, {&host_device()}, executor_options(12, 512, DType::F32));
  EXPECT_EQ(ex.context(), 12u);
  const std::span<const int32_t> t(m.tokens);
  ex.forward(t.first(10));
  EXPECT_THROW(ex.forward(t.subspan(10, 3)), Error);
  EXPECT_EQ(ex.position(), 10u) << "a refused forward must not append to the cache";
  // The cache is intact: the next two positions match a run that never overflowed.
  scheduler::ForwardRequest all;
  all.all_logits = true;
  const auto r = ex.forward(t.subspan(10, 2), all);
  scheduler::Executor fresh(m.file, {&host_device()}, executor_options(12, 512, DType::F32));
  const auto expected = fresh.forward(t.first(12), all);
  const size_t vocab = m.written.n_vocab;
  const std::vector<float> tail(expected.logits.end() - 2 * vocab, expected.logits.end());
  EXPECT_LE(max_rel_difference(tail, r.logits, vocab), kSameEngineBound);
  EXPECT_THROW(ex.forward(t.first(1)), Error);  // full now
}

TEST(ExecutorCache, TokenOutOfRangeThrows) {
  const LoadedModel& m = loaded(model_case("tiny-moonlight", "f32"));
  scheduler::Executor ex(m.file, {&host_device()}, executor_options(16, 512, DType::F32));
  const std::vector<int32_t> bad = {1, static_cast<int32_t>(m.written.n_vocab)};
  EXPECT_THROW(ex.forward(bad), Error);
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(ex.forward(negative), Error);
  EXPECT_EQ(ex.position(), 0u);
}

TEST(ExecutorCache, LastLogitsOnlyEqualsLastRowOfAll) {
  const LoadedModel& m = loaded(model_case("tiny-sqrt-softplus", "f32"));
  scheduler::Executor a(m.file, {&host_device()}, executor_options(64, 512, DType::F32));
  scheduler::Executor b(m.file, {&host_device()}, executor_options(64, 512, DType::F32));
  const auto last = a.forward(m.tokens);
  scheduler::ForwardRequest all;
  all.all_logits = true;
  const auto every = b.forward(m.tokens, all);
  const size_t vocab = m.written.n_vocab;
  ASSERT_EQ(last.logits.size(), vocab);
  ASSERT_EQ(every.logits.size(), m.tokens.size() * vocab);
  const std::vector<float> tail(every.logits.end() - vocab, every.logits.end());
  EXPECT_LE(max_rel_difference(tail, last.logits, vocab), kSameEngineBound);
  EXPECT_TRUE(last.routes.empty()) << "routes were not asked for";
}

// ---- OpenCL (PoCL) and splits -------------------------------------------------------------------------

class DeviceForward : public ::testing::TestWithParam<std::pair<const char*, const char*>> {
 protected:
  void SetUp() override {
    if (opencl_devices().size() < 2) GTEST_SKIP() << "needs two OpenCL devices (PoCL with POCL_DEVICES)";
  }
};

// F32 weights: the bound on each device arrangement; KV cache F32.
TEST_P(DeviceForward, OpenCLAndSplitsMatchReference) {
  const auto [variant, mix] = GetParam();
  const LoadedModel& m = loaded(model_case(variant, mix));
  const auto cl = opencl_devices();
  const std::string name = std::string(variant) + "/" + mix;
  const uint32_t layers = m.written.n_layer;
  const EngineRun one = run_engine(m, {cl[0]}, executor_options(64, 512, DType::F32));
  expect_matches_reference(m, one, kF32Bound, 0.0, name + " opencl");
  const EngineRun mixed = run_engine(m, {&host_device(), cl[0]},
                                     executor_options(64, 512, DType::F32, scheduler::place_layers_split(layers, 2)));
  expect_matches_reference(m, mixed, kF32Bound, 0.0, name + " host+opencl split");
  const EngineRun two = run_engine(m, {cl[0], cl[1]},
                                   executor_options(64, 512, DType::F32, scheduler::place_layers_split(layers, 2)),
                                   kPrefillDecode);
  expect_matches_reference(m, two, kF32Bound, 0.0, name + " opencl+opencl split, decode");
}

INSTANTIATE_TEST_SUITE_P(Models, DeviceForward,
                         ::testing::Values(std::make_pair("tiny-v3", "f32"), std::make_pair("legacy-mla", "f32")),
                         [](const auto& info) {
                           std::string n = std::string(info.param.first) + "_" + info.param.second;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace mixcl::test
