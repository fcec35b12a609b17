// Test program entry (tests/support/pocl_main.h): two PoCL devices and the build tree's kernel cache (shared with
// the executor tests) before OpenCL starts, one temp folder for the synthetic model, removed at exit.
#include "profile_run_util.h"
#include "tests/support/pocl_main.h"

int main(int argc, char** argv) {
  mixcl::test::PoclMainOptions o;
  o.temp_prefix = "mixcl-profilerun";
  o.before = [](const std::string& temp, const std::string&) { mixcl::scheduler::test::set_temp_dir(temp); };
  return mixcl::test::pocl_test_main(argc, argv, o);
}
