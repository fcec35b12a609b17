#pragma once
// The shared entry of test programs that use PoCL: two PoCL devices and a kernel cache chosen before OpenCL
// starts, one temp folder for the program (removed at exit), then every test.
#include <functional>
#include <string>

namespace mixcl::test {

/// Where compiled OpenCL programs go during a test program.
enum class KernelCache {
  kBuildTree,  // <build>/test-kernel-cache, kept between runs (PoCL builds are slow); never the user's cache
  kPrivate,    // inside the program's temp folder (XDG_CACHE_HOME too): nothing may touch any real cache
};

/// What pocl_test_main sets up around the tests.
struct PoclMainOptions {
  std::string temp_prefix = "mixcl-test";  // the temp folder is /tmp/<temp_prefix>-XXXXXX
  KernelCache kernel_cache = KernelCache::kBuildTree;
  /// Called after the environment is set and before any test, with the temp folder and the kernel cache folder.
  std::function<void(const std::string& temp_dir, const std::string& kernel_cache_dir)> before;
  /// Called after the tests and before the temp folder is removed (e.g. to drop shared devices).
  std::function<void()> after;
};

/// Sets POCL_DEVICES="pthread pthread" and MIXCL_CACHE_DIR, makes the temp folder, runs every test, cleans up.
/// Returns the exit code for main (1 when the temp folder cannot be made).
int pocl_test_main(int argc, char** argv, const PoclMainOptions& options);

/// The kernel cache folder shared by test programs in a build tree (next to the mixcl binary's build folder).
std::string build_tree_kernel_cache();

}  // namespace mixcl::test
