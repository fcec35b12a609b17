// Test program entry (tests/support/pocl_main.h): two PoCL devices before OpenCL starts, so every op runs on both;
// kernels are cached in a private temp folder.
#include "tests/support/pocl_main.h"

int main(int argc, char** argv) {
  mixcl::test::PoclMainOptions o;
  o.temp_prefix = "mixcl-clops";
  o.kernel_cache = mixcl::test::KernelCache::kPrivate;
  return mixcl::test::pocl_test_main(argc, argv, o);
}
