#pragma once
// Finds every device of the machine: the host, then each OpenCL device of each platform.
#include <memory>
#include <string>
#include <vector>

#include "backend/device.h"
#include "backend/host/host_device.h"
#include "backend/opencl/opencl_device.h"

namespace mixcl::backend {

/// What discovery should include.
struct DiscoveryOptions {
  HostOptions host;
  bool opencl = true;  // false: host only
  OpenCLOptions opencl_options;  // applied to every OpenCL device found
};

/// The host device first, then every usable OpenCL device. Zero platforms is not an error: the list then
/// holds the host alone and a note says so once on the log.
std::vector<std::unique_ptr<Device>> discover_devices(const DiscoveryOptions& options = {});

}  // namespace mixcl::backend
