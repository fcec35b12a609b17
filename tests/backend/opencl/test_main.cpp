// Test program entry: sets up the environment before OpenCL starts (two PoCL devices, a private cache folder)
// and offers a child mode that reports what discovery finds, for tests that change the ICD loader's environment.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "opencl_test_util.h"

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

int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
  // Must happen before the ICD loader starts PoCL: PoCL reads its device list once.
  setenv("POCL_DEVICES", "pthread pthread", 1);
  char tmpl[] = "/tmp/mixcl-cltest-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  test::g_temp_dir = tmpl;
  // Nothing in these tests may touch the user's caches.
  setenv("MIXCL_CACHE_DIR", (test::g_temp_dir + "/default-cache").c_str(), 1);
  setenv("XDG_CACHE_HOME", (test::g_temp_dir + "/xdg").c_str(), 1);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::error_code ec;
  std::filesystem::remove_all(test::g_temp_dir, ec);
  return rc;
}
