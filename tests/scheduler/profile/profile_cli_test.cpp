// `mixcl profile check|show|list` through the built binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "scheduler/profile.h"
#include "tests/support/command.h"

namespace mixcl::scheduler {
namespace {

namespace fs = std::filesystem;

using ::mixcl::test::CommandResult;
using ::mixcl::test::run_mixcl;

const std::string kSource = MIXCL_SOURCE_DIR;

TEST(ProfileCli, CheckPrintsOneLineSummary) {
  const CommandResult r = run_mixcl("profile check pocl-2dev");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("OK ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("profile 'pocl-2dev': host DRAM all, 2 device(s) (cl0 1.50 MiB, cl1 1.50 MiB), 1 "
                          "placement rule(s)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;

  const CommandResult t = run_mixcl("profile check templates/gpu24-dual-xeon");
  EXPECT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("extends "), std::string::npos) << t.output;
}

TEST(ProfileCli, CheckFailsWithTheLocatedError) {
  const CommandResult r = run_mixcl("profile check " + kSource + "/tests/data/profiles_broken/unknown_key.yaml");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("mixcl: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unknown_key.yaml:4:3: unknown key 'host.thread' (did you mean 'threads'?)"),
            std::string::npos)
      << r.output;
  const CommandResult missing = run_mixcl("profile check no-such-profile");
  EXPECT_EQ(missing.status, 1) << missing.output;
  EXPECT_NE(missing.output.find("profile 'no-such-profile' not found"), std::string::npos) << missing.output;
}

TEST(ProfileCli, ShowPrintsYamlThatLoadsBackToTheSameProfile) {
  for (const char* name : {"cpu", "pocl-2dev", "templates/two-gpus", "templates/gpu24-dual-xeon"}) {
    SCOPED_TRACE(name);
    const CommandResult r = run_mixcl(std::string("profile show ") + name);
    ASSERT_EQ(r.status, 0) << r.output;
    const Profile shown = parse_profile(r.output, "shown.yaml", ".");
    EXPECT_EQ(shown, load_profile(find_profile(name))) << r.output;
  }
}

TEST(ProfileCli, ShowJson) {
  const CommandResult r = run_mixcl("profile show templates/two-gpus --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["name"], "two-gpus");
  ASSERT_EQ(j["devices"].size(), 2u);
  EXPECT_EQ(j["devices"][1]["id"], "gpu1");
  EXPECT_EQ(j["devices"][1]["memory_budget"], 22ull << 30);
  EXPECT_EQ(j["devices"][0]["speeds"]["read_gbps"], 1008);
  EXPECT_EQ(j["host"]["dram_budget"], 120ull << 30);
  EXPECT_EQ(j["placement"][0]["target"], "gpu0");
  EXPECT_EQ(j["quant"]["kv_cache"], "F16");
  EXPECT_EQ(j["sources"].size(), 2u);
}

TEST(ProfileCli, ListNamesTheShippedProfiles) {
  const CommandResult r = run_mixcl("profile list");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"cpu\n", "pocl-2dev\n", "templates/gpu24-dram\n", "templates/opencl-accelerator\n"})
    EXPECT_NE(r.output.find(name), std::string::npos) << name << " in " << r.output;
}

}  // namespace
}  // namespace mixcl::scheduler
