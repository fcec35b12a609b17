// discover_opencl_devices: every usable device of every platform; none at all is a normal outcome.
#include <spdlog/spdlog.h>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/opencl_device.h"

namespace mixcl::backend {

std::vector<std::unique_ptr<OpenCLDevice>> discover_opencl_devices(const OpenCLOptions& options) {
  std::vector<std::unique_ptr<OpenCLDevice>> found;
  std::vector<cl::Platform> platforms;
  try {
    cl::Platform::get(&platforms);
  } catch (const cl::Error& e) {
    // CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no vendor library; anything else is a broken ICD.
    if (e.err() == CL_PLATFORM_NOT_FOUND_KHR)
      spdlog::debug("OpenCL: no platform installed (clGetPlatformIDs: {})", cl_error_name(e.err()));
    else
      spdlog::warn("OpenCL: clGetPlatformIDs failed: {}; OpenCL devices are not used", cl_error_name(e.err()));
    return found;
  }
  for (size_t p = 0; p < platforms.size(); ++p) {
    std::vector<cl::Device> devices;
    try {
      platforms[p].getDevices(CL_DEVICE_TYPE_ALL, &devices);
    } catch (const cl::Error& e) {
      spdlog::debug("OpenCL: platform {} has no device ({})", p, cl_error_name(e.err()));
      continue;
    }
    for (size_t d = 0; d < devices.size(); ++d) {
      const std::string name = fmt::format("cl{}.{}", p, d);  // index kept stable even when one is skipped
      try {
        if (!devices[d].getInfo<CL_DEVICE_AVAILABLE>() || !devices[d].getInfo<CL_DEVICE_COMPILER_AVAILABLE>()) {
          spdlog::info("OpenCL: skipping {} ({}): not available or has no compiler", name,
                       devices[d].getInfo<CL_DEVICE_NAME>().c_str());
          continue;
        }
        found.push_back(std::make_unique<OpenCLDevice>(platforms[p], devices[d], name, options));
      } catch (const cl::Error& e) {
        spdlog::warn("OpenCL: skipping {}: {}", name, cl_error_name(e.err()));
      } catch (const Error& e) {
        spdlog::warn("OpenCL: skipping {}: {}", name, e.what());
      }
    }
  }
  return found;
}

}  // namespace mixcl::backend
