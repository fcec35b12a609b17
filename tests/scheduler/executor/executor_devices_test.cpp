// The same model on the host, on a PoCL device, split over two PoCL devices and mixed host + PoCL (shared experts
// apart from routed ones); F16 against F32 cache; memory report and bytes per token.
#include <gtest/gtest.h>

#include <map>

#include "executor_test_util.h"
#include "model/arch/tensor_class.h"

namespace mixcl::scheduler::test {
namespace {

ExecutorOptions options(uint32_t batch, DType kv = DType::F32) {
  ExecutorOptions o;
  o.batch = batch;
  o.context = 32;
  o.kv_type = kv;
  return o;
}

// F32 weights: every device computes the same function up to float rounding.
const gguf::GgufFile& f32_v2() {
  static const gguf::GgufFile f = gguf::GgufFile::open(synth_model("v2-f32", "tiny-v2", all_f32()));
  return f;
}

TEST(ExecutorDevices, HostOpenCLSplitAndMixedAgree) {
  const auto cl = cl_devices();
  ASSERT_GE(cl.size(), 2u) << "POCL_DEVICES=\"pthread pthread\" should expose two PoCL devices";
  const auto& file = f32_v2();
  const auto c = arch::from_gguf(file);
  const auto tokens = test_tokens(9, c.n_vocab, 4);
  const RunOutput on_host = run_model(file, {&host()}, options(4), tokens, 5);
  expect_same(on_host, run_model(file, {cl[0]}, options(4), tokens, 5), 1e-3, "one PoCL device");
  ExecutorOptions split = options(4);
  split.placement = place_layers_split(c.n_layer, 2);
  expect_same(on_host, run_model(file, {cl[0], cl[1]}, split, tokens, 5), 1e-3, "split over two PoCL devices");
  // Attention and routed experts on PoCL, shared experts, embedding and head on the host.
  ExecutorOptions mixed = options(4);
  mixed.placement = [](std::string_view name) -> size_t {
    if (name.find("shexp") != std::string_view::npos || name.rfind("blk.", 0) != 0) return 0;
    return 1;
  };
  expect_same(on_host, run_model(file, {&host(), cl[0]}, mixed, tokens, 5), 1e-3, "host + PoCL");
  // Decode one token at a time across devices too.
  expect_same(on_host, run_model(file, {cl[0], cl[1]}, split, tokens, 1), 1e-3, "split, token by token");
}

TEST(ExecutorDevices, F16CacheIsCloseToF32) {
  const auto& file = f32_v2();
  const auto tokens = test_tokens(12, arch::from_gguf(file).n_vocab, 8);
  const RunOutput f32 = run_model(file, {&host()}, options(5), tokens, tokens.size());
  const RunOutput f16 = run_model(file, {&host()}, options(5, DType::F16), tokens, tokens.size());
  const double range = value_range(f32.logits), diff = max_abs_diff(f32.logits, f16.logits);
  EXPECT_LE(diff, 2e-3 * range);
  EXPECT_GT(diff, 0.0) << "an F16 cache should round something";
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty());
  const RunOutput cl16 = run_model(file, {cl[0]}, options(5, DType::F16), tokens, tokens.size());
  EXPECT_LE(max_abs_diff(f16.logits, cl16.logits), 2e-3 * range);
}

TEST(ExecutorDevices, MemoryReportAndBytesPerToken) {
  const auto& file = f32_v2();
  const auto c = arch::from_gguf(file);
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty());
  Executor on_host(file, {&host()}, options(4));
  const auto rh = on_host.memory_report();
  ASSERT_EQ(rh.size(), 1u);
  uint64_t file_bytes = 0;
  for (const auto& t : file.tensors()) file_bytes += t.nbytes;
  EXPECT_EQ(rh[0].device, "host");
  EXPECT_EQ(rh[0].mapped, file_bytes) << "F32 split-layout weights are all used in place";
  EXPECT_EQ(rh[0].weights, 0u);
  EXPECT_EQ(rh[0].kv_cache, uint64_t{c.n_layer} * 32 * (c.kv_lora_rank + c.rope_dim) * 4);
  EXPECT_GT(rh[0].scratch, 0u);
  EXPECT_EQ(host().mapped_bytes(), file_bytes);

  Executor on_cl(file, {&host(), cl[0]}, [&] {
    ExecutorOptions o = options(4);
    o.placement = place_all_on(1);
    return o;
  }());
  const auto rc = on_cl.memory_report();
  ASSERT_EQ(rc.size(), 2u);
  EXPECT_EQ(rc[1].weights, file_bytes);
  EXPECT_EQ(rc[1].mapped, 0u);
  EXPECT_EQ(rc[0].weights + rc[0].mapped + rc[0].kv_cache + rc[0].scratch, 0u) << "the host holds nothing";
  EXPECT_GE(rc[1].peak, rc[1].weights + rc[1].kv_cache + rc[1].scratch);

  // Independent count from the file: everything but the routed experts and the embedding table, k/X of the
  // routed experts, one embedding row (the head is output.weight: not tied in synth models).
  double want = 0;
  for (const auto& t : file.tensors()) {
    const auto cls = arch::classify_tensor(t.name);
    if (cls == arch::TensorClass::RoutedExperts)
      want += static_cast<double>(t.nbytes) * c.n_expert_used / c.n_expert;
    else if (cls == arch::TensorClass::Embedding)
      want += static_cast<double>(t.row_bytes());
    else
      want += static_cast<double>(t.nbytes);
  }
  EXPECT_EQ(on_host.bytes_per_token(), static_cast<uint64_t>(want));
  EXPECT_EQ(on_cl.bytes_per_token(), on_host.bytes_per_token());
}

}  // namespace
}  // namespace mixcl::scheduler::test
