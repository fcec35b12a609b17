// Test program entry (tests/support/pocl_main.h): two PoCL devices and private caches before OpenCL starts, and a
// child mode that reports what discovery finds, for tests that change the ICD loader's environment.
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "opencl_test_util.h"
#include "tests/support/pocl_main.h"

namespace mixcl::backend::test {

std::string g_temp_dir;  // set once by main before any test runs

const std::string& temp_dir() { return g_temp_dir; }

std::string fresh_dir(const std::string& name) {
  static int counter = 0;
  const auto dir = std::filesystem::path(g_temp_dir) / (name + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::vector<std::unique_ptr<OpenCLDevice>> cl_devices(OpenCLOptions options) {
  if (options.cache_dir.empty()) options.cache_dir = g_temp_dir + "/kernels";
  return discover_opencl_devices(options);
}

}  // namespace mixcl::backend::test

int main(int argc, char** argv) {
  using namespace mixcl::backend;
  // Child mode: print how many OpenCL devices discovery finds in this process's environment.
  if (argc > 1 && std::strcmp(argv[1], "--discover-child") == 0) {
    try {
      std::printf("opencl devices: %zu\n", discover_opencl_devices(test::options_with(0, 0, "/nonexistent")).size());
    } catch (const std::exception& e) {
      std::printf("error: %s\n", e.what());
      return 1;
    }
    return 0;
  }
  mixcl::test::PoclMainOptions o;
  o.temp_prefix = "mixcl-cltest";
  o.kernel_cache = mixcl::test::KernelCache::kPrivate;  // nothing in these tests may touch the user's caches
  o.before = [](const std::string& temp, const std::string&) { test::g_temp_dir = temp; };
  return mixcl::test::pocl_test_main(argc, argv, o);
}
