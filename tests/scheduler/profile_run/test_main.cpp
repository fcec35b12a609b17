// Test program entry: two PoCL devices and a private kernel cache before OpenCL starts, one temp folder for the
// synthetic model, removed at exit.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "profile_run_util.h"

int main(int argc, char** argv) {
  // PoCL reads its device list once, when the ICD loader first starts it.
  setenv("POCL_DEVICES", "pthread pthread", 1);
  char tmpl[] = "/tmp/mixcl-profilerun-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  mixcl::scheduler::test::set_temp_dir(tmpl);
  // Compiled kernels persist next to the build (PoCL builds are slow), shared with the executor tests.
  const std::string kernels = std::filesystem::path(MIXCL_BINARY).parent_path().parent_path() / "test-kernel-cache";
  setenv("MIXCL_CACHE_DIR", kernels.c_str(), 1);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
