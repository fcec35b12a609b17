// Binding profile devices to discovered devices (fake capability lists and, with PoCL, real ones), and host
// settings as backend options.
#include <gtest/gtest.h>

#include <cstdlib>

#include "backend/registry.h"
#include "common/error.h"
#include "scheduler/profile_match.h"

namespace mixcl::scheduler {
namespace {

backend::Capabilities cl(std::string platform, std::string vendor, std::string name, std::string type) {
  backend::Capabilities c;
  c.kind = backend::DeviceKind::kOpenCL;
  c.platform_name = std::move(platform);
  c.vendor = std::move(vendor);
  c.name = std::move(name);
  c.type = std::move(type);
  return c;
}

backend::Capabilities host_caps() {
  backend::Capabilities c;
  c.kind = backend::DeviceKind::kHost;
  c.type = "host";
  c.name = "Some CPU";
  return c;
}

/// A machine: the host, two NVIDIA GPUs of different models, an AMD iGPU, two PoCL CPU devices.
struct Machine {
  std::vector<std::string> names = {"host", "cl0.0", "cl0.1", "cl1.0", "cl2.0", "cl2.1"};
  std::vector<backend::Capabilities> caps = {
      host_caps(),
      cl("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA GeForce RTX 4090", "GPU"),
      cl("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA GeForce RTX 3090", "GPU"),
      cl("AMD Accelerated Parallel Processing", "Advanced Micro Devices, Inc.", "gfx1103", "GPU"),
      cl("Portable Computing Language", "AuthenticAMD", "pthread-AMD Ryzen 7", "CPU"),
      cl("Portable Computing Language", "AuthenticAMD", "pthread-AMD Ryzen 7", "CPU"),
  };
};

Profile profile(const std::string& devices_yaml) {
  return parse_profile("devices:\n" + devices_yaml, "match.yaml", ".");
}

std::vector<size_t> match(const std::string& devices_yaml) {
  Machine m;
  return match_device_indices(profile(devices_yaml), m.names, m.caps);
}

std::string match_error(const std::string& devices_yaml) {
  try {
    match(devices_yaml);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a matching error";
  return "";
}

TEST(DeviceMatches, FieldsAreCaseInsensitiveSubstringsAndTypeIsExact) {
  const auto gpu = cl("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA GeForce RTX 4090", "GPU");
  DeviceMatch m;
  EXPECT_TRUE(device_matches(m, gpu)) << "an empty match takes any OpenCL device";
  EXPECT_FALSE(device_matches(m, host_caps())) << "the host is never a profile device";
  m.vendor = "nvidia";
  m.name = "rtx 4090";
  EXPECT_TRUE(device_matches(m, gpu));
  m.platform = "cuda";
  EXPECT_TRUE(device_matches(m, gpu));
  m.type = "GPU";
  EXPECT_TRUE(device_matches(m, gpu));
  m.type = "CPU";
  EXPECT_FALSE(device_matches(m, gpu));
  m.type = "GPU";
  m.name = "3090";
  EXPECT_FALSE(device_matches(m, gpu));
}

TEST(MatchDevices, ByNameTypeAndIndex) {
  EXPECT_EQ(match("  a: {match: {name: '3090'}}\n  b: {match: {name: '4090'}}\n"), (std::vector<size_t>{2, 1}));
  EXPECT_EQ(match("  a: {match: {type: GPU, index: 2}}\n"), (std::vector<size_t>{3}));
  EXPECT_EQ(match("  a: {match: {platform: portable, index: 1}}\n  b: {match: {platform: portable, index: 0}}\n"),
            (std::vector<size_t>{5, 4}));
  // Without index, each profile device takes the first matching device not taken yet.
  EXPECT_EQ(match("  a: {match: {type: CPU}}\n  b: {match: {type: CPU}}\n"), (std::vector<size_t>{4, 5}));
  EXPECT_EQ(match("  a: {match: {vendor: advanced micro}}\n"), (std::vector<size_t>{3}));
  EXPECT_EQ(match("  a: {}\n"), (std::vector<size_t>{1})) << "an empty match takes the first OpenCL device";
}

TEST(MatchDevices, NoMatchListsEveryAvailableDevice) {
  const std::string msg = match_error("  npu: {match: {type: ACCELERATOR}}\n");
  EXPECT_NE(msg.find("device 'npu' (match.yaml:2; match: type ACCELERATOR): no device matches"), std::string::npos)
      << msg;
  for (const char* part : {"host: the host", "cl0.0: type GPU, vendor 'NVIDIA Corporation', name 'NVIDIA GeForce RTX 4090'",
                           "cl1.0: type GPU", "cl2.1: type CPU", "platform 'Portable Computing Language'",
                           "Edit `devices.npu.match`"})
    EXPECT_NE(msg.find(part), std::string::npos) << part << "\nin: " << msg;
}

TEST(MatchDevices, IndexOutOfRangeAndDevicesTaken) {
  std::string msg = match_error("  a: {match: {vendor: nvidia, index: 2}}\n");
  EXPECT_NE(msg.find("only 2 device(s) match, so index 2 does not exist"), std::string::npos) << msg;
  msg = match_error("  a: {match: {type: GPU, name: rtx}}\n  b: {match: {name: rtx}}\n  c: {match: {name: rtx}}\n");
  EXPECT_NE(msg.find("device 'c'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("every one of the 2 matching device(s) is taken"), std::string::npos) << msg;
  msg = match_error("  a: {match: {name: '4090'}}\n  b: {match: {vendor: nvidia, index: 0}}\n");
  EXPECT_NE(msg.find("devices 'a' and 'b' both match cl0.0"), std::string::npos) << msg;
}

TEST(HostOptions, ProfileFieldsOverrideOnlyWhenSet) {
  backend::HostOptions base;
  base.threads = 3;
  base.isa = "generic";
  base.budget_bytes = 123;
  const auto same = host_options(HostProfile{}, base);
  EXPECT_EQ(same.threads, 3);
  EXPECT_EQ(same.isa, "generic");
  EXPECT_EQ(same.budget_bytes, 123u);
  const Profile p = parse_profile("host: {threads: 2, isa: avx2, dram_budget: 1GiB}\n", "h.yaml", ".");
  const auto set = host_options(p.host, base);
  EXPECT_EQ(set.threads, 2);
  EXPECT_EQ(set.isa, "avx2");
  EXPECT_EQ(set.budget_bytes, 1ull << 30);
}

TEST(MatchDevices, Pocl2devOnTheDiscoveredPoclDevices) {
  // Two PoCL pthread devices, as the tests of the scheduler run them.
  setenv("POCL_DEVICES", "pthread pthread", 0);
  auto devices = backend::discover_devices();
  std::vector<backend::Device*> all;
  for (auto& d : devices) all.push_back(d.get());
  size_t pocl = 0;
  for (auto* d : all) pocl += d->caps().platform_name.find("Portable Computing Language") != std::string::npos;
  if (pocl < 2) GTEST_SKIP() << "needs two PoCL devices (POCL_DEVICES=\"pthread pthread\"); found " << pocl;
  const Profile p = load_profile(std::filesystem::path(MIXCL_SOURCE_DIR) / "profiles/pocl-2dev.yaml");
  const auto matched = match_devices(p, all);
  ASSERT_EQ(matched.size(), 2u);
  EXPECT_NE(matched[0], matched[1]);
  for (auto* d : matched) EXPECT_EQ(d->caps().kind, backend::DeviceKind::kOpenCL);
  apply_device_budgets(p, matched);
  EXPECT_EQ(matched[0]->memory().budget(), 1536u * 1024);
  EXPECT_EQ(matched[1]->memory().budget(), 1536u * 1024);
  // A budget above what the device has is refused.
  Profile big = p;
  big.devices[0].memory_budget = matched[0]->caps().global_mem_bytes + 1;
  EXPECT_THROW(apply_device_budgets(big, matched), Error);
}

}  // namespace
}  // namespace mixcl::scheduler
