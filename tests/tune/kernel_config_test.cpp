// Per-op kernel configs of an OpenCL device (backend/opencl/kernel_config.h): keys and macros are checked with
// errors that name what is allowed, the most specific entry wins, a config reaches the kernels (a new program is
// built for new macro values and the result still matches the double-precision reference), and a profile's
// `kernels:` section parses into them with file:line:col errors.
#include <gtest/gtest.h>

#include "backend/opencl/kernel_config.h"
#include "backend/opencl/matmul.h"
#include "bench/lib/kernel_bench.h"
#include "scheduler/profile.h"
#include "tests/support/errors.h"
#include "tests/tune/tune_test_util.h"

namespace mixcl::tune {
namespace {

using backend::OpKernelConfig;
using backend::OpKernelConfigs;
using mixcl::test::error_of;
using mixcl::test::expect_error;

TEST(KernelConfigKey, SplitsOpFormatAndPhase) {
  auto k = backend::parse_kernel_config_key("matmul.Q4_K.decode");
  EXPECT_EQ(k.op, "matmul");
  ASSERT_TRUE(k.type);
  EXPECT_EQ(*k.type, DType::Q4_K);
  EXPECT_EQ(k.phase, "decode");
  k = backend::parse_kernel_config_key("matmul.prefill");
  EXPECT_FALSE(k.type);
  EXPECT_EQ(k.phase, "prefill");
  k = backend::parse_kernel_config_key("rmsnorm");
  EXPECT_EQ(k.op, "rmsnorm");
  expect_error([] { backend::parse_kernel_config_key("matmul.Q9_K"); }, "neither a weight format");
  expect_error([] { backend::parse_kernel_config_key("rmsnorm.Q4_K"); }, "does not depend on a weight format");
  expect_error([] { backend::parse_kernel_config_key("matmul.decode.Q4_K"); }, "the format comes before the phase");
  expect_error([] { backend::parse_kernel_config_key("matmull"); }, "unknown op 'matmull'");
}

TEST(KernelConfigCheck, BadMacrosNameTheAllowedOnes) {
  expect_error([] { backend::check_kernel_config("matmul", {"", {{"MM_ROW", "4"}}}); },
               "unknown macro 'MM_ROW' for op matmul; allowed: MM_ROWS, MM_LOCAL, MM_TILE_ROWS, MM_TILE_TOKENS");
  expect_error([] { backend::check_kernel_config("matmul.Q8_0", {"", {{"MM_ROWS", "0"}}}); },
               "MM_ROWS: found '0', expected a whole number from 1 to 16");
  expect_error([] { backend::check_kernel_config("matmul", {"", {{"MM_ROWS", "never"}}}); },
               "expected a whole number from 1 to 16");
  EXPECT_NO_THROW(backend::check_kernel_config("matmul.prefill", {"", {{"MM_GEMM_FROM_M", "never"}}}));
  expect_error([] { backend::check_kernel_config("softmax", {"", {{"X", "1"}}}); }, "has no tunable macros");
  expect_error([] { backend::check_kernel_config("rope", {"vector", {}}); }, "variant is for: matmul, moe_ffn, rmsnorm");
  expect_error([] { backend::check_kernel_config("rmsnorm", {"", {{"MM_ROWS", "2"}}}); }, "allowed: RMS_LOCAL");
}

TEST(KernelConfigResolve, MostSpecificEntryWinsFieldByField) {
  OpKernelConfigs c;
  c["matmul"] = {"workgroup", {{"MM_ROWS", "2"}, {"MM_LOCAL", "32"}}};
  c["matmul.decode"] = {"", {{"MM_ROWS", "3"}}};
  c["matmul.Q4_K"] = {"vector", {{"MM_ROWS", "4"}}};
  c["matmul.Q4_K.decode"] = {"", {{"MM_ROWS", "5"}}};
  c["matmul.Q8_0.prefill"] = {"", {{"MM_TILE_ROWS", "4"}, {"MM_GEMM_FROM_M", "never"}}};
  auto q4_decode = backend::opencl_matmul_config(c, "matmul", DType::Q4_K, 1);
  EXPECT_EQ(q4_decode.variant, "vector");
  EXPECT_EQ(q4_decode.rows_per_item, 5u);
  EXPECT_EQ(q4_decode.local_size, 32u);
  auto q4_prefill = backend::opencl_matmul_config(c, "matmul", DType::Q4_K, 7);
  EXPECT_EQ(q4_prefill.rows_per_item, 4u);
  auto q8_decode = backend::opencl_matmul_config(c, "matmul", DType::Q8_0, 1);
  EXPECT_EQ(q8_decode.variant, "workgroup");
  EXPECT_EQ(q8_decode.rows_per_item, 3u);
  auto q8_prefill = backend::opencl_matmul_config(c, "matmul", DType::Q8_0, 9);
  EXPECT_EQ(q8_prefill.tile_rows, 4u);
  EXPECT_EQ(q8_prefill.gemm_from_m, UINT64_MAX);
  EXPECT_EQ(q8_prefill.rows_per_item, 2u);
  // moe_ffn's entries are separate from matmul's.
  EXPECT_EQ(backend::opencl_matmul_config(c, "moe_ffn", DType::Q8_0, 1).rows_per_item, 0u);
  // An explicit config wins over the device's.
  backend::OpenCLMatmulConfig given;
  given.rows_per_item = 7;
  EXPECT_EQ(backend::overlay_matmul_config(given, q4_decode).rows_per_item, 7u);
  EXPECT_EQ(backend::overlay_matmul_config(given, q4_decode).local_size, 32u);
}

// Programs built so far through the device's disk cache (each in-process build looks the cache up once).
uint64_t builds(backend::OpenCLDevice& dev) {
  const auto s = dev.program_cache().stats();
  return s.hits + s.misses + s.rebuilds;
}

bench::Row run_case(backend::OpenCLDevice& dev, bench::KernelOp op, DType t, uint64_t rows, uint64_t cols, uint64_t m) {
  bench::KernelCase c;
  c.op = op;
  c.type = t;
  c.rows = rows;
  c.cols = cols;
  c.m = m;
  bench::KernelBenchOptions o;
  o.reps = 1;
  o.min_sample_seconds = 0;
  o.rotate_bytes = 0;
  return bench::run_kernel_case(dev, c, {}, o);
}

TEST(DeviceKernelConfigs, ReachTheKernelsAndStayCorrect) {
  TUNE_REQUIRE_OPENCL(dev);
  dev.set_kernel_configs({});
  EXPECT_EQ(run_case(dev, bench::KernelOp::kMatvec, DType::Q8_0, 37, 96, 1)["check"], "ok");
  const uint64_t before = builds(dev);
  // A config for another format builds nothing new.
  dev.set_kernel_configs({{"matmul.Q4_K.decode", {"vector", {{"MM_ROWS", "3"}}}}});
  EXPECT_EQ(run_case(dev, bench::KernelOp::kMatvec, DType::Q8_0, 37, 96, 1)["check"], "ok");
  EXPECT_EQ(builds(dev), before);
  // New -D values are a new program (a new cache key); odd rows per item and work-group size stay correct.
  dev.set_kernel_configs({{"matmul.Q8_0.decode", {"vector", {{"MM_ROWS", "3"}, {"MM_LOCAL", "5"}}}},
                          {"matmul.Q8_0.prefill", {"", {{"MM_TILE_ROWS", "3"}, {"MM_TILE_TOKENS", "5"}}}}});
  EXPECT_EQ(run_case(dev, bench::KernelOp::kMatvec, DType::Q8_0, 37, 96, 1)["check"], "ok");
  EXPECT_GT(builds(dev), before);
  const uint64_t after_decode = builds(dev);
  EXPECT_EQ(run_case(dev, bench::KernelOp::kPrefill, DType::Q8_0, 37, 96, 11)["check"], "ok");
  EXPECT_GT(builds(dev), after_decode);
  // The work-group shape and the CLBlast path, forced per format.
  dev.set_kernel_configs({{"matmul.Q8_0.decode", {"workgroup", {{"MM_LOCAL", "16"}}}},
                          {"matmul.Q8_0.prefill", {"", {{"MM_GEMM_FROM_M", "2"}}}}});
  EXPECT_EQ(run_case(dev, bench::KernelOp::kMatvec, DType::Q8_0, 37, 96, 1)["check"], "ok");
  EXPECT_EQ(run_case(dev, bench::KernelOp::kPrefill, DType::Q8_0, 37, 96, 11)["check"], "ok");
  // rmsnorm's work-group size and shape.
  dev.set_kernel_configs({{"rmsnorm", {"workgroup", {{"RMS_LOCAL", "32"}}}}});
  bench::KernelCase norm;
  norm.op = bench::KernelOp::kRmsnorm;
  norm.rows = norm.m = 3;
  norm.cols = 333;
  bench::KernelBenchOptions o;
  o.reps = 1;
  o.min_sample_seconds = 0;
  EXPECT_EQ(bench::run_kernel_case(dev, norm, {}, o)["check"], "ok");
  dev.set_kernel_configs({});
}

TEST(DeviceKernelConfigs, BadConfigIsAClearErrorAndChangesNothing) {
  TUNE_REQUIRE_OPENCL(dev);
  dev.set_kernel_configs({{"matmul", {"", {{"MM_ROWS", "2"}}}}});
  const std::string msg = error_of([&] { dev.set_kernel_configs({{"matmul.Q4_K", {"", {{"MM_COLS", "2"}}}}}); });
  EXPECT_NE(msg.find("device " + dev.name()), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown macro 'MM_COLS' for op matmul; allowed: MM_ROWS"), std::string::npos) << msg;
  ASSERT_EQ(dev.kernel_configs().size(), 1u);
  EXPECT_EQ(dev.kernel_configs().begin()->first, "matmul");
  dev.set_kernel_configs({});
}

TEST(ProfileKernels, FormatAndPhaseKeysParseAndBadMacrosPointAtTheLine) {
  const std::string yaml =
      "devices:\n"
      "  cl0:\n"
      "    match: {type: CPU}\n"
      "    kernels:\n"
      "      matmul: {variant: vector}\n"
      "      matmul.Q4_K.decode: {variant: vector, macros: {MM_ROWS: 4, MM_LOCAL: 16}}\n"
      "      matmul.prefill: {macros: {MM_GEMM_FROM_M: never}}\n"
      "      moe_ffn: {variant: workgroup}\n";
  const scheduler::Profile p = scheduler::parse_profile(yaml, "k.yaml", ".");
  ASSERT_EQ(p.devices.size(), 1u);
  const auto& k = p.devices[0].kernels;
  ASSERT_EQ(k.size(), 4u);
  EXPECT_EQ(k.at("matmul.Q4_K.decode").macros.at("MM_ROWS"), "4");
  EXPECT_EQ(k.at("matmul.prefill").macros.at("MM_GEMM_FROM_M"), "never");
  // What dump_profile writes parses back to the same kernels.
  EXPECT_EQ(scheduler::parse_profile(scheduler::dump_profile(p), "dump.yaml", "."), p);

  auto with = [](const std::string& entry) {
    return "devices:\n  cl0:\n    match: {type: CPU}\n    kernels:\n      " + entry + "\n";
  };
  EXPECT_EQ(error_of([&] { scheduler::parse_profile(with("matmul: {macros: {MM_ROW: 4}}"), "b.yaml", "."); }),
            "b.yaml:5:33: devices.cl0.kernels.matmul.macros: unknown macro 'MM_ROW' for op matmul; allowed: MM_ROWS, "
            "MM_LOCAL, MM_TILE_ROWS, MM_TILE_TOKENS, MM_TILED_FROM_M, MM_GEMM_FROM_M");
  expect_error([&] { scheduler::parse_profile(with("matmul.Q4_K: {macros: {MM_ROWS: 99}}"), "b.yaml", "."); },
               "b.yaml:5:39: devices.cl0.kernels.matmul.Q4_K.macros.MM_ROWS: found '99', expected a whole number from "
               "1 to 16");
  expect_error([&] { scheduler::parse_profile(with("matmul.Q4_Q: {}"), "b.yaml", "."); },
               "b.yaml:5:7: devices.cl0.kernels key 'matmul.Q4_Q': 'Q4_Q' is neither a weight format");
  expect_error([&] { scheduler::parse_profile(with("matmull.Q4_K: {}"), "b.yaml", "."); },
               "b.yaml:5:7: unknown key 'devices.cl0.kernels.matmull.Q4_K' (did you mean 'matmul'?)");
  expect_error([&] { scheduler::parse_profile(with("softmax: {variant: vector}"), "b.yaml", "."); },
               "b.yaml:5:26: devices.cl0.kernels.softmax: op softmax has one kernel shape");
}

}  // namespace
}  // namespace mixcl::tune
