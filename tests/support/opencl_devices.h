#pragma once
// OpenCL devices shared by every test of a program (PoCL compiles each program in about a second), discovered
// once per kernel shape with a fresh program cache folder that is removed at exit. Header-only, so only test
// programs that use OpenCL link the OpenCL backend.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/opencl_device.h"

namespace mixcl::test {

/// The devices of one test program and their private program cache.
class SharedOpenCL {
 public:
  /// `tag` names the cache folder (/tmp/mixcl_<tag>_<pid>).
  explicit SharedOpenCL(const std::string& tag)
      : cache_dir_(std::filesystem::temp_directory_path() / ("mixcl_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(cache_dir_);
  }
  ~SharedOpenCL() {
    by_variant_.clear();
    std::error_code ec;
    std::filesystem::remove_all(cache_dir_, ec);
  }
  SharedOpenCL(const SharedOpenCL&) = delete;
  SharedOpenCL& operator=(const SharedOpenCL&) = delete;

  /// The program cache folder every device here uses.
  const std::filesystem::path& cache_dir() const { return cache_dir_; }
  /// Every OpenCL device in kernel shape `variant` ("" = each device's own choice), discovered on first use.
  std::vector<std::unique_ptr<backend::OpenCLDevice>>& devices(const std::string& variant = "") {
    auto it = by_variant_.find(variant);
    if (it != by_variant_.end()) return it->second;
    backend::OpenCLOptions o;
    o.cache_dir = cache_dir_.string();
    o.variant = variant;
    return by_variant_[variant] = backend::discover_opencl_devices(o);
  }
  /// The first device in the device's own shape, or null on a machine without OpenCL.
  backend::OpenCLDevice* first() {
    auto& d = devices();
    return d.empty() ? nullptr : d.front().get();
  }

 private:
  std::filesystem::path cache_dir_;
  std::map<std::string, std::vector<std::unique_ptr<backend::OpenCLDevice>>> by_variant_;
};

/// The process's shared devices (cache folder /tmp/mixcl_opencl_test_<pid>).
inline SharedOpenCL& shared_opencl() {
  static SharedOpenCL s("opencl_test");
  return s;
}

}  // namespace mixcl::test

/// Skips the test without an OpenCL device; otherwise binds `dev` (OpenCLDevice&) to the first shared device.
#define MIXCL_REQUIRE_OPENCL_DEVICE(dev)                                                              \
  if (!::mixcl::test::shared_opencl().first()) GTEST_SKIP() << "no OpenCL device on this machine"; \
  ::mixcl::backend::OpenCLDevice& dev = *::mixcl::test::shared_opencl().first()
