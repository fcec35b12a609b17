#include "tests/tune/tune_test_util.h"

#include <cstdlib>

namespace mixcl::tune::test {
namespace {

std::string g_temp;
std::unique_ptr<std::vector<std::unique_ptr<backend::OpenCLDevice>>> g_devices;

}  // namespace

void set_temp_dir(const std::string& dir) { g_temp = dir; }
const std::string& temp_dir() { return g_temp; }

std::vector<std::unique_ptr<backend::OpenCLDevice>>& devices() {
  if (!g_devices) {
    backend::OpenCLOptions o;  // the cache folder of MIXCL_CACHE_DIR (pocl_test_main: the build tree's)
    g_devices = std::make_unique<std::vector<std::unique_ptr<backend::OpenCLDevice>>>(
        backend::discover_opencl_devices(o));
  }
  return *g_devices;
}

backend::OpenCLDevice* first_device() {
  auto& d = devices();
  return d.empty() ? nullptr : d.front().get();
}

void drop_devices() { g_devices.reset(); }

}  // namespace mixcl::tune::test
