#pragma once
// Measures what a device can really do: memory read bandwidth, fp32 compute, host<->device copies.
// Later reports give kernel speed as a percentage of these figures.
#include <optional>
#include <string>

#include "backend/device.h"

namespace mixcl::backend {

/// Measured figures of one device (0 where a figure does not apply).
struct ProbeResult {
  std::string device;          // Device::name()
  std::string device_id;       // name + driver + platform version: results are reused only for the same one
  double read_gbps = 0;        // device memory read bandwidth, GB/s (1e9 bytes/s)
  uint32_t read_vector_width = 0;  // float vector width that gave read_gbps (OpenCL)
  double fp32_gflops = 0;      // peak fp32 (FMA counted as 2 flops)
  double host_to_device_gbps = 0;
  double device_to_host_gbps = 0;
};

/// How long and how large to measure.
struct ProbeOptions {
  uint64_t buffer_bytes = 0;    // 0: automatic (far beyond the last-level cache, within the budget)
  double seconds_per_test = 0.5;  // calibrated repetitions aim at this much time per measurement
};

/// Runs every measurement on `device`.
ProbeResult probe_device(Device& device, const ProbeOptions& options = {});

/// Saves results for later runs (bench, tune) in the cache folder; returns the file written.
std::string save_probe_results(const std::vector<ProbeResult>& results);
/// The last saved result for a device id, if any.
std::optional<ProbeResult> load_probe_result(const std::string& device_id);

}  // namespace mixcl::backend
