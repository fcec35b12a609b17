#include "tests/support/pocl_main.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

namespace mixcl::test {

std::string build_tree_kernel_cache() {
  return (std::filesystem::path(MIXCL_BINARY).parent_path().parent_path() / "test-kernel-cache").string();
}

int pocl_test_main(int argc, char** argv, const PoclMainOptions& options) {
  // PoCL reads its device list once, when the ICD loader first starts it.
  setenv("POCL_DEVICES", "pthread pthread", 1);
  std::string tmpl = "/tmp/" + options.temp_prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    std::perror(("mkdtemp " + tmpl).c_str());
    return 1;
  }
  const std::string temp = tmpl;
  std::string kernels;
  if (options.kernel_cache == KernelCache::kBuildTree) {
    kernels = build_tree_kernel_cache();
  } else {
    kernels = temp + "/default-cache";
    setenv("XDG_CACHE_HOME", (temp + "/xdg").c_str(), 1);
  }
  setenv("MIXCL_CACHE_DIR", kernels.c_str(), 1);
  if (options.before) options.before(temp, kernels);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  if (options.after) options.after();
  std::error_code ec;
  std::filesystem::remove_all(temp, ec);
  return rc;
}

}  // namespace mixcl::test
