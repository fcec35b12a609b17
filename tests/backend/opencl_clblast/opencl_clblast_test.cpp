// The large-batch OpenCL matmul path (backend/opencl/clblast_matmul.h): the dequantize kernel bit-exact against
// quant::dequantize_row, dequantize + CLBlast SGEMM against the double-precision reference for every format, the
// m threshold that picks the path, tiling, chunked weights, and the per-thread kernel cache.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <thread>

#include "backend/opencl/clblast_matmul.h"
#include "backend/opencl/matmul.h"
#include "backend/opencl/opencl_device.h"
#include "common/error.h"
#include "model/quant/quant.h"
#include "tests/reference/matmul_reference.h"
#include "tests/support/opencl_devices.h"
#include "tests/support/errors.h"

namespace mixcl::backend {
namespace {

using ::mixcl::test::expect_error;

using reference::MatmulCase;

OpenCLOptions device_options(const std::string& cache_dir, uint64_t max_alloc = 0, uint64_t gemm_from_m = 0) {
  OpenCLOptions o;
  o.cache_dir = cache_dir;
  o.max_alloc_override = max_alloc;
  o.gemm_from_m = gemm_from_m;
  return o;
}

// The bounds of tests/backend/opencl_matmul: per output a few f32 ulps per accumulated term of sum |w||x|, and
// max |y - exact| / rms(exact) per case.
constexpr double kNormalisedBound = 2e-5;
double f32_tolerance(uint64_t cols, double abs_sum) { return (64.0 + static_cast<double>(cols)) * 2.4e-7 * abs_sum; }

const std::vector<DType>& formats() {
  static const std::vector<DType> f = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0,
                                       DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::MXFP4};
  return f;
}

// Columns for a format: odd element counts for float formats (a tail after the last 32-element piece).
uint64_t cols_for(DType t, uint64_t blocks, uint64_t float_cols) {
  return dtype_info(t).block_elems == 1 ? float_cols : blocks * dtype_info(t).block_elems;
}

OpenCLMatmulConfig gemm_config(uint64_t gemm_from_m, uint64_t tile_bytes = 0) {
  OpenCLMatmulConfig c;
  c.gemm_from_m = gemm_from_m;
  c.gemm_tile_bytes = tile_bytes;
  return c;
}

// Uploads the operands, runs opencl_matmul and returns y [m][rows] (NaN-filled first: a missed output fails).
std::vector<float> run(OpenCLDevice& dev, const MatmulCase& c, const reference::MatmulData& d,
                       const OpenCLMatmulConfig& config) {
  const uint64_t rb = row_bytes(c.type, c.cols);
  auto wb = dev.allocate(d.w.size() + 2 * rb, rb);
  auto xb = dev.allocate(d.x.size() * 4 + 16);
  auto yb = dev.allocate(c.m * c.rows * 4 + 8);
  dev.upload(*wb, 2 * rb, d.w.data(), d.w.size()).wait();
  dev.upload(*xb, 16, d.x.data(), d.x.size() * 4).wait();
  std::vector<float> y(c.m * c.rows, std::nanf(""));
  dev.upload(*yb, 8, y.data(), y.size() * 4).wait();
  opencl_matmul(dev, {{wb.get(), 2 * rb}, c.type, c.cols, c.rows}, {xb.get(), 16}, {yb.get(), 8}, c.m, config);
  dev.download(*yb, 8, y.data(), y.size() * 4).wait();
  return y;
}

// Largest normalised error seen per format, printed at the end for docs/opencl_kernels.md.
std::map<std::string, double>& observed() {
  static std::map<std::string, double> m;
  return m;
}

class PrintObservedErrors : public ::testing::Environment {
 public:
  void TearDown() override {
    for (const auto& [name, err] : observed()) std::printf("  %-7s max |y-exact|/rms = %.3g\n", name.c_str(), err);
  }
};
[[maybe_unused]] ::testing::Environment* const kPrintEnv = ::testing::AddGlobalTestEnvironment(new PrintObservedErrors);

// Checks y against the double reference with the bounds above; returns max |y - exact| / rms.
double check(const MatmulCase& c, const reference::MatmulReference& ref, const std::vector<float>& y) {
  double max_err = 0.0;
  int failures = 0;
  for (uint64_t i = 0; i < y.size() && failures < 5; ++i) {
    const double tol = f32_tolerance(c.cols, ref.abs_sum[i] + ref.act_bound[i]);
    const double err = std::fabs(y[i] - ref.exact[i]);
    if (!(err <= tol)) {
      ++failures;
      ADD_FAILURE() << dtype_name(c.type) << " token " << i / c.rows << " row " << i % c.rows << ": y " << y[i]
                    << " vs reference " << ref.exact[i] << " (tolerance " << tol << ")";
    }
    max_err = std::max(max_err, err);
  }
  const double norm = ref.rms > 0 ? max_err / ref.rms : 0.0;
  EXPECT_LE(norm, kNormalisedBound) << dtype_name(c.type) << ": max |y - exact| / rms(exact)";
  auto& o = observed()[std::string(dtype_name(c.type))];
  o = std::max(o, norm);
  return norm;
}

// Every format, odd row counts (and odd column counts for float formats): the kernel's f32 rows equal
// dequantize_row bit for bit, also for a view starting inside its buffer and a destination at an offset.
TEST(OpenCLDequantize, BitExactWithHostDequantizeForEveryFormat) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  for (DType t : formats()) {
    for (const auto& [rows, cols] : {std::pair{uint64_t{37}, cols_for(t, 3, 67)}, {uint64_t{5}, cols_for(t, 9, 291)}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + std::to_string(rows) + "x" + std::to_string(cols));
      const auto d = reference::make_matmul_data({t, rows, cols, 1}, static_cast<uint32_t>(rows * 131 + cols));
      const uint64_t rb = row_bytes(t, cols);
      auto wb = dev.allocate(d.w.size() + rb, rb);
      auto out = dev.allocate((rows * cols + 3) * 4);
      dev.upload(*wb, rb, d.w.data(), d.w.size()).wait();
      opencl_dequantize(dev, {{wb.get(), rb}, t, cols, rows}, {out.get(), 12});
      std::vector<float> got(rows * cols), want(rows * cols);
      dev.download(*out, 12, got.data(), got.size() * 4).wait();
      for (uint64_t r = 0; r < rows; ++r) quant::dequantize_row(t, d.w.data() + r * rb, want.data() + r * cols, cols);
      int shown = 0;
      for (uint64_t i = 0; i < got.size() && shown < 5; ++i) {
        uint32_t g, w;
        std::memcpy(&g, &got[i], 4);
        std::memcpy(&w, &want[i], 4);
        if (g != w) {
          ++shown;
          ADD_FAILURE() << "row " << i / cols << " col " << i % cols << ": " << got[i] << " vs " << want[i];
        }
      }
    }
  }
}

// Hand-checked blocks (gguf.md §4.12) through the dequantize kernel.
TEST(OpenCLDequantize, HandCheckedBlocks) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  uint8_t q8[34] = {0x00, 0x3C};  // d = 1.0, codes e - 16
  for (int e = 0; e < 32; ++e) q8[2 + e] = static_cast<uint8_t>(static_cast<int8_t>(e - 16));
  uint8_t fp4[17] = {127};  // scale 2^-1; 0x71: code 1 (doubled value 1) low nibble, code 7 (doubled 12) high
  std::memset(fp4 + 1, 0x71, 16);
  auto wb = dev.allocate(64), out = dev.allocate(32 * 4);
  std::vector<float> y(32);
  dev.upload(*wb, 0, q8, sizeof q8).wait();
  opencl_dequantize(dev, {{wb.get(), 0}, DType::Q8_0, 32, 1}, {out.get(), 0});
  dev.download(*out, 0, y.data(), 128).wait();
  for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], static_cast<float>(e - 16)) << "Q8_0 element " << e;
  dev.upload(*wb, 0, fp4, sizeof fp4).wait();
  opencl_dequantize(dev, {{wb.get(), 0}, DType::MXFP4, 32, 1}, {out.get(), 0});
  dev.download(*out, 0, y.data(), 128).wait();
  for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], e < 16 ? 0.5f : 6.0f) << "MXFP4 element " << e;
}

// Every format through dequantize + CLBlast (forced with gemm_from_m = 1), odd m and odd rows, against the double
// reference with the bounds of the matmul kernels.
TEST(OpenCLClblastMatmul, MatchesDoubleReferenceForEveryFormat) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  for (DType t : formats()) {
    for (const MatmulCase c : {MatmulCase{t, 67, cols_for(t, 2, 131), 37}, MatmulCase{t, 19, cols_for(t, 5, 165), 129}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + std::to_string(c.rows) + "x" + std::to_string(c.cols) + " m=" +
                   std::to_string(c.m));
      const auto data = reference::make_matmul_data(c, static_cast<uint32_t>(c.rows * 7919 + c.cols * 31 + c.m));
      const auto ref = reference::reference_matmul(c.type, data.w.data(), c.rows, c.cols, data.x.data(), c.m);
      check(c, ref, run(dev, c, data, gemm_config(1)));
    }
  }
}

// Many tiles (a scratch of a few rows, the last tile partial) and weights over several chunks, whose spans do not
// line up with the tiles, give in-bound results.
TEST(OpenCLClblastMatmul, TilesAndChunks) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::F16}) {
    const MatmulCase c{t, 45, cols_for(t, 2, 77), 33};
    const auto data = reference::make_matmul_data(c, 29);
    const auto ref = reference::reference_matmul(c.type, data.w.data(), c.rows, c.cols, data.x.data(), c.m);
    SCOPED_TRACE(dtype_name(t));
    check(c, ref, run(dev, c, data, gemm_config(1, 7 * c.cols * 4 + 5)));  // 7 rows per tile
    const uint64_t rb = row_bytes(t, c.cols);
    auto split = discover_opencl_devices(
        device_options(mixcl::test::shared_opencl().cache_dir().string(), std::max(11 * rb, c.m * c.cols * 4 + 64) + 3));
    check(c, ref, run(*split.front(), c, data, gemm_config(1, 4 * c.cols * 4)));
  }
}

// The threshold picks the path: with a tile scratch too small for one row only the CLBlast path fails, so the
// error shows which path m took, from the call's config and from the device option.
TEST(OpenCLClblastMatmul, ThresholdPicksThePath) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  const MatmulCase c{DType::Q8_0, 9, 64, 6};
  const auto data = reference::make_matmul_data(c, 5);
  const auto ref = reference::reference_matmul(c.type, data.w.data(), c.rows, c.cols, data.x.data(), c.m);
  auto takes_clblast = [&](OpenCLDevice& d, uint64_t from) {
    try {
      run(d, c, data, gemm_config(from, 16));
      return false;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tile scratch"), std::string::npos) << e.what();
      return true;
    }
  };
  EXPECT_TRUE(takes_clblast(dev, c.m));
  EXPECT_FALSE(takes_clblast(dev, c.m + 1));
  EXPECT_EQ(dev.gemm_from_m(), default_gemm_from_m(dev.caps().type));
  EXPECT_EQ(default_gemm_from_m("CPU"), kGemmNever);
  auto low = discover_opencl_devices(device_options(mixcl::test::shared_opencl().cache_dir().string(), 0, c.m));
  EXPECT_EQ(low.front()->gemm_from_m(), c.m);
  EXPECT_TRUE(takes_clblast(*low.front(), 0));
  auto high = discover_opencl_devices(device_options(mixcl::test::shared_opencl().cache_dir().string(), 0, c.m + 1));
  EXPECT_FALSE(takes_clblast(*high.front(), 0));
  // Both paths forced give in-bound results, and agree with each other to the same bound.
  const auto gemm = run(dev, c, data, gemm_config(c.m));
  const auto tiled = run(dev, c, data, gemm_config(c.m + 1));
  check(c, ref, gemm);
  check(c, ref, tiled);
  for (uint64_t i = 0; i < gemm.size(); ++i)
    EXPECT_LE(std::fabs(gemm[i] - tiled[i]), 2 * f32_tolerance(c.cols, ref.abs_sum[i] + ref.act_bound[i])) << i;
}

TEST(OpenCLDequantize, BadArgumentsGiveClearErrors) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  auto wb = dev.allocate(row_bytes(DType::Q8_0, 64) * 4);
  auto out = dev.allocate(64 * 4 * 4);
  expect_error([&] { opencl_dequantize(dev, {{wb.get(), 0}, DType::Q4_1, 64, 4}, {out.get(), 0}); },
               "Q4_1 are not supported");
  expect_error([&] { opencl_dequantize(dev, {{wb.get(), 0}, DType::Q8_0, 64, 5}, {out.get(), 0}); }, "weight view");
  expect_error([&] { opencl_dequantize(dev, {{wb.get(), 0}, DType::Q8_0, 64, 4}, {out.get(), 4}); },
               "destination view");
  const OpenCLWeights w = opencl_weights(dev, {{wb.get(), 0}, DType::Q8_0, 64, 4}, "dequantize");
  expect_error([&] { enqueue_dequantize_rows(dev, w, 3, 2, cl_chunk(*out, 0), 0, 64); }, "outside the 4 rows");
}

// The matmul kernels are cached per thread: one object per thread, and two threads running matmuls at once on one
// device (each setting arguments on its own kernel) both get correct results.
TEST(OpenCLMatmulKernelCache, PerThreadKernelsAndConcurrentCalls) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  cl::Kernel& a = dev.thread_kernel("matmul_q8_0.cl+matmul_common.cl", "mm_tile", "-DMM_ROWS=2");
  cl::Kernel& b = dev.thread_kernel("matmul_q8_0.cl+matmul_common.cl", "mm_tile", "-DMM_ROWS=2");
  EXPECT_EQ(&a, &b);
  cl_kernel other = nullptr;
  std::thread([&] { other = dev.thread_kernel("matmul_q8_0.cl+matmul_common.cl", "mm_tile", "-DMM_ROWS=2")(); }).join();
  EXPECT_NE(other, a());

  const MatmulCase c1{DType::Q8_0, 23, 96, 1}, c2{DType::Q8_0, 31, 64, 1};
  const auto d1 = reference::make_matmul_data(c1, 1), d2 = reference::make_matmul_data(c2, 2);
  const auto want1 = run(dev, c1, d1, {}), want2 = run(dev, c2, d2, {});
  const auto r1 = reference::reference_matmul(c1.type, d1.w.data(), c1.rows, c1.cols, d1.x.data(), c1.m);
  check(c1, r1, want1);
  std::vector<std::vector<float>> got1, got2;
  std::thread t1([&] {
    for (int i = 0; i < 40; ++i) got1.push_back(run(dev, c1, d1, {}));
  });
  std::thread t2([&] {
    for (int i = 0; i < 40; ++i) got2.push_back(run(dev, c2, d2, {}));
  });
  t1.join();
  t2.join();
  for (const auto& g : got1) ASSERT_EQ(g, want1);
  for (const auto& g : got2) ASSERT_EQ(g, want2);
}

}  // namespace
}  // namespace mixcl::backend
