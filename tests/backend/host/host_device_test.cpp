// Host device: budget accounting and the first ops against a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/host/host_device.h"

namespace mixcl::backend {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(HostDevice, BudgetErrorNamesDeviceAndBytes) {
  HostDevice host(HostOptions{.threads = 1, .budget_bytes = 1000, .isa = ""});
  auto a = host.allocate(600);
  EXPECT_EQ(host.memory().used(), 600u);
  try {
    host.allocate(500);
    FAIL() << "allocation beyond the budget succeeded";
  } catch (const OutOfBudget& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("host"), std::string::npos) << msg;
    EXPECT_NE(msg.find("500 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("400 B left"), std::string::npos) << msg;
  }
  a.reset();
  EXPECT_EQ(host.memory().used(), 0u);
  EXPECT_EQ(host.memory().peak(), 600u);
}

TEST(HostDevice, RmsNormMatchesDoubleReference) {
  HostDevice host;
  const uint64_t rows = 3, n = 1031;
  auto x = random_floats(rows * n, 1), w = random_floats(n, 2);
  auto bx = host.allocate(x.size() * 4), bw = host.allocate(w.size() * 4), bo = host.allocate(x.size() * 4);
  host.upload(*bx, 0, x.data(), x.size() * 4);
  host.upload(*bw, 0, w.data(), w.size() * 4);
  host.rmsnorm({bx.get()}, {bw.get()}, {bo.get()}, rows, n, 1e-6f);
  std::vector<float> out(x.size());
  host.download(*bo, 0, out.data(), out.size() * 4).wait();
  for (uint64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (uint64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
    const double inv = 1.0 / std::sqrt(ss / n + 1e-6);
    for (uint64_t i = 0; i < n; ++i) {
      const double ref = w[i] * x[r * n + i] * inv;
      ASSERT_NEAR(out[r * n + i], ref, 1e-5 * (1 + std::abs(ref))) << "row " << r << " col " << i;
    }
  }
}

TEST(HostDevice, AddAndScaleMatchReference) {
  HostDevice host;
  const uint64_t n = 100003;
  auto a = random_floats(n, 3), b = random_floats(n, 4);
  auto ba = host.allocate(n * 4), bb = host.allocate(n * 4), bo = host.allocate(n * 4);
  host.upload(*ba, 0, a.data(), n * 4);
  host.upload(*bb, 0, b.data(), n * 4);
  host.add({ba.get()}, {bb.get()}, {bo.get()}, n);
  std::vector<float> out(n);
  host.download(*bo, 0, out.data(), n * 4);
  for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] + b[i]);
  host.scale({ba.get()}, -0.37f, {bo.get()}, n);
  host.download(*bo, 0, out.data(), n * 4);
  for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] * -0.37f);
}

TEST(HostDevice, OutOfRangeViewIsAnError) {
  HostDevice host;
  auto b = host.allocate(64);
  EXPECT_THROW(host.add({b.get()}, {b.get()}, {b.get(), 8}, 16), Error);
}

}  // namespace
}  // namespace mixcl::backend
