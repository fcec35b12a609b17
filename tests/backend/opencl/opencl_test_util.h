#pragma once
// Shared helpers of the OpenCL device tests: a per-process temporary cache folder, the PoCL devices, random data.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/opencl/opencl_device.h"

namespace mixcl::backend::test {

/// The temporary folder of this test process (created by test_main.cpp, removed at exit).
const std::string& temp_dir();
/// A fresh, empty subfolder of temp_dir().
std::string fresh_dir(const std::string& name);

/// Every OpenCL device (PoCL exposes two: POCL_DEVICES is set before OpenCL starts), with the cache in temp_dir().
std::vector<std::unique_ptr<OpenCLDevice>> cl_devices(OpenCLOptions options = {});

/// Options with every field named (designated initializers that skip fields trip -Wmissing-field-initializers).
inline OpenCLOptions options_with(uint64_t budget_bytes, uint64_t max_alloc_override, std::string cache_dir = "",
                                  std::string variant = "") {
  OpenCLOptions o;
  o.budget_bytes = budget_bytes;
  o.max_alloc_override = max_alloc_override;
  o.cache_dir = std::move(cache_dir);
  o.variant = std::move(variant);
  return o;
}

/// Normally distributed floats, reproducible per seed.
inline std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace mixcl::backend::test
