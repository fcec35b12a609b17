// OpenCL matmul kernels (cl_kernels/matmul_*.cl) against the double-precision reference, over the case table of
// tests/reference/matmul_reference.h, in both kernel shapes (vector and work-group) and the tiled prefill kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include "backend/opencl/matmul.h"
#include "backend/opencl/opencl_device.h"
#include "common/error.h"
#include "common/quant_blocks.h"
#include "tests/reference/matmul_reference.h"
#include "tests/support/opencl_devices.h"
#include "tests/support/errors.h"

namespace mixcl::backend {
namespace {

using ::mixcl::test::expect_error;

using reference::MatmulCase;

// Device options with a program cache folder and a largest allocation (0: the device's own).
OpenCLOptions device_options(const std::string& cache_dir, uint64_t max_alloc = 0) {
  OpenCLOptions o;
  o.cache_dir = cache_dir;
  o.max_alloc_override = max_alloc;
  return o;
}

// Stated bound on max |y - exact| / rms(exact) over a case, exact = double product with the dequantized weights.
// The kernels multiply decoded f32 weights by the f32 activations as they are (no activation rounding), so only
// f32 accumulation error remains, for every format.
constexpr double kNormalisedBound = 2e-5;

// f32 accumulation error allowed per output against the double product: a few ulps per accumulated term,
// relative to sum |w||x| (<= abs_sum + act_bound of the reference, which uses rounded activations).
double f32_tolerance(uint64_t cols, double abs_sum) { return (64.0 + static_cast<double>(cols)) * 2.4e-7 * abs_sum; }

// A configuration (spelled out: designated initialisers that omit members warn under -Wextra).
OpenCLMatmulConfig cfg(std::string variant, uint32_t tiled_from_m = 0, uint32_t rows_per_item = 0,
                       uint32_t local_size = 0, uint32_t tile_rows = 0, uint32_t tile_tokens = 0) {
  OpenCLMatmulConfig c;
  c.variant = std::move(variant);
  c.tiled_from_m = tiled_from_m;
  c.rows_per_item = rows_per_item;
  c.local_size = local_size;
  c.tile_rows = tile_rows;
  c.tile_tokens = tile_tokens;
  return c;
}

// Uploads the operands, runs opencl_matmul and returns y [m][rows].
std::vector<float> run(OpenCLDevice& dev, const MatmulCase& c, const reference::MatmulData& d,
                       const OpenCLMatmulConfig& config) {
  const uint64_t rb = row_bytes(c.type, c.cols);
  auto wb = dev.allocate(d.w.size(), rb);
  auto xb = dev.allocate(d.x.size() * 4 + 16);
  auto yb = dev.allocate(c.m * c.rows * 4 + 8);
  dev.wait_for(dev.upload(*wb, 0, d.w.data(), d.w.size()));
  dev.wait_for(dev.upload(*xb, 16, d.x.data(), d.x.size() * 4));
  std::vector<float> y(c.m * c.rows, std::nanf(""));
  dev.wait_for(dev.upload(*yb, 8, y.data(), y.size() * 4));  // NaN: a missed output fails the check
  opencl_matmul(dev, {{wb.get(), 0}, c.type, c.cols, c.rows}, {xb.get(), 16}, {yb.get(), 8}, c.m, config);
  dev.download(*yb, 8, y.data(), y.size() * 4).wait();
  return y;
}

// Largest normalised error seen per format, printed at the end for docs/opencl_kernels.md.
std::map<std::string, double>& observed() {
  static std::map<std::string, double> m;
  return m;
}

// Checks y against the reference; returns max |y - exact| / rms.
double check(const MatmulCase& c, const reference::MatmulReference& ref, const std::vector<float>& y) {
  double max_err = 0.0;
  int failures = 0;
  for (uint64_t i = 0; i < y.size() && failures < 5; ++i) {
    const double tol = f32_tolerance(c.cols, ref.abs_sum[i] + ref.act_bound[i]);
    const double err = std::fabs(y[i] - ref.exact[i]);
    if (!(err <= tol)) {
      ++failures;
      ADD_FAILURE() << "token " << i / c.rows << " row " << i % c.rows << ": y " << y[i] << " vs reference "
                    << ref.exact[i] << " (tolerance " << tol << ")";
    }
    max_err = std::max(max_err, err);
  }
  const double norm = ref.rms > 0 ? max_err / ref.rms : 0.0;
  EXPECT_LE(norm, kNormalisedBound) << "max |y - exact| / rms(exact)";
  auto& o = observed()[std::string(dtype_name(c.type))];
  o = std::max(o, norm);
  return norm;
}

std::vector<MatmulCase> supported_cases() {
  std::vector<MatmulCase> out;
  for (const MatmulCase& c : reference::matmul_cases())
    if (opencl_matmul_supports(c.type)) out.push_back(c);
  return out;
}

class OpenCLMatmulCase : public ::testing::TestWithParam<MatmulCase> {};

TEST_P(OpenCLMatmulCase, MatchesDoubleReferenceInEveryShape) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  const MatmulCase c = GetParam();
  const auto data = reference::make_matmul_data(c, static_cast<uint32_t>(c.rows * 7919 + c.cols * 31 + c.m));
  const auto ref = reference::reference_matmul(c.type, data.w.data(), c.rows, c.cols, data.x.data(), c.m);
  std::vector<std::pair<std::string, OpenCLMatmulConfig>> configs = {
      {"vector", cfg("vector")},
      {"workgroup", cfg("workgroup")},
  };
  if (c.m > 1 && c.m < 64)  // the per-token mat-vec path as well as the tiled one
    configs.push_back({"workgroup per token", cfg("workgroup", 1000)});
  if (c.m == 1 && c.rows * c.cols <= 100000)  // the tiled kernel on a single token
    configs.push_back({"tiled m=1", cfg("", 1)});
  for (const auto& [name, config] : configs) {
    SCOPED_TRACE(name);
    check(c, ref, run(dev, c, data, config));
  }
}

std::string case_name(const ::testing::TestParamInfo<MatmulCase>& info) {
  const MatmulCase& c = info.param;
  return std::string(dtype_name(c.type)) + "_" + std::to_string(c.rows) + "x" + std::to_string(c.cols) + "_m" +
         std::to_string(c.m);
}

INSTANTIATE_TEST_SUITE_P(Table, OpenCLMatmulCase, ::testing::ValuesIn(supported_cases()), case_name);

// Prints the largest normalised error seen per format once every test has run (for docs/opencl_kernels.md).
class PrintObservedErrors : public ::testing::Environment {
 public:
  void TearDown() override {
    for (const auto& [name, err] : observed()) std::printf("  %-7s max |y-exact|/rms = %.3g\n", name.c_str(), err);
  }
};
[[maybe_unused]] ::testing::Environment* const kPrintEnv = ::testing::AddGlobalTestEnvironment(new PrintObservedErrors);

TEST(OpenCLMatmul, EveryRequiredFormatIsSupported) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K,
                  DType::Q5_K, DType::Q6_K, DType::MXFP4, DType::Q2_K, DType::Q3_K})
    EXPECT_TRUE(opencl_matmul_supports(t)) << dtype_name(t);
  EXPECT_FALSE(opencl_matmul_supports(DType::Q8_K));
}

// Tunables other than the defaults (odd rows per work-item, tiles, group sizes) give the same numbers.
TEST(OpenCLMatmul, TunablesKeepResults) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  for (DType t : {DType::Q4_K, DType::MXFP4}) {
    const MatmulCase c{t, 29, 2 * 256, 5};
    const auto data = reference::make_matmul_data(c, 17);
    const auto ref = reference::reference_matmul(c.type, data.w.data(), c.rows, c.cols, data.x.data(), c.m);
    check(c, ref, run(dev, c, data, cfg("vector", 99, 3, 4)));
    check(c, ref, run(dev, c, data, cfg("workgroup", 99, 0, 16)));
    check(c, ref, run(dev, c, data, cfg("", 0, 0, 0, 3, 3)));
  }
}

// Weights split over several cl_mem chunks (a small max allocation) give the same result as one chunk, also
// for a view that starts inside the buffer (an expert slab).
TEST(OpenCLMatmul, WeightsOverSeveralChunks) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::F16}) {
    const MatmulCase c{t, 37, dtype_info(t).block_elems == 1 ? 77u : 512u, 3};
    const uint64_t rb = row_bytes(t, c.cols);
    auto split = discover_opencl_devices(
        device_options(mixcl::test::shared_opencl().cache_dir().string(), std::max(9 * rb, c.m * c.cols * 4 + 64) + 7));
    OpenCLDevice& small = *split.front();
    const auto data = reference::make_matmul_data(c, 23);
    for (uint64_t m : {uint64_t{1}, c.m}) {
      const MatmulCase cm{t, c.rows, c.cols, m};
      const auto whole = run(dev, cm, data, {});
      const auto pieces = run(small, cm, data, {});
      EXPECT_EQ(whole, pieces) << dtype_name(t) << " m=" << m;
      // A view of rows 3.. of a buffer holding 2 more rows in front: the chunk boundaries fall inside the view.
      auto wb = small.allocate((c.rows + 3) * rb, rb);
      ASSERT_GE(wb->chunk_count(), 2u);
      auto xb = small.allocate(m * c.cols * 4);
      auto yb = small.allocate(m * (c.rows - 1) * 4);
      small.upload(*wb, 3 * rb, data.w.data(), (c.rows - 1) * rb).wait();
      small.upload(*xb, 0, data.x.data(), m * c.cols * 4).wait();
      opencl_matmul(small, {{wb.get(), 3 * rb}, t, c.cols, c.rows - 1}, {xb.get(), 0}, {yb.get(), 0}, m);
      std::vector<float> y(m * (c.rows - 1));
      small.download(*yb, 0, y.data(), y.size() * 4).wait();
      for (uint64_t i = 0; i < m; ++i)
        for (uint64_t r = 0; r + 1 < c.rows; ++r)
          ASSERT_EQ(y[i * (c.rows - 1) + r], whole[i * c.rows + r]) << dtype_name(t) << " token " << i << " row " << r;
    }
  }
}

// Hand-checked blocks from gguf.md §4.12, times an all-ones activation.
TEST(OpenCLMatmul, HandCheckedBlocks) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  BlockQ8_0 q8{};
  q8.d = 0x3C00;  // 1.0
  for (int e = 0; e < 32; ++e) q8.qs[e] = static_cast<int8_t>(e - 16);
  BlockMXFP4 fp4{};
  fp4.e = 127;
  std::memset(fp4.qs, 0x71, 16);  // 0.5 for e < 16, 6 for e >= 16
  BlockQ4_0 q4{};
  q4.d = 0x3800;  // 0.5
  std::memset(q4.qs, 0x9F, 16);  // 3.5 for e < 16, 0.5 for e >= 16
  const std::vector<float> ones(32, 1.0f);
  auto xb = dev.allocate(128), yb = dev.allocate(4), wb = dev.allocate(64);
  dev.upload(*xb, 0, ones.data(), 128).wait();
  auto one = [&](DType t, const void* block, size_t bytes, const char* variant) {
    dev.upload(*wb, 0, block, bytes).wait();
    opencl_matmul(dev, {{wb.get(), 0}, t, 32, 1}, {xb.get(), 0}, {yb.get(), 0}, 1, cfg(variant));
    float y = 0;
    dev.download(*yb, 0, &y, 4).wait();
    return y;
  };
  for (const char* v : {"vector", "workgroup"}) {
    EXPECT_EQ(one(DType::Q8_0, &q8, sizeof q8, v), -16.0f) << v;
    EXPECT_EQ(one(DType::MXFP4, &fp4, sizeof fp4, v), 104.0f) << v;
    EXPECT_EQ(one(DType::Q4_0, &q4, sizeof q4, v), 64.0f) << v;
  }
}

TEST(OpenCLMatmul, BadArgumentsGiveClearErrors) {
  MIXCL_REQUIRE_OPENCL_DEVICE(dev);
  auto wb = dev.allocate(row_bytes(DType::Q8_0, 64) * 4);
  auto xb = dev.allocate(64 * 4 * 2);
  auto yb = dev.allocate(4 * 4 * 2);
  const WeightView wv{{wb.get(), 0}, DType::Q8_0, 64, 4};
  expect_error([&] { opencl_matmul(dev, {{wb.get(), 0}, DType::Q4_1, 64, 4}, {xb.get(), 0}, {yb.get(), 0}, 1); },
               "Q4_1 are not supported");
  expect_error([&] { opencl_matmul(dev, {{wb.get(), 0}, DType::Q4_K, 128, 1}, {xb.get(), 0}, {yb.get(), 0}, 1); },
               "multiple of 256");
  expect_error([&] { opencl_matmul(dev, wv, {xb.get(), 0}, {yb.get(), 0}, 3); }, "activation (x) view");
  expect_error([&] { opencl_matmul(dev, wv, {xb.get(), 0}, {yb.get(), 4}, 2); }, "output (y) view");
  expect_error([&] { opencl_matmul(dev, {{wb.get(), 0}, DType::Q8_0, 64, 5}, {xb.get(), 0}, {yb.get(), 0}, 1); },
               "weight view");
  expect_error([&] { opencl_matmul(dev, {{wb.get(), 1}, DType::Q8_0, 64, 3}, {xb.get(), 0}, {yb.get(), 0}, 1); },
               "multiple of 2 bytes");
  expect_error([&] { opencl_matmul(dev, wv, {xb.get(), 0}, {yb.get(), 0}, 1, cfg("simd")); },
               "unknown variant");
  // Weights allocated without the row granule: a row crosses a chunk boundary.
  auto split = discover_opencl_devices(device_options(mixcl::test::shared_opencl().cache_dir().string(), 100));
  auto sb = split.front()->allocate(row_bytes(DType::Q8_0, 64) * 4);
  auto sx = split.front()->allocate(64 * 4), sy = split.front()->allocate(16);
  expect_error([&] { opencl_matmul(*split.front(), {{sb.get(), 0}, DType::Q8_0, 64, 4}, {sx.get(), 0}, {sy.get(), 0}, 1); },
               "crosses the boundary");
  expect_error([&] { opencl_matmul(*split.front(), wv, {sx.get(), 0}, {sy.get(), 0}, 1); }, "lives on device");
}

}  // namespace
}  // namespace mixcl::backend
