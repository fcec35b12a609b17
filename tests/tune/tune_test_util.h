#pragma once
// Shared by the tune tests: the program's temp folder and its OpenCL devices (built through the build tree's
// kernel cache, so a rerun does not recompile).
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/opencl_device.h"

namespace mixcl::tune::test {

/// Remembers the program's temp folder (set once by main).
void set_temp_dir(const std::string& dir);
/// The program's temp folder.
const std::string& temp_dir();
/// The discovered OpenCL devices (empty without OpenCL), discovered on first use.
std::vector<std::unique_ptr<backend::OpenCLDevice>>& devices();
/// The first OpenCL device, or nullptr.
backend::OpenCLDevice* first_device();
/// Frees the devices (before the temp folder is removed).
void drop_devices();

}  // namespace mixcl::tune::test

/// Skips the test without an OpenCL device; otherwise binds `dev` (OpenCLDevice&) to the first one.
#define TUNE_REQUIRE_OPENCL(dev)                                                                  \
  if (!::mixcl::tune::test::first_device()) GTEST_SKIP() << "no OpenCL device on this machine"; \
  ::mixcl::backend::OpenCLDevice& dev = *::mixcl::tune::test::first_device()
