// Test program entry (tests/support/pocl_main.h): two PoCL devices and the build tree's kernel cache before OpenCL
// starts, one temp folder for the synthetic models, removed at exit.
#include "executor_test_util.h"
#include "tests/support/pocl_main.h"

int main(int argc, char** argv) {
  namespace t = mixcl::scheduler::test;
  mixcl::test::PoclMainOptions o;
  o.temp_prefix = "mixcl-exectest";
  o.before = [](const std::string& temp, const std::string& kernels) {
    t::set_temp_dir(temp);
    t::set_kernel_cache_dir(kernels);
  };
  o.after = [] { t::release_devices(); };
  return mixcl::test::pocl_test_main(argc, argv, o);
}
