// The probe: plausible figures on the host and an OpenCL device with a short configuration (no speed
// targets), budgets honoured, and the probe.json cache round trip including corrupt files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/host/host_device.h"
#include "backend/opencl/opencl_device.h"
#include "backend/probe.h"

namespace mixcl::backend {
namespace {

namespace fs = std::filesystem;

ProbeOptions short_options() {
  ProbeOptions options;
  options.buffer_bytes = 48ull << 20;
  options.seconds_per_test = 0.03;
  options.trials = 2;
  return options;
}

void expect_plausible_bandwidth(double gbps, const char* what) {
  EXPECT_GT(gbps, 0.1) << what;  // loose: a loaded 2-core CI machine may get a fraction of its bandwidth
  EXPECT_LT(gbps, 1000.0) << what;
}

TEST(Probe, HostFiguresArePlausible) {
  HostDevice host;
  const ProbeResult r = probe_device(host, short_options());
  EXPECT_EQ(r.device, "host");
  EXPECT_EQ(r.device_id, probe_device_id(host));
  EXPECT_NE(r.device_id.find(host.caps().name), std::string::npos);
  expect_plausible_bandwidth(r.read_gbps, "host read");
  EXPECT_GT(r.fp32_gflops, 0.1);
  EXPECT_LT(r.fp32_gflops, 1e5);
  EXPECT_GT(r.fp32_vector_width, 0u);
  EXPECT_EQ(r.host_to_device_gbps, 0.0);  // no copy between the host and itself
  EXPECT_EQ(r.device_to_host_gbps, 0.0);
  EXPECT_EQ(r.buffer_bytes, 48ull << 20);
  EXPECT_EQ(r.measured_at.size(), 20u) << r.measured_at;  // 2026-01-02T03:04:05Z
  EXPECT_EQ(host.memory().used(), 0u);  // everything freed
  EXPECT_GE(host.memory().peak(), 48ull << 20);  // and allocated through the budget
}

TEST(Probe, ReadOnlyMeasuresOnlyTheReadBandwidth) {
  HostDevice host;
  ProbeOptions options = short_options();
  options.read_only = true;
  const ProbeResult r = probe_device(host, options);
  expect_plausible_bandwidth(r.read_gbps, "host read, read only");
  EXPECT_EQ(r.fp32_gflops, 0.0);  // the compute test did not run
  EXPECT_EQ(r.fp32_vector_width, 0u);
  EXPECT_EQ(r.buffer_bytes, 48ull << 20);
  EXPECT_EQ(host.memory().used(), 0u);

  auto devices = discover_opencl_devices();
  if (devices.empty()) return;  // the host half above still ran
  OpenCLDevice& device = *devices.front();
  const uint64_t used_before = device.memory().used();
  options.buffer_bytes = 16ull << 20;
  const ProbeResult d = probe_device(device, options);
  expect_plausible_bandwidth(d.read_gbps, "device read, read only");
  EXPECT_EQ(d.fp32_gflops, 0.0);
  EXPECT_EQ(d.host_to_device_gbps, 0.0);  // nor the copies
  EXPECT_EQ(d.device_to_host_gbps, 0.0);
  EXPECT_EQ(device.memory().used(), used_before);
}

TEST(Probe, AutomaticBufferStaysWithinTheBudget) {
  HostDevice host(HostOptions{.threads = 1, .budget_bytes = 60ull << 20, .isa = ""});
  ProbeOptions options = short_options();
  options.buffer_bytes = 0;
  const ProbeResult r = probe_device(host, options);
  EXPECT_LE(r.buffer_bytes, 20ull << 20);
  EXPECT_GE(r.buffer_bytes, 19ull << 20);
  EXPECT_LE(host.memory().peak(), 60ull << 20);
  expect_plausible_bandwidth(r.read_gbps, "host read, small buffer");
}

TEST(Probe, RefusesATooSmallBudgetAndBadOptions) {
  HostDevice host(HostOptions{.threads = 1, .budget_bytes = 2ull << 20, .isa = ""});
  try {
    probe_device(host, short_options());
    FAIL() << "probing with a 2 MiB budget succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("budget"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("host"), std::string::npos) << e.what();
  }
  HostDevice big;
  ProbeOptions bad = short_options();
  bad.seconds_per_test = 0;
  EXPECT_THROW(probe_device(big, bad), Error);
  bad = short_options();
  bad.trials = 0;
  EXPECT_THROW(probe_device(big, bad), Error);
}

TEST(Probe, OpenCLFiguresArePlausible) {
  auto devices = discover_opencl_devices();
  if (devices.empty()) GTEST_SKIP() << "no OpenCL device on this machine";
  OpenCLDevice& device = *devices.front();
  const uint64_t used_before = device.memory().used();
  ProbeOptions options = short_options();
  options.buffer_bytes = 16ull << 20;
  const ProbeResult r = probe_device(device, options);
  EXPECT_EQ(r.device, device.name());
  EXPECT_EQ(r.buffer_bytes, 16ull << 20);
  EXPECT_NE(r.device_id.find(device.caps().driver_version), std::string::npos) << r.device_id;
  expect_plausible_bandwidth(r.read_gbps, "device read");
  EXPECT_GT(r.fp32_gflops, 0.1);
  EXPECT_LT(r.fp32_gflops, 1e6);
  for (uint32_t w : {r.read_vector_width, r.fp32_vector_width})
    EXPECT_TRUE(w == 1 || w == 2 || w == 4 || w == 8 || w == 16) << w;
  for (double gbps : {r.host_to_device_gbps, r.device_to_host_gbps}) {
    EXPECT_GT(gbps, 0.05);
    EXPECT_LT(gbps, 1000.0);
  }
  EXPECT_EQ(device.memory().used(), used_before);  // data, outputs and the staging buffer are gone
}

// Points every cache variable at a fresh folder for one test and restores them afterwards.
class ProbeCache : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVars) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
    }
    dir_ = fs::temp_directory_path() / ("mixcl_probe_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    setenv("MIXCL_CACHE_DIR", (dir_ / "cache").c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
    }
    fs::remove_all(dir_);
  }
  static ProbeResult sample(const std::string& id, double read) {
    ProbeResult r;
    r.device = "cl0.0";
    r.device_id = id;
    r.read_gbps = read;
    r.read_vector_width = 8;
    r.fp32_gflops = 123.25;
    r.fp32_vector_width = 16;
    r.host_to_device_gbps = 7.5;
    r.device_to_host_gbps = 6.25;
    r.buffer_bytes = 512ull << 20;
    r.measured_at = "2026-01-02T03:04:05Z";
    return r;
  }
  static void expect_same(const ProbeResult& a, const ProbeResult& b) {
    EXPECT_EQ(a.device, b.device);
    EXPECT_EQ(a.device_id, b.device_id);
    EXPECT_EQ(a.read_gbps, b.read_gbps);
    EXPECT_EQ(a.read_vector_width, b.read_vector_width);
    EXPECT_EQ(a.fp32_gflops, b.fp32_gflops);
    EXPECT_EQ(a.fp32_vector_width, b.fp32_vector_width);
    EXPECT_EQ(a.host_to_device_gbps, b.host_to_device_gbps);
    EXPECT_EQ(a.device_to_host_gbps, b.device_to_host_gbps);
    EXPECT_EQ(a.buffer_bytes, b.buffer_bytes);
    EXPECT_EQ(a.measured_at, b.measured_at);
  }
  void write_file(const std::string& text) {
    fs::create_directories(dir_ / "cache");
    std::ofstream(dir_ / "cache" / "probe.json") << text;
  }

  static constexpr const char* kVars[] = {"MIXCL_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
  fs::path dir_;
};

TEST_F(ProbeCache, PathFollowsTheEnvironmentInOrder) {
  EXPECT_EQ(probe_cache_path(), (dir_ / "cache" / "probe.json").string());
  unsetenv("MIXCL_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(probe_cache_path(), "/x/cache/mixcl/probe.json");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(probe_cache_path(), "/home/someone/.cache/mixcl/probe.json");
  unsetenv("HOME");
  EXPECT_THROW(probe_cache_path(), Error);
  EXPECT_FALSE(load_probe_result("anything").has_value());  // no folder at all: nothing saved
}

TEST_F(ProbeCache, SaveAndLoadRoundTripKeepingOtherDevices) {
  EXPECT_FALSE(load_probe_result("a").has_value());  // no file yet
  const std::string path = save_probe_results({sample("a", 40.5), sample("b | x | y", 10.0)});
  EXPECT_EQ(path, probe_cache_path());
  auto a = load_probe_result("a");
  auto b = load_probe_result("b | x | y");
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  expect_same(*a, sample("a", 40.5));
  expect_same(*b, sample("b | x | y", 10.0));
  EXPECT_FALSE(load_probe_result("c").has_value());

  save_probe_results({sample("a", 41.0)});  // a later probe of one device replaces only its entry
  EXPECT_EQ(load_probe_result("a")->read_gbps, 41.0);
  EXPECT_EQ(load_probe_result("b | x | y")->read_gbps, 10.0);
  for (const auto& entry : fs::directory_iterator(dir_ / "cache"))  // no temporary file left behind
    EXPECT_EQ(entry.path().filename(), "probe.json");
}

TEST_F(ProbeCache, CorruptFileGivesNothingAndIsReplacedOnSave) {
  write_file("{\"format\": 1, \"devices\": {\"a\": {\"read_gb");
  EXPECT_FALSE(load_probe_result("a").has_value());
  write_file("not json at all");
  EXPECT_FALSE(load_probe_result("a").has_value());
  write_file("[1, 2, 3]");
  EXPECT_FALSE(load_probe_result("a").has_value());
  write_file("{\"format\": 99, \"devices\": {}}");
  EXPECT_FALSE(load_probe_result("a").has_value());
  write_file("{\"format\": 1, \"devices\": {\"a\": {\"device\": \"cl0.0\", \"read_gbps\": \"fast\"}}}");
  EXPECT_FALSE(load_probe_result("a").has_value());

  save_probe_results({sample("a", 40.5)});
  ASSERT_TRUE(load_probe_result("a").has_value());
  std::ifstream in(dir_ / "cache" / "probe.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["format"], 1);
  EXPECT_EQ(j["devices"].size(), 1u);
}

TEST_F(ProbeCache, ProbedHostResultSurvivesTheRoundTrip) {
  HostDevice host;
  const ProbeResult r = probe_device(host, short_options());
  save_probe_results({r});
  auto back = load_probe_result(probe_device_id(host));
  ASSERT_TRUE(back.has_value());
  expect_same(*back, r);
}

}  // namespace
}  // namespace mixcl::backend
