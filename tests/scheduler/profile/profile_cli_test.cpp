// `mixcl profile check|show|list` through the built binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "scheduler/profile.h"

namespace mixcl::scheduler {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int status = -1;
  std::string out;  // stdout and stderr
};

CliRun run(const std::string& args) {
  CliRun r;
  const std::string cmd = std::string(MIXCL_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

const std::string kSource = MIXCL_SOURCE_DIR;

TEST(ProfileCli, CheckPrintsOneLineSummary) {
  const CliRun r = run("profile check pocl-2dev");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.rfind("OK ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("profile 'pocl-2dev': host DRAM all, 2 device(s) (cl0 1.50 MiB, cl1 1.50 MiB), 1 placement rule(s)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;

  const CliRun t = run("profile check templates/gpu24-dual-xeon");
  EXPECT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("extends "), std::string::npos) << t.out;
}

TEST(ProfileCli, CheckFailsWithTheLocatedError) {
  const CliRun r = run("profile check " + kSource + "/tests/data/profiles_broken/unknown_key.yaml");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("mixcl: error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown_key.yaml:4:3: unknown key 'host.thread' (did you mean 'threads'?)"), std::string::npos)
      << r.out;
  const CliRun missing = run("profile check no-such-profile");
  EXPECT_EQ(missing.status, 1) << missing.out;
  EXPECT_NE(missing.out.find("profile 'no-such-profile' not found"), std::string::npos) << missing.out;
}

TEST(ProfileCli, ShowPrintsYamlThatLoadsBackToTheSameProfile) {
  for (const char* name : {"cpu", "pocl-2dev", "templates/two-gpus", "templates/gpu24-dual-xeon"}) {
    SCOPED_TRACE(name);
    const CliRun r = run(std::string("profile show ") + name);
    ASSERT_EQ(r.status, 0) << r.out;
    const Profile shown = parse_profile(r.out, "shown.yaml", ".");
    EXPECT_EQ(shown, load_profile(find_profile(name))) << r.out;
  }
}

TEST(ProfileCli, ShowJson) {
  const CliRun r = run("profile show templates/two-gpus --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
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
  const CliRun r = run("profile list");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* name : {"cpu\n", "pocl-2dev\n", "templates/gpu24-dram\n", "templates/opencl-accelerator\n"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name << " in " << r.out;
}

}  // namespace
}  // namespace mixcl::scheduler
