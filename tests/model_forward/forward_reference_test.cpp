// The executor on the host against the double-precision reference, position by position: F32 weights on every
// variant, then the quantized storage mixes with their per-format bounds and the near-tie policy.
#include <gtest/gtest.h>

#include "tests/model_forward/engine_expect.h"

namespace mixcl::test {
namespace {

std::string test_name(std::string s) {
  for (char& ch : s)
    if (ch == '-' || ch == '/') ch = '_';
  return s;
}

// F32 weights with an F16 KV cache: 1.8x the largest measured error, 4.45e-4 (docs/model_check.md).
constexpr double kF16CacheBound = 8e-4;

class F32Forward : public ::testing::TestWithParam<std::string> {};

// KV cache in F32 so the only differences are float arithmetic.
TEST_P(F32Forward, HostMatchesReference) {
  const LoadedModel& m = loaded(model_case(GetParam(), "f32"));
  const EngineRun run = run_engine(m, {&host_device()}, executor_options(64, 512, DType::F32));
  const MixBound b = mix_bound("f32");
  expect_matches_reference(m, run, b.logit_rel, b.tie_eps, GetParam() + "/f32 host kv=f32");
}

// The default F16 KV cache on F32 weights: the cache rounding alone (latent and rotary key to 11 bits).
TEST(F16Cache, F32WeightsStayNearReference) {
  for (const char* variant : {"tiny-v3", "legacy-mla"}) {
    const LoadedModel& m = loaded(model_case(variant, "f32"));
    const EngineRun run = run_engine(m, {&host_device()}, executor_options(64, 512, DType::F16));
    expect_matches_reference(m, run, kF16CacheBound, 0.0, std::string(variant) + "/f32 host kv=f16");
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, F32Forward, ::testing::ValuesIn(variant_names()),
                         [](const auto& info) { return test_name(info.param); });

struct QuantCase {
  std::string variant, mix;
};

// Names the case in test listings instead of GoogleTest's byte dump.
void PrintTo(const QuantCase& c, std::ostream* os) { *os << c.variant << "/" << c.mix; }

std::vector<QuantCase> quant_cases() {
  std::vector<QuantCase> cases;
  for (const auto& v : variant_names()) cases.push_back({v, "q8_0"});
  for (const auto& v : variant_names()) cases.push_back({v, "default"});
  for (const char* mix : {"experts-q2_k", "experts-q3_k", "experts-mxfp4", "experts-q5_k", "experts-q6_k"})
    cases.push_back({"tiny-v3", mix});
  return cases;
}

class QuantForward : public ::testing::TestWithParam<QuantCase> {};

// The engine's default F16 KV cache: the bound covers what a user runs.
TEST_P(QuantForward, HostMatchesReferenceOfDequantizedWeights) {
  const QuantCase& q = GetParam();
  const LoadedModel& m = loaded(model_case(q.variant, q.mix));
  const MixBound b = mix_bound(q.mix);
  const EngineRun run = run_engine(m, {&host_device()}, executor_options(64, 512, DType::F16));
  expect_matches_reference(m, run, b.logit_rel, b.tie_eps, q.variant + "/" + q.mix + " host kv=f16");
}

INSTANTIATE_TEST_SUITE_P(Mixes, QuantForward, ::testing::ValuesIn(quant_cases()),
                         [](const auto& info) { return test_name(info.param.variant + "_" + info.param.mix); });

}  // namespace
}  // namespace mixcl::test
