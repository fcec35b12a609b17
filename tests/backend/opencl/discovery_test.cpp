// Discovery and capabilities: two PoCL devices at once, concurrent ops on both, and zero platforms as a normal case.
#include <gtest/gtest.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "backend/opencl/cl_error.h"
#include "opencl_test_util.h"
#include "tests/support/command.h"

namespace mixcl::backend::test {
namespace {

using mixcl::test::CommandResult;
using mixcl::test::run_command;

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(OpenCLDiscovery, FindsTwoPoclDevicesWithTheirCapabilities) {
  auto devices = cl_devices();
  ASSERT_EQ(devices.size(), 2u) << "POCL_DEVICES='pthread pthread' should expose two devices";
  EXPECT_EQ(devices[0]->name(), "cl0.0");
  EXPECT_EQ(devices[1]->name(), "cl0.1");
  for (const auto& d : devices) {
    const Capabilities& c = d->caps();
    SCOPED_TRACE(d->name());
    EXPECT_EQ(c.kind, DeviceKind::kOpenCL);
    EXPECT_EQ(c.type, "CPU");
    EXPECT_NE(c.platform_name.find("Portable Computing Language"), std::string::npos) << c.platform_name;
    EXPECT_FALSE(c.name.empty());
    EXPECT_FALSE(c.driver_version.empty());
    EXPECT_TRUE(contains(c.opencl_c_versions, "1.2")) << fmt::format("{}", fmt::join(c.opencl_c_versions, ","));
    EXPECT_TRUE(std::is_sorted(c.opencl_c_versions.begin(), c.opencl_c_versions.end()));
    EXPECT_GT(c.compute_units, 0u);
    EXPECT_GT(c.global_mem_bytes, 0u);
    EXPECT_GT(c.local_mem_bytes, 0u);
    EXPECT_GT(c.max_alloc_bytes, 0u);
    EXPECT_LE(c.max_alloc_bytes, c.global_mem_bytes);
    EXPECT_GT(c.max_work_group_size, 0u);
    EXPECT_TRUE(c.unified_memory) << "a CPU device shares the host's memory";
    EXPECT_GT(c.preferred_vector_width.float_w, 0u);
    // Features must agree with the extension list the driver reports.
    EXPECT_EQ(c.fp16, contains(c.extensions, "cl_khr_fp16"));
    EXPECT_EQ(c.subgroups, contains(c.extensions, "cl_khr_subgroups") || contains(c.extensions, "cl_intel_subgroups"));
    for (const auto& e : c.int_dot_extensions) EXPECT_TRUE(contains(c.extensions, e)) << e;
    // Default budget: 90% of global memory.
    EXPECT_EQ(d->memory().budget(), c.global_mem_bytes / 10 * 9);
    // CPU devices get the vector-per-work-item kernels.
    EXPECT_EQ(d->shape(), KernelShape::kVector);
    EXPECT_TRUE(d->std_option() == "-cl-std=CL3.0" || d->std_option() == "-cl-std=CL1.2") << d->std_option();
  }
}

TEST(OpenCLDiscovery, BothDevicesRunOpsConcurrently) {
  auto devices = cl_devices();
  ASSERT_EQ(devices.size(), 2u);
  const uint64_t rows = 4, n = 4099;
  std::vector<std::string> failures(devices.size());
  auto work = [&](size_t di) {
    OpenCLDevice& dev = *devices[di];
    try {
      auto x = random_floats(rows * n, 100 + di), w = random_floats(n, 200 + di);
      auto bx = dev.allocate(x.size() * 4), bw = dev.allocate(n * 4), bt = dev.allocate(x.size() * 4),
           bo = dev.allocate(x.size() * 4);
      dev.wait_for(dev.upload(*bx, 0, x.data(), x.size() * 4));
      dev.wait_for(dev.upload(*bw, 0, w.data(), n * 4));
      std::vector<float> out(x.size());
      for (int iter = 0; iter < 10; ++iter) {
        const float s = 0.5f + static_cast<float>(iter);
        dev.scale({bx.get()}, s, {bt.get()}, rows * n);         // t = s x
        dev.add({bt.get()}, {bx.get()}, {bt.get()}, rows * n);  // t = s x + x
        dev.rmsnorm({bt.get()}, {bw.get()}, {bo.get()}, rows, n, 1e-5f);
        dev.download(*bo, 0, out.data(), out.size() * 4).wait();
        for (uint64_t r = 0; r < rows; ++r) {
          double ss = 0;
          std::vector<double> t(n);
          for (uint64_t i = 0; i < n; ++i) {
            t[i] = static_cast<double>(x[r * n + i]) * s + x[r * n + i];
            ss += t[i] * t[i];
          }
          const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
          for (uint64_t i = 0; i < n; ++i) {
            const double ref = w[i] * t[i] * inv;
            if (std::abs(out[r * n + i] - ref) > 2e-5 * (1 + std::abs(ref))) {
              failures[di] = fmt::format("{} iter {} row {} col {}: {} vs {}", dev.name(), iter, r, i,
                                         out[r * n + i], ref);
              return;
            }
          }
        }
      }
    } catch (const std::exception& e) {
      failures[di] = e.what();
    }
  };
  std::thread t0(work, 0), t1(work, 1);
  t0.join();
  t1.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
}

// An ICD vendor folder without any vendor file: the loader then finds no platform.
std::string empty_vendor_env() {
  const std::string dir = fresh_dir("empty-vendors");
  return fmt::format("OCL_ICD_VENDORS='{}' OPENCL_VENDOR_PATH='{}' MIXCL_CACHE_DIR='{}' ", dir, dir, dir);
}

TEST(OpenCLDiscovery, ZeroPlatformsInAChildProcessIsEmptyNotAnError) {
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(len, 0);
  self[len] = '\0';
  CommandResult r = run_command(empty_vendor_env() + "'" + std::string(self) + "' --discover-child 2>&1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("opencl devices: 0"), std::string::npos) << r.output;
  // Same child with the normal environment sees the two PoCL devices, so the check above can fail.
  r = run_command("'" + std::string(self) + "' --discover-child 2>&1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("opencl devices: 2"), std::string::npos) << r.output;
}

TEST(OpenCLDiscovery, CliWithZeroPlatformsListsTheHostAndSaysSoOnce) {
  ASSERT_TRUE(std::filesystem::exists(MIXCL_BINARY)) << "build the mixcl target first: " << MIXCL_BINARY;
  CommandResult r = run_command(empty_vendor_env() + "'" MIXCL_BINARY "' devices 2>&1");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string& output = r.output;
  EXPECT_NE(output.find("host"), std::string::npos) << output;
  EXPECT_EQ(output.find("cl0."), std::string::npos) << output;
  const std::string note = "no OpenCL device found";
  const size_t first = output.find(note);
  ASSERT_NE(first, std::string::npos) << output;
  EXPECT_EQ(output.find(note, first + 1), std::string::npos) << "said more than once:\n" << output;

  // --json keeps stdout a clean JSON array (the note goes to stderr).
  const CommandResult j = run_command(empty_vendor_env() + "'" MIXCL_BINARY "' devices --json 2>/dev/null");
  ASSERT_EQ(j.status, 0) << j.output;
  const auto json = nlohmann::json::parse(j.output);
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["name"], "host");
}

// The registry (backend/registry.cpp) is checked through the CLI: host first, then each OpenCL device.
TEST(OpenCLDiscovery, CliJsonListsHostAndBothPoclDevices) {
  const CommandResult j = run_command("'" MIXCL_BINARY "' devices --json 2>/dev/null");
  ASSERT_EQ(j.status, 0) << j.output;
  const auto json = nlohmann::json::parse(j.output);
  ASSERT_EQ(json.size(), 3u) << j.output;
  EXPECT_EQ(json[0]["name"], "host");
  EXPECT_EQ(json[1]["name"], "cl0.0");
  EXPECT_EQ(json[2]["name"], "cl0.1");
  EXPECT_EQ(json[1]["type"], "CPU");
  EXPECT_TRUE(json[1]["opencl_c_versions"].is_array());
  EXPECT_GT(json[1]["max_alloc_bytes"].get<uint64_t>(), 0u);
  EXPECT_FALSE(json[1].contains("probe"));
  // The table form names the same devices.
  const CommandResult t = run_command("'" MIXCL_BINARY "' devices 2>&1");
  ASSERT_EQ(t.status, 0) << t.output;
  for (const char* s : {"host", "cl0.0", "cl0.1", "OpenCL C", "sub-groups", "max allocation"})
    EXPECT_NE(t.output.find(s), std::string::npos) << s << "\n" << t.output;
}

TEST(OpenCLErrors, NamesOpenCLErrorCodes) {
  EXPECT_EQ(cl_error_name(-5), "CL_OUT_OF_RESOURCES");
  EXPECT_EQ(cl_error_name(-4), "CL_MEM_OBJECT_ALLOCATION_FAILURE");
  EXPECT_EQ(cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
  EXPECT_EQ(cl_error_name(-11), "CL_BUILD_PROGRAM_FAILURE");
  EXPECT_EQ(cl_error_name(-12345), "CL_ERROR(-12345)");
  const std::string msg = cl_failure("cl0.1", "clEnqueueNDRangeKernel", -54).what();
  EXPECT_EQ(msg, "device cl0.1: clEnqueueNDRangeKernel failed: CL_INVALID_WORK_GROUP_SIZE (-54)");
}

}  // namespace
}  // namespace mixcl::backend::test
