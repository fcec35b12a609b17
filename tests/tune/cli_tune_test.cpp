// `mixcl tune` end to end: Ctrl-C (SIGINT) stops the search and the profile is still written (comments and other
// keys kept, loadable); bad flags are clear errors that write nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scheduler/profile.h"
#include "tests/support/command.h"
#include "tests/support/temp_dir.h"
#include "tests/tune/tune_test_util.h"

namespace mixcl::tune {
namespace {

using mixcl::test::shell_quote;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(CliTune, SigintStopsTheSearchAndStillWritesTheProfile) {
  TUNE_REQUIRE_OPENCL(dev);
  mixcl::test::TempDir dir("cli_tune");
  const auto out = dir / "mine.yaml";
  {
    std::ofstream f(out);
    f << "# my notes\nname: mine\nscheduling:\n  scratch_reserve: 2MiB  # room for activations\n";
  }
  // SIGINT once the search is under way (its second candidate is being measured), however fast this machine is;
  // three formats keep many candidates ahead of it. The shell returns tune's own exit status and its output.
  const auto log = dir / "tune.log";
  const auto r = mixcl::test::run_command(fmt::format(
      "{} tune --device {} --types Q8_0,Q4_K,Q6_K --ops matvec --shapes-per-format 1 --time-budget 10m --no-probe "
      "-o {} > {} 2>&1 & pid=$!; "
      "for i in $(seq 1200); do grep -q 'tune \\[2/' {} && break; sleep 0.05; done; "
      "kill -INT $pid; wait $pid; status=$?; cat {}; rm -f {}; exit $status",
      shell_quote(mixcl::test::mixcl_binary()), dev.name(), shell_quote(out.string()), shell_quote(log.string()),
      shell_quote(log.string()), shell_quote(log.string()), shell_quote(log.string())));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("search stopped (interrupted)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("wrote " + out.string()), std::string::npos) << r.output;
  const std::string text = read(out);
  EXPECT_NE(text.find("# my notes"), std::string::npos) << text;
  EXPECT_NE(text.find("scratch_reserve: 2MiB  # room for activations"), std::string::npos) << text;
  const scheduler::Profile p = scheduler::load_profile(out);
  EXPECT_EQ(p.scheduling.scratch_reserve, 2u << 20);
  ASSERT_EQ(p.devices.size(), 1u) << text;
  EXPECT_GT(p.devices[0].speeds.read_gbps, 0) << text;
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temporary left behind
}

TEST(CliTune, BadFlagsAreClearErrorsAndWriteNothing) {
  mixcl::test::TempDir dir("cli_tune_bad");
  const auto out = dir / "p.yaml";
  const std::string bin = shell_quote(mixcl::test::mixcl_binary());
  auto r = mixcl::test::run_mixcl("tune --device host --time-budget 5q -o " + shell_quote(out.string()));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--time-budget: '5q' is not a duration"), std::string::npos) << r.output;
  r = mixcl::test::run_mixcl("tune --device host --ops softmax -o " + shell_quote(out.string()));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("unknown op 'softmax'"), std::string::npos) << r.output;
  {
    std::ofstream f(out);
    f << "name: x\nhost:\n  threads: many\n";
  }
  r = mixcl::test::run_mixcl("tune --device host -o " + shell_quote(out.string()));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("host.threads: found 'many'"), std::string::npos) << r.output;
  EXPECT_EQ(read(out), "name: x\nhost:\n  threads: many\n");  // untouched
}

}  // namespace
}  // namespace mixcl::tune
