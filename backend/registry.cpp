#include "backend/registry.h"

namespace mixcl::backend {

std::vector<std::unique_ptr<Device>> discover_devices(const DiscoveryOptions& options) {
  std::vector<std::unique_ptr<Device>> devices;
  devices.push_back(std::make_unique<HostDevice>(options.host));
  return devices;
}

}  // namespace mixcl::backend
