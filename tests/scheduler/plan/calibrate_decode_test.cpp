// calibrate_decode: a real decode of a synthetic model through the executor on each device gives a positive,
// finite per-op cost, consistent with its own measured and roofline figures. No timing is asserted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "backend/registry.h"
#include "common/error.h"
#include "scheduler/calibrate.h"

namespace mixcl::scheduler {
namespace {

DecodeCalibrationOptions quick() {
  DecodeCalibrationOptions o;
  o.layers = 3;
  o.tokens = 4;
  o.repetitions = 1;
  o.min_seconds = 0;
  o.warmup = 1;
  return o;
}

TEST(CalibrateDecode, HostAndOpenClGivePositiveFiniteFigures) {
  backend::DiscoveryOptions d;
  d.opencl = true;
  const auto devices = backend::discover_devices(d);
  ASSERT_FALSE(devices.empty());
  bool opencl = false;
  for (const auto& dev : devices) {
    SCOPED_TRACE(dev->name());
    DeviceSpeeds speeds;
    speeds.read_gbps = 20;
    speeds.fp32_gflops = 100;
    speeds.matvec_gbps = {{DType::Q4_K, 10}, {DType::Q8_0, 15}};
    if (dev->caps().kind != backend::DeviceKind::kHost) {
      opencl = true;
      speeds.h2d_gbps = speeds.d2h_gbps = 10;
      speeds.copy_latency_us = 20;
    }
    const uint64_t used = dev->memory().used();
    const DecodeCalibration c = calibrate_decode(*dev, speeds, quick());
    EXPECT_TRUE(std::isfinite(c.op_overhead_us) && c.op_overhead_us > 0) << c.op_overhead_us;
    EXPECT_TRUE(std::isfinite(c.measured_us) && c.measured_us > 0) << c.measured_us;
    EXPECT_TRUE(std::isfinite(c.roofline_us) && c.roofline_us > 0) << c.roofline_us;
    EXPECT_GT(c.ops, 3 * 10.0) << "three layers launch at least ten ops each";
    if (c.floored) {
      EXPECT_LE(c.measured_us, c.roofline_us + c.op_overhead_us * c.ops * 1.0000001);
    } else {
      // The figure is the time above the roofline spread over the ops.
      EXPECT_NEAR(c.op_overhead_us * c.ops, c.measured_us - c.roofline_us, 1e-9 * c.measured_us);
    }
    EXPECT_EQ(c.model, "tiny-v3, 3 layers");
    EXPECT_EQ(dev->memory().used(), used) << "the calibration model's buffers must be freed";
  }
  EXPECT_TRUE(opencl) << "no OpenCL device found: the PoCL path of calibrate_decode went untested";
}

TEST(CalibrateDecode, SlowerRatesLeaveLessForTheOps) {
  // The same device and model: a roofline from slower rates leaves less of the measured time to the ops.
  backend::DiscoveryOptions d;
  d.opencl = false;
  const auto devices = backend::discover_devices(d);
  DeviceSpeeds fast, slow;
  fast.read_gbps = slow.read_gbps = 1000;
  fast.fp32_gflops = slow.fp32_gflops = 1e5;
  slow.matvec_gbps = {{DType::Q4_K, 0.001}};  // absurdly slow: the roofline exceeds any measured time
  const DecodeCalibration f = calibrate_decode(*devices.front(), fast, quick());
  const DecodeCalibration s = calibrate_decode(*devices.front(), slow, quick());
  EXPECT_GT(s.roofline_us, f.roofline_us);
  EXPECT_TRUE(s.floored);
  EXPECT_GT(s.op_overhead_us, 0);
  EXPECT_EQ(f.ops, s.ops);
}

TEST(CalibrateDecode, RejectsNonsenseOptionsAndLeavesNoFile) {
  backend::DiscoveryOptions d;
  d.opencl = false;
  const auto devices = backend::discover_devices(d);
  DecodeCalibrationOptions bad = quick();
  bad.tokens = 1;
  try {
    calibrate_decode(*devices.front(), {}, bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokens >= 2"), std::string::npos) << e.what();
  }
  bad = quick();
  bad.geometry = "no-such-geometry";
  try {
    calibrate_decode(*devices.front(), {}, bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("calibrate host"), std::string::npos) << e.what();
  }
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    EXPECT_EQ(entry.path().filename().string().rfind("mixcl-calibrate-" + std::to_string(::getpid()), 0),
              std::string::npos)
        << "left behind: " << entry.path();
}

}  // namespace
}  // namespace mixcl::scheduler
