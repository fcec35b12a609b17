// add, scale and rmsnorm on every OpenCL device and in both kernel shapes, against double-precision references,
// with odd sizes, several rows and views at offsets.
#include <gtest/gtest.h>

#include <cmath>

#include "opencl_test_util.h"

namespace mixcl::backend::test {
namespace {

constexpr uint64_t kSizes[] = {1, 7, 1031, 100003};
// Offsets (in floats) of the views inside their buffers, different per argument.
constexpr uint64_t kOffA = 3, kOffB = 5, kOffOut = 11;

class OpenCLOps : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    devices_ = cl_devices(options_with(0, 0, "", GetParam()));
    ASSERT_EQ(devices_.size(), 2u);
    for (auto& d : devices_)
      ASSERT_EQ(d->shape(), GetParam() == "workgroup" ? KernelShape::kWorkGroup : KernelShape::kVector);
  }
  // A buffer of `pad + data.size()` floats holding `data` from float `pad` on.
  std::shared_ptr<Buffer> put(OpenCLDevice& dev, const std::vector<float>& data, uint64_t pad) {
    std::vector<float> padded(pad, -777.0f);
    padded.insert(padded.end(), data.begin(), data.end());
    auto b = dev.allocate(padded.size() * 4);
    dev.upload(*b, 0, padded.data(), padded.size() * 4).wait();
    return b;
  }
  std::vector<float> get(OpenCLDevice& dev, const Buffer& b, uint64_t pad, uint64_t n) {
    std::vector<float> out(n);
    dev.download(b, pad * 4, out.data(), n * 4).wait();
    return out;
  }
  std::vector<std::unique_ptr<OpenCLDevice>> devices_;
};

// |got - ref| within half an ulp of f32 (the op rounds once).
void expect_rounded(float got, double ref, const std::string& where) {
  ASSERT_LE(std::abs(got - ref), std::abs(ref) * 0x1p-24 * 1.0001) << where << ": " << got << " vs " << ref;
}

TEST_P(OpenCLOps, AddMatchesDoubleReference) {
  for (auto& dev : devices_) {
    for (uint64_t n : kSizes) {
      auto a = random_floats(n, 10 + n), b = random_floats(n, 20 + n);
      auto ba = put(*dev, a, kOffA), bb = put(*dev, b, kOffB), bo = put(*dev, std::vector<float>(n + 9, 0), kOffOut);
      dev->add({ba.get(), kOffA * 4}, {bb.get(), kOffB * 4}, {bo.get(), kOffOut * 4}, n);
      const auto out = get(*dev, *bo, 0, kOffOut + n + 9);
      for (uint64_t i = 0; i < n; ++i)
        expect_rounded(out[kOffOut + i], double(a[i]) + double(b[i]), fmt::format("{} n={} i={}", dev->name(), n, i));
      // Nothing outside the view was written.
      for (uint64_t i = 0; i < kOffOut; ++i) ASSERT_EQ(out[i], -777.0f) << "before the view, i=" << i;
      for (uint64_t i = kOffOut + n; i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f) << "after the view, i=" << i;
    }
  }
}

TEST_P(OpenCLOps, ScaleMatchesDoubleReference) {
  for (auto& dev : devices_) {
    for (uint64_t n : kSizes) {
      auto x = random_floats(n, 30 + n);
      const float s = -1.7f;
      auto bx = put(*dev, x, kOffA), bo = put(*dev, std::vector<float>(n + 9, 0), kOffOut);
      dev->scale({bx.get(), kOffA * 4}, s, {bo.get(), kOffOut * 4}, n);
      const auto out = get(*dev, *bo, 0, kOffOut + n + 9);
      for (uint64_t i = 0; i < n; ++i)
        expect_rounded(out[kOffOut + i], double(x[i]) * s, fmt::format("{} n={} i={}", dev->name(), n, i));
      for (uint64_t i = 0; i < kOffOut; ++i) ASSERT_EQ(out[i], -777.0f);
      for (uint64_t i = kOffOut + n; i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f);
    }
  }
}

TEST_P(OpenCLOps, ScaleInPlace) {
  auto& dev = devices_[1];
  const uint64_t n = 1031;
  auto x = random_floats(n, 5);
  auto bx = put(*dev, x, 0);
  dev->scale({bx.get()}, 0.25f, {bx.get()}, n);
  const auto out = get(*dev, *bx, 0, n);
  for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], x[i] * 0.25f);
}

TEST_P(OpenCLOps, RmsNormMatchesDoubleReference) {
  const float eps = 1e-6f;
  for (auto& dev : devices_) {
    for (uint64_t n : kSizes) {
      for (uint64_t rows : {uint64_t{1}, uint64_t{3}}) {
        auto x = random_floats(rows * n, 40 + n + rows), w = random_floats(n, 50 + n);
        // A row far from unit scale checks that the normalisation really divides by the row's RMS.
        for (uint64_t i = 0; i < n; ++i) x[i] *= 300.0f;
        auto bx = put(*dev, x, kOffA), bw = put(*dev, w, kOffB),
             bo = put(*dev, std::vector<float>(rows * n + 9, 0), kOffOut);
        dev->rmsnorm({bx.get(), kOffA * 4}, {bw.get(), kOffB * 4}, {bo.get(), kOffOut * 4}, rows, n, eps);
        const auto out = get(*dev, *bo, 0, kOffOut + rows * n + 9);
        for (uint64_t r = 0; r < rows; ++r) {
          double ss = 0;
          for (uint64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
          const double inv = 1.0 / std::sqrt(ss / double(n) + eps);
          for (uint64_t i = 0; i < n; ++i) {
            const double ref = double(w[i]) * x[r * n + i] * inv;
            ASSERT_NEAR(out[kOffOut + r * n + i], ref, 1e-5 * (1 + std::abs(ref)))
                << dev->name() << " n=" << n << " rows=" << rows << " row " << r << " col " << i;
          }
        }
        for (uint64_t i = 0; i < kOffOut; ++i) ASSERT_EQ(out[i], -777.0f);
        for (uint64_t i = kOffOut + rows * n; i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f);
      }
    }
  }
}

TEST_P(OpenCLOps, RmsNormMatchesTheHostDevice) {
  // Same inputs on both kinds of device; the ops promise the same formula, so results agree closely.
  auto& dev = devices_[0];
  const uint64_t rows = 5, n = 4096;
  auto x = random_floats(rows * n, 60), w = random_floats(n, 61);
  auto bx = put(*dev, x, 0), bw = put(*dev, w, 0), bo = put(*dev, std::vector<float>(rows * n, 0), 0);
  dev->rmsnorm({bx.get()}, {bw.get()}, {bo.get()}, rows, n, 1e-5f);
  const auto out = get(*dev, *bo, 0, rows * n);
  for (uint64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (uint64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / n + 1e-5));
    for (uint64_t i = 0; i < n; ++i) {
      const float host = w[i] * (x[r * n + i] * inv);
      ASSERT_NEAR(out[r * n + i], host, 4e-6f * (1 + std::abs(host))) << r << "," << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, OpenCLOps, ::testing::Values("vector", "workgroup"),
                         [](const auto& info) { return info.param; });

TEST(OpenCLOpsVariant, UnknownVariantIsAnError) {
  EXPECT_TRUE(cl_devices(options_with(0, 0, "", "bogus")).empty()) << "discovery skips (and logs) a device it cannot set up";
  cl::Platform platform = cl::Platform::getDefault();
  std::vector<cl::Device> devs;
  platform.getDevices(CL_DEVICE_TYPE_ALL, &devs);
  ASSERT_FALSE(devs.empty());
  EXPECT_THROW(OpenCLDevice(platform, devs[0], "cl0.0", options_with(0, 0, "", "bogus")), Error);
}

}  // namespace
}  // namespace mixcl::backend::test
