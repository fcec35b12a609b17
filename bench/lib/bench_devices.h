#pragma once
// Which devices a benchmark runs on, and the measured figures its percentages refer to.
#include <memory>
#include <string>
#include <vector>

#include "backend/device.h"
#include "bench/lib/kernel_bench.h"

namespace mixcl::bench {

/// True when `names` ("all" or device names such as "host", "cl0.0") needs OpenCL discovery.
bool needs_opencl(const std::vector<std::string>& names);

/// The devices of `devices` named in `names`, in the order of `devices` ("all": every one); throws
/// mixcl::Error naming the unknown device and listing the available ones.
std::vector<backend::Device*> select_devices(const std::vector<std::unique_ptr<backend::Device>>& devices,
                                             const std::vector<std::string>& names);

/// The device's read bandwidth and fp32 peak from the probe cache (backend/probe.h); when none is cached,
/// probes now, saves the result for later runs and says so in `source`. `reprobe`: always measure now (under
/// the machine's current load), and save.
DeviceFigures device_figures(backend::Device& device, bool reprobe = false);

}  // namespace mixcl::bench
