#pragma once
// Profiles built in code for the planner tests.
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/plan.h"
#include "scheduler/profile.h"

namespace mixcl::scheduler::test {

/// An accelerator of a test profile.
struct TestDevice {
  std::string id;
  uint64_t budget = 0;
  double read_gbps = 0, gflops = 0, link_gbps = 0;
};

/// A profile with the given host budget and speeds and these accelerators.
inline Profile make_profile(std::string name, uint64_t host_budget, double host_gbps, double host_gflops,
                            std::vector<TestDevice> devices) {
  Profile p;
  p.name = std::move(name);
  p.host.dram_budget = host_budget;
  p.host.speeds.read_gbps = host_gbps;
  p.host.speeds.fp32_gflops = host_gflops;
  for (const TestDevice& d : devices) {
    DeviceProfile dp;
    dp.id = d.id;
    dp.memory_budget = d.budget;
    dp.speeds.read_gbps = d.read_gbps;
    dp.speeds.fp32_gflops = d.gflops;
    dp.speeds.h2d_gbps = dp.speeds.d2h_gbps = d.link_gbps;
    p.devices.push_back(dp);
  }
  return p;
}

/// Bytes of the model's tensors that some step reads (MTP blocks excluded).
inline uint64_t used_weight_bytes(const Plan& plan) {
  uint64_t n = 0;
  for (const TensorPlan& t : plan.tensors)
    if (t.step != StepKind::kUnused) n += t.bytes;
  return n;
}

}  // namespace mixcl::scheduler::test
