#pragma once
// Measures what a device can really do: memory read bandwidth, fp32 compute, host<->device copies.
// Later reports give kernel speed as a percentage of these figures. How each is measured: docs/probe.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/device.h"

namespace mixcl::backend {

/// Measured figures of one device (0 where a figure does not apply).
struct ProbeResult {
  std::string device;          // Device::name()
  std::string device_id;       // name + driver + platform version: results are reused only for the same one
  double read_gbps = 0;        // device memory read bandwidth, GB/s (1e9 bytes/s)
  uint32_t read_vector_width = 0;  // float vector width that gave read_gbps (OpenCL)
  double fp32_gflops = 0;      // peak fp32 (FMA counted as 2 flops)
  uint32_t fp32_vector_width = 0;  // float vector width that gave fp32_gflops (OpenCL; host: SIMD lanes)
  double host_to_device_gbps = 0;  // OpenCL only: the better of a pageable and a pinned host buffer
  double device_to_host_gbps = 0;
  uint64_t buffer_bytes = 0;   // size of the buffer the bandwidths were measured on
  std::string measured_at;     // UTC time of the measurement, ISO 8601
};

/// How long and how large to measure.
struct ProbeOptions {
  uint64_t buffer_bytes = 0;    // 0: automatic (far beyond the last-level cache, within the budget)
  double seconds_per_test = 0.5;  // calibrated repetitions aim at this much time per measurement
  int trials = 3;               // measurements per figure; the best one is reported
  bool read_only = false;       // only read_gbps (and its buffer size): a quick figure between benchmark runs
};

/// Runs every measurement on `device` (the host or an OpenCL device); frees what it allocated.
ProbeResult probe_device(Device& device, const ProbeOptions& options = {});

/// The key results are stored under: name + driver + platform version (host: CPU name, threads and ISA).
std::string probe_device_id(const Device& device);

/// The probe.json used: $MIXCL_CACHE_DIR, else $XDG_CACHE_HOME/mixcl, else ~/.cache/mixcl.
std::string probe_cache_path();
/// Saves results for later runs (bench, tune) in the cache folder, keeping other devices' entries;
/// returns the file written. The file is replaced atomically.
std::string save_probe_results(const std::vector<ProbeResult>& results);
/// The last saved result for a device id, if any (a missing or corrupt file gives nullopt).
std::optional<ProbeResult> load_probe_result(const std::string& device_id);

}  // namespace mixcl::backend
