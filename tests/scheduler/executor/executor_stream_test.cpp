// Prefill expert streaming: host-resident routed experts copied to a PoCL device for large batches give the
// host's logits and routes, single tokens keep them on the host, the counters say what streamed, and bad
// streaming options are clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "executor_test_util.h"

namespace mixcl::scheduler::test {
namespace {

using ::testing::HasSubstr;

const gguf::GgufFile& f32_v3() {
  static const gguf::GgufFile f = gguf::GgufFile::open(synth_model("v3-f32-stream", "tiny-v3", all_f32()));
  return f;
}

ExpertStreaming every_moe_layer(const arch::Deepseek2Config& c, size_t device, uint32_t min_batch) {
  ExpertStreaming s;
  s.device = device;
  s.min_batch = min_batch;
  s.layers.assign(c.n_layer, false);
  for (uint32_t l = c.n_dense; l < c.n_layer; ++l) s.layers[l] = true;
  return s;
}

ExecutorOptions base(uint32_t batch) {
  ExecutorOptions o;
  o.context = 40;
  o.batch = batch;
  return o;
}

TEST(ExecutorStream, BatchesStreamSingleTokensDoNotAndTheLogitsMatchTheHost) {
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty()) << "needs a PoCL device";
  const auto& file = f32_v3();
  const auto c = arch::from_gguf(file);
  const uint32_t moe_layers = c.n_layer - c.n_dense;
  ASSERT_GT(moe_layers, 0u);
  const auto tokens = test_tokens(11, c.n_vocab, 5);
  const RunOutput on_host = run_model(file, {&host()}, base(5), tokens, 5);

  // Everything on the host, experts streamed to the PoCL device: chunks 5, 5, 1 -> two streamed batches.
  ExecutorOptions o = base(5);
  o.placement = place_all_on(0);
  o.stream_experts = every_moe_layer(c, 1, 4);
  ExecutorStats stats;
  const RunOutput streamed = run_model(file, {&host(), cl[0]}, o, tokens, 5, &stats);
  expect_same(on_host, streamed, 1e-3, "experts streamed to PoCL");
  EXPECT_EQ(stats.streamed_steps, 2u * moe_layers);
  EXPECT_NE(max_abs_diff(on_host.logits, streamed.logits), 0.0) << "PoCL's rounding differs: the experts ran there";

  // Below the threshold nothing streams.
  o.stream_experts.min_batch = 6;
  ExecutorStats none;
  const RunOutput kept = run_model(file, {&host(), cl[0]}, o, tokens, 5, &none);
  EXPECT_EQ(none.streamed_steps, 0u);
  EXPECT_EQ(kept.logits, on_host.logits) << "the same host arithmetic";
}

TEST(ExecutorStream, StreamsBesideASharedExpertOnTheAccelerator) {
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty()) << "needs a PoCL device";
  const auto& file = f32_v3();
  const auto c = arch::from_gguf(file);
  const auto tokens = test_tokens(9, c.n_vocab, 6);
  const RunOutput on_host = run_model(file, {&host()}, base(4), tokens, 4);
  for (bool overlap : {true, false}) {
    ExecutorOptions o = base(4);
    o.overlap_host_experts = overlap;
    // Devices {cl, host}: routed experts (and their router) on the host, the rest on PoCL.
    o.placement = [](std::string_view name) -> size_t { return name.find("_exps.") != std::string_view::npos ? 1 : 0; };
    o.stream_experts = every_moe_layer(c, 0, 4);
    ExecutorStats stats;
    expect_same(on_host, run_model(file, {cl[0], &host()}, o, tokens, 4, &stats), 1e-3,
                overlap ? "streamed, overlap on" : "streamed, overlap off");
    EXPECT_EQ(stats.streamed_steps, 2u * (c.n_layer - c.n_dense)) << "chunks 4, 4 stream; the last token does not";
  }
}

std::string build_error(const gguf::GgufFile& file, std::vector<backend::Device*> devices, ExecutorOptions o) {
  try {
    Executor ex(file, std::move(devices), std::move(o));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ExecutorStream, BadOptionsAreClearErrors) {
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty()) << "needs a PoCL device";
  const auto& file = f32_v3();
  const auto c = arch::from_gguf(file);
  ExecutorOptions o = base(4);
  o.placement = place_all_on(0);
  o.stream_experts = every_moe_layer(c, 0, 4);  // device 0 is the host
  EXPECT_THAT(build_error(file, {&host(), cl[0]}, o), AllOf(HasSubstr("host"), HasSubstr("accelerator")));
  o.stream_experts = every_moe_layer(c, 1, 4);
  ASSERT_GT(c.n_dense, 0u);
  o.stream_experts.layers[0] = true;  // a dense layer
  EXPECT_THAT(build_error(file, {&host(), cl[0]}, o), AllOf(HasSubstr("block 0"), HasSubstr("dense")));
  o.stream_experts = every_moe_layer(c, 1, 4);
  o.placement = place_all_on(1);  // experts already on the accelerator
  EXPECT_THAT(build_error(file, {&host(), cl[0]}, o), HasSubstr("not in host DRAM"));
  o.stream_experts.device = 5;
  EXPECT_THAT(build_error(file, {&host(), cl[0]}, o), HasSubstr("device 5"));
}

}  // namespace
}  // namespace mixcl::scheduler::test
