// The kernel benchmark table and runner, in process on the host device with small shapes: every op's check
// passes on the (separately tested) host kernels, a perturbed result is flagged and reports no speed, and
// the percentages are the speeds over the given device figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backend/host/host_device.h"
#include "bench/lib/bench_data.h"
#include "bench/lib/kernel_bench.h"
#include "bench/lib/kernel_cases.h"
#include "common/error.h"
#include "model/quant/quant.h"

namespace mixcl::bench {
namespace {

KernelBenchOptions quick() {
  KernelBenchOptions o;
  o.reps = 2;
  o.min_sample_seconds = 0.001;
  o.max_case_seconds = 0.5;
  o.rotate_bytes = 1 << 20;
  return o;
}

const DeviceFigures kFigures{20.0, 200.0, "test"};

TEST(KernelCases, DefaultTableHasTheIssueShapesAndFormats) {
  const auto cases = kernel_cases({});
  auto has = [&](KernelOp op, DType t, uint64_t rows, uint64_t cols) {
    return std::any_of(cases.begin(), cases.end(), [&](const KernelCase& c) {
      return c.op == op && c.type == t && c.rows == rows && c.cols == cols;
    });
  };
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::MXFP4})
    for (auto [r, c] : bench_matmul_shapes()) {
      const bool fits = c % dtype_info(t).block_elems == 0;
      EXPECT_EQ(has(KernelOp::kMatvec, t, r, c), fits) << dtype_name(t) << " " << r << "x" << c;
      EXPECT_EQ(has(KernelOp::kPrefill, t, r, c), fits);
    }
  EXPECT_EQ(bench_matmul_types().size(), 12u);
  for (KernelOp op : all_kernel_ops())
    EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [&](const KernelCase& c) { return c.op == op; }))
        << kernel_op_name(op);
  for (const auto& c : cases) {
    if (c.op == KernelOp::kPrefill) {
      EXPECT_EQ(c.m, 512u);
    }
  }
}

TEST(KernelCases, FiltersAndParsing) {
  CaseFilter f;
  f.ops = parse_kernel_ops({"matmul"});
  ASSERT_EQ(f.ops.size(), 2u);
  f.types = {DType::Q8_0};
  f.shapes = {parse_shape("33x64")};
  f.prefill_m = 7;
  const auto cases = kernel_cases(f);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[1].op, KernelOp::kPrefill);
  EXPECT_EQ(cases[1].m, 7u);
  EXPECT_EQ(cases[0].shape(), "33x64");
  EXPECT_TRUE(parse_kernel_ops({"all"}).empty());
  EXPECT_THROW(parse_kernel_ops({"gemm"}), Error);
  EXPECT_THROW(parse_shape("4096"), Error);
  EXPECT_THROW(parse_shape("0x5"), Error);
  EXPECT_THROW(parse_shape("12xab"), Error);
}

TEST(BenchData, RandomBlocksDecodeToFiniteValues) {
  for (DType t : bench_matmul_types()) {
    const uint64_t cols = dtype_info(t).block_elems == 1 ? 64 : 4 * dtype_info(t).block_elems;
    const auto w = random_weights(t, 5, cols, 3);
    ASSERT_EQ(w.size(), 5 * row_bytes(t, cols));
    std::vector<float> row(cols);
    double sumsq = 0;
    for (uint64_t r = 0; r < 5; ++r) {
      quant::dequantize_row(t, w.data() + r * row_bytes(t, cols), row.data(), cols);
      for (float v : row) {
        ASSERT_TRUE(std::isfinite(v)) << dtype_name(t);
        sumsq += double(v) * v;
      }
    }
    EXPECT_GT(sumsq, 0.0) << dtype_name(t);
  }
}

void expect_ok(const Row& row) {
  ASSERT_EQ(row["check"], "ok") << row.dump();
  ASSERT_TRUE(row["gbps"].is_number()) << row.dump();
  EXPECT_GT(row["gbps"].get<double>(), 0.0);
  EXPECT_GT(row["time_us"].get<double>(), 0.0);
  EXPECT_GE(row["reps"].get<int>(), 1);
  EXPECT_NEAR(row["pct_bandwidth"].get<double>(), 100.0 * row["gbps"].get<double>() / kFigures.read_gbps,
              1e-9 * row["pct_bandwidth"].get<double>());
  EXPECT_LE(row["check_error"].get<double>(), row["check_bound"].get<double>());
}

TEST(KernelBench, MatmulCasesPassTheirCheckOnTheHost) {
  backend::HostDevice host;
  for (DType t : bench_matmul_types())
    for (uint64_t m : {1, 5}) {
      KernelCase c;
      c.op = m == 1 ? KernelOp::kMatvec : KernelOp::kPrefill;
      c.type = t;
      c.rows = 37;
      c.cols = dtype_info(t).block_elems == 1 ? 129 : 2 * dtype_info(t).block_elems;
      c.m = m;
      SCOPED_TRACE(std::string(dtype_name(t)) + " m=" + std::to_string(m));
      const Row row = run_kernel_case(host, c, kFigures, quick());
      expect_ok(row);
      ASSERT_TRUE(row["gflops"].is_number());
      EXPECT_NEAR(row["pct_compute"].get<double>(), 100.0 * row["gflops"].get<double>() / kFigures.fp32_gflops,
                  1e-9 * row["pct_compute"].get<double>());
      // GFLOP/s and GB/s come from one time: their ratio is flops per byte of the case.
      const double flops = 2.0 * 37 * double(c.cols) * double(m);
      EXPECT_NEAR(row["gflops"].get<double>() / row["gbps"].get<double>(), flops / row["bytes"].get<double>(),
                  1e-9 * flops / row["bytes"].get<double>());
    }
}

TEST(KernelBench, OtherOpsPassTheirCheckOnTheHost) {
  backend::HostDevice host;
  std::vector<KernelCase> cases;
  KernelCase moe;
  moe.op = KernelOp::kMoeFfn;
  moe.type = DType::Q4_K;
  moe.type2 = DType::Q5_0;
  moe.cols = 256;  // E
  moe.rows = 96;   // Fe
  moe.n_expert = 8;
  moe.n_used = 3;
  cases.push_back(moe);
  moe.type = moe.type2 = DType::F16;
  cases.push_back(moe);
  KernelCase attn;
  attn.op = KernelOp::kMlaAttention;
  attn.type = DType::F16;
  attn.n_head = 3;
  attn.context = 77;
  attn.rows = 40;
  attn.cols = 8;
  cases.push_back(attn);
  attn.type = DType::F32;
  cases.push_back(attn);
  KernelCase norm;
  norm.op = KernelOp::kRmsnorm;
  norm.rows = norm.m = 5;
  norm.cols = 333;
  cases.push_back(norm);
  KernelCase rope;
  rope.op = KernelOp::kRope;
  rope.m = 3;
  rope.n_head = 4;
  rope.cols = 192;
  rope.rows = 64;
  rope.model = "v3";
  cases.push_back(rope);
  for (const char* model : {"v3", "v2-lite"}) {
    KernelCase router;
    router.op = KernelOp::kRouter;
    router.m = 4;
    router.model = model;
    router.n_expert = std::string(model) == "v3" ? 256 : 64;
    router.n_used = std::string(model) == "v3" ? 8 : 6;
    router.n_group = std::string(model) == "v3" ? 8 : 1;
    router.n_group_used = std::string(model) == "v3" ? 4 : 1;
    cases.push_back(router);
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(kernel_op_name(c.op)) + " " + c.type_label() + " " + c.shape());
    expect_ok(run_kernel_case(host, c, kFigures, quick()));
  }
}

TEST(KernelBench, AWrongResultIsFlaggedAndReportsNoSpeed) {
  backend::HostDevice host;
  KernelBenchOptions o = quick();
  o.corrupt_results = true;
  KernelCase c;
  c.op = KernelOp::kMatvec;
  c.type = DType::Q8_0;
  c.rows = 16;
  c.cols = 64;
  const Row row = run_kernel_case(host, c, kFigures, o);
  EXPECT_EQ(row["check"], "FAILED");
  EXPECT_TRUE(row["gbps"].is_null());
  EXPECT_TRUE(row["gflops"].is_null());
  EXPECT_TRUE(row["pct_bandwidth"].is_null());
  EXPECT_TRUE(row["time_us"].is_null());
  EXPECT_GT(row["check_error"].get<double>(), row["check_bound"].get<double>());
  EXPECT_NE(row["error"].get<std::string>().find("reference"), std::string::npos);
}

TEST(KernelBench, DeviceErrorsBecomeARowNotACrash) {
  backend::HostDevice host;
  KernelCase c;
  c.op = KernelOp::kMatvec;
  c.type = DType::Q4_K;
  c.rows = 4;
  c.cols = 100;  // not a multiple of Q4_K's 256-element blocks
  const Row row = run_kernel_case(host, c, kFigures, quick());
  EXPECT_EQ(row["check"], "ERROR");
  EXPECT_TRUE(row["gbps"].is_null());
  EXPECT_NE(row["error"].get<std::string>().find("256"), std::string::npos) << row["error"];
}

}  // namespace
}  // namespace mixcl::bench
