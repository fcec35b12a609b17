// probe_opencl_capabilities: one device's identity, limits and features from clGetDeviceInfo.
#include <CL/cl_ext.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/opencl_device.h"

namespace mixcl::backend {
namespace {

#ifndef CL_DEVICE_SUB_GROUP_SIZES_INTEL
#define CL_DEVICE_SUB_GROUP_SIZES_INTEL 0x4108
#endif

// A scalar device property, or `fallback` when the driver does not know it.
template <class T>
T info_or(const cl::Device& device, cl_device_info what, T fallback) {
  T value{};
  if (clGetDeviceInfo(device(), what, sizeof(T), &value, nullptr) != CL_SUCCESS) return fallback;
  return value;
}

std::string device_type_name(cl_device_type type) {
  if (type & CL_DEVICE_TYPE_GPU) return "GPU";
  if (type & CL_DEVICE_TYPE_CPU) return "CPU";
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return "ACCELERATOR";
  if (type & CL_DEVICE_TYPE_CUSTOM) return "CUSTOM";
  return "OTHER";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ' || s.back() == '\n')) s.pop_back();
  const size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? "" : s.substr(start);
}

// "OpenCL 3.0 PoCL ..." -> {3, 0}.
std::pair<int, int> parse_version(const std::string& text) {
  static const std::regex re(R"((\d+)\.(\d+))");
  std::smatch m;
  if (std::regex_search(text, m, re)) return {std::stoi(m[1]), std::stoi(m[2])};
  return {0, 0};
}

std::vector<std::string> opencl_c_versions(const cl::Device& device) {
  std::vector<std::string> versions;
  const auto [major, minor] = parse_version(device.getInfo<CL_DEVICE_VERSION>());
  (void)minor;
  if (major >= 3) {
    size_t bytes = 0;
    if (clGetDeviceInfo(device(), CL_DEVICE_OPENCL_C_ALL_VERSIONS, 0, nullptr, &bytes) == CL_SUCCESS && bytes) {
      std::vector<cl_name_version> list(bytes / sizeof(cl_name_version));
      if (clGetDeviceInfo(device(), CL_DEVICE_OPENCL_C_ALL_VERSIONS, bytes, list.data(), nullptr) == CL_SUCCESS)
        for (const auto& v : list)
          versions.push_back(fmt::format("{}.{}", CL_VERSION_MAJOR(v.version), CL_VERSION_MINOR(v.version)));
    }
  }
  if (versions.empty()) {
    const auto [cmajor, cminor] = parse_version(device.getInfo<CL_DEVICE_OPENCL_C_VERSION>());
    if (cmajor > 0) versions.push_back(fmt::format("{}.{}", cmajor, cminor));
  }
  std::sort(versions.begin(), versions.end(), [](const std::string& a, const std::string& b) {
    return parse_version(a) < parse_version(b);
  });
  versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
  return versions;
}

}  // namespace

Capabilities probe_opencl_capabilities(const cl::Platform& platform, const cl::Device& device) {
  Capabilities caps;
  caps.kind = DeviceKind::kOpenCL;
  try {
    caps.type = device_type_name(device.getInfo<CL_DEVICE_TYPE>());
    caps.vendor = trim(device.getInfo<CL_DEVICE_VENDOR>());
    caps.name = trim(device.getInfo<CL_DEVICE_NAME>());
    caps.driver_version = trim(device.getInfo<CL_DRIVER_VERSION>());
    caps.platform_name = trim(platform.getInfo<CL_PLATFORM_NAME>());
    caps.platform_version = trim(platform.getInfo<CL_PLATFORM_VERSION>());
    caps.opencl_c_versions = opencl_c_versions(device);
    caps.compute_units = device.getInfo<CL_DEVICE_MAX_COMPUTE_UNITS>();
    caps.clock_mhz = device.getInfo<CL_DEVICE_MAX_CLOCK_FREQUENCY>();
    caps.global_mem_bytes = device.getInfo<CL_DEVICE_GLOBAL_MEM_SIZE>();
    caps.local_mem_bytes = device.getInfo<CL_DEVICE_LOCAL_MEM_SIZE>();
    caps.max_alloc_bytes = device.getInfo<CL_DEVICE_MAX_MEM_ALLOC_SIZE>();
    caps.max_work_group_size = device.getInfo<CL_DEVICE_MAX_WORK_GROUP_SIZE>();
    std::istringstream ext_stream(device.getInfo<CL_DEVICE_EXTENSIONS>());
    for (std::string e; ext_stream >> e;) caps.extensions.push_back(e);
    caps.images = device.getInfo<CL_DEVICE_IMAGE_SUPPORT>() == CL_TRUE;
  } catch (const cl::Error& e) {
    throw cl_failure(caps.name.empty() ? "(unnamed)" : caps.name, "clGetDeviceInfo", e.err());
  }
  auto has = [&](std::string_view ext) {
    return std::find(caps.extensions.begin(), caps.extensions.end(), ext) != caps.extensions.end();
  };
  // CL_DEVICE_HOST_UNIFIED_MEMORY is deprecated in 2.0 but still answered by most drivers.
  caps.unified_memory = caps.type == "CPU" || info_or<cl_bool>(device, CL_DEVICE_HOST_UNIFIED_MEMORY, CL_FALSE);
  auto& w = caps.preferred_vector_width;
  w.char_w = info_or<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_CHAR, 0);
  w.short_w = info_or<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_SHORT, 0);
  w.int_w = info_or<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_INT, 0);
  w.long_w = info_or<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_LONG, 0);
  w.float_w = info_or<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, 0);
  w.double_w = info_or<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE, 0);
  w.half_w = info_or<cl_uint>(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_HALF, 0);
  caps.fp16 = has("cl_khr_fp16");
  caps.fp64 = has("cl_khr_fp64") || info_or<cl_device_fp_config>(device, CL_DEVICE_DOUBLE_FP_CONFIG, 0) != 0;
  caps.subgroups = has("cl_khr_subgroups") || has("cl_intel_subgroups");
  if (has("cl_intel_required_subgroup_size") || has("cl_intel_subgroups")) {
    size_t bytes = 0;
    if (clGetDeviceInfo(device(), CL_DEVICE_SUB_GROUP_SIZES_INTEL, 0, nullptr, &bytes) == CL_SUCCESS && bytes) {
      std::vector<size_t> sizes(bytes / sizeof(size_t));
      if (clGetDeviceInfo(device(), CL_DEVICE_SUB_GROUP_SIZES_INTEL, bytes, sizes.data(), nullptr) == CL_SUCCESS)
        caps.subgroup_sizes = sizes;
    }
  }
  for (const auto& e : caps.extensions)
    if (e.find("integer_dot_product") != std::string::npos) caps.int_dot_extensions.push_back(e);
  return caps;
}

}  // namespace mixcl::backend
