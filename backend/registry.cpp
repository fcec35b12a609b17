#include "backend/registry.h"

#include <spdlog/spdlog.h>

#include <atomic>

namespace mixcl::backend {

std::vector<std::unique_ptr<Device>> discover_devices(const DiscoveryOptions& options) {
  std::vector<std::unique_ptr<Device>> devices;
  devices.push_back(std::make_unique<HostDevice>(options.host));
  if (!options.opencl) return devices;
  auto opencl = discover_opencl_devices(options.opencl_options);
  if (opencl.empty()) {
    static std::atomic<bool> said{false};  // once per process, however often discovery runs
    if (!said.exchange(true))
      spdlog::info("no OpenCL device found (no platform, or no usable device); running on the host alone");
  }
  for (auto& d : opencl) devices.push_back(std::move(d));
  return devices;
}

}  // namespace mixcl::backend
