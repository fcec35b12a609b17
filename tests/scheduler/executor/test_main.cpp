// Test program entry: two PoCL devices and a private kernel cache before OpenCL starts, one temp folder for the
// synthetic models, removed at exit.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "executor_test_util.h"

int main(int argc, char** argv) {
  // PoCL reads its device list once, when the ICD loader first starts it.
  setenv("POCL_DEVICES", "pthread pthread", 1);
  char tmpl[] = "/tmp/mixcl-exectest-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  mixcl::scheduler::test::set_temp_dir(tmpl);
  // Compiled kernels persist next to the build (PoCL builds are slow); never in the user's cache.
  const std::string kernels = std::filesystem::path(MIXCL_BINARY).parent_path().parent_path() / "test-kernel-cache";
  setenv("MIXCL_CACHE_DIR", kernels.c_str(), 1);
  mixcl::scheduler::test::set_kernel_cache_dir(kernels);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  mixcl::scheduler::test::release_devices();
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
