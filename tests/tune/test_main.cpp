// Test program entry (tests/support/pocl_main.h): two PoCL devices and the build tree's kernel cache before OpenCL
// starts; the shared devices are dropped before the temp folder goes.
#include "tests/support/pocl_main.h"
#include "tests/tune/tune_test_util.h"

int main(int argc, char** argv) {
  mixcl::test::PoclMainOptions o;
  o.temp_prefix = "mixcl-tune";
  o.before = [](const std::string& temp, const std::string&) { mixcl::tune::test::set_temp_dir(temp); };
  o.after = [] { mixcl::tune::test::drop_devices(); };
  return mixcl::test::pocl_test_main(argc, argv, o);
}
