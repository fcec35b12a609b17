// Loading profiles: every shipped profile loads and round-trips through dump_profile, extends chains merge
// as documented, sizes parse exactly, shipped names resolve.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "common/error.h"
#include "scheduler/profile.h"
#include "scheduler/profile_tree.h"

namespace mixcl::scheduler {
namespace {

namespace fs = std::filesystem;

const fs::path kProfilesDir = fs::path(MIXCL_SOURCE_DIR) / "profiles";

/// A fresh folder under the temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / fmt::format("mixcl_profile_{}_{}_{}", getpid(), info->test_suite_name(), info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

 private:
  fs::path path_;
};

std::vector<fs::path> shipped_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kProfilesDir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string without_first_line(const std::string& s) { return s.substr(s.find('\n') + 1); }

TEST(ShippedProfiles, EveryFileLoadsAndRoundTrips) {
  const auto files = shipped_files();
  ASSERT_GE(files.size(), 8u) << "cpu, pocl-2dev and six templates are expected in " << kProfilesDir;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const Profile p = load_profile(file);
    EXPECT_FALSE(p.name.empty());
    EXPECT_EQ(p.sources.back(), file.string());
    const std::string text = dump_profile(p);
    const Profile back = parse_profile(text, "roundtrip.yaml", file.parent_path());
    EXPECT_EQ(back, p) << text;
    // Field-level checks that operator== leaves to members, so a broken comparison cannot hide a difference.
    ASSERT_EQ(back.devices.size(), p.devices.size());
    for (size_t i = 0; i < p.devices.size(); ++i) {
      EXPECT_EQ(back.devices[i].id, p.devices[i].id);
      EXPECT_EQ(back.devices[i].memory_budget, p.devices[i].memory_budget);
      EXPECT_EQ(back.devices[i].speeds.read_gbps, p.devices[i].speeds.read_gbps);
      EXPECT_EQ(back.devices[i].kernels, p.devices[i].kernels);
    }
    ASSERT_EQ(back.placement.size(), p.placement.size());
    for (size_t i = 0; i < p.placement.size(); ++i) EXPECT_EQ(back.placement[i].pattern, p.placement[i].pattern);
    EXPECT_EQ(back.host.dram_budget, p.host.dram_budget);
    EXPECT_EQ(without_first_line(dump_profile(back)), without_first_line(text));
  }
}

TEST(ShippedProfiles, Pocl2devSplitsTwoSmallDevicesAndKeepsExpertsOnHost) {
  const Profile p = load_profile(kProfilesDir / "pocl-2dev.yaml");
  ASSERT_EQ(p.devices.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(p.devices[i].match.index, i);
    EXPECT_EQ(p.devices[i].match.type, "CPU");
    EXPECT_EQ(p.devices[i].memory_budget, 1536u * 1024);
  }
  // tiny-v3 holds 1.85 MiB of weights besides routed experts: more than one device's budget.
  EXPECT_LT(p.devices[0].memory_budget, 1'850'000u);
  const PlacementRule* r = p.rule_for("blk.3.ffn_down_exps.weight");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->target, "host");
  EXPECT_EQ(p.rule_for("blk.3.ffn_down_shexp.weight"), nullptr);
  EXPECT_EQ(p.rule_for("blk.3.ffn_down_exps.weight.extra"), nullptr) << "patterns match the whole name";
}

TEST(ShippedProfiles, CpuHasNoDevices) {
  const Profile p = load_profile(kProfilesDir / "cpu.yaml");
  EXPECT_EQ(p.name, "cpu");
  EXPECT_TRUE(p.devices.empty());
  EXPECT_EQ(p.quant.kv_cache, DType::F16);
  EXPECT_EQ(p.host.weight_memory, HostWeightMemory::kHugePages) << "cpu.yaml keeps host weights in huge pages";
}

TEST(ShippedProfiles, TemplatesInheritAndOverride) {
  const Profile base = load_profile(kProfilesDir / "templates/gpu24-dram.yaml");
  const Profile xeon = load_profile(kProfilesDir / "templates/gpu24-dual-xeon.yaml");
  ASSERT_EQ(xeon.sources.size(), 2u);
  EXPECT_EQ(xeon.name, "gpu24-dual-xeon");
  ASSERT_EQ(xeon.devices.size(), 1u);
  EXPECT_EQ(xeon.devices[0], base.devices[0]) << "the GPU is inherited unchanged";
  EXPECT_EQ(xeon.devices[0].speeds.read_gbps, 1008);
  EXPECT_EQ(xeon.host.threads, 112);
  EXPECT_EQ(xeon.host.isa, "avx512");
  EXPECT_EQ(base.scheduling.stream_experts_min_batch, 32u);
  EXPECT_EQ(xeon.scheduling.stream_experts_min_batch, 64u);
  EXPECT_EQ(xeon.scheduling.scratch_reserve, base.scheduling.scratch_reserve);

  const Profile two = load_profile(kProfilesDir / "templates/two-gpus.yaml");
  ASSERT_EQ(two.devices.size(), 2u);
  EXPECT_EQ(two.devices[0].id, "gpu0");
  EXPECT_EQ(two.devices[1].id, "gpu1");
  EXPECT_EQ(two.devices[1].speeds.read_gbps, 936);

  const Profile igpu = load_profile(kProfilesDir / "templates/igpu-unified.yaml");
  ASSERT_EQ(igpu.devices.size(), 1u);
  EXPECT_TRUE(igpu.devices[0].unified_memory);
}

TEST(Extends, ThreeLevelChainMergesMapsAndReplacesLists) {
  TempDir dir;
  dir.write("base.yaml", R"(name: base
description: the base
host:
  dram_budget: 64GiB
  threads: 8
  speeds: {read_gbps: 50, fp32_gflops: 900}
devices:
  gpu0:
    match: {vendor: NVIDIA, type: GPU}
    memory_budget: 20GiB
    speeds: {read_gbps: 900, h2d_gbps: 20, op_overhead_us: 45, copy_latency_us: 12.5}
  gpu1:
    match: {vendor: AMD, type: GPU}
quant:
  routed_experts: Q4_K
placement:
  - pattern: 'a'
    target: gpu0
  - pattern: 'b'
    target: gpu1
)");
  dir.write("sub/mid.yaml", R"(name: mid
extends: ../base.yaml
host:
  threads: 16
devices:
  gpu0:
    memory_budget: 10GiB
  gpu1: null
placement:
  - pattern: 'c.*'
    target: host
scheduling:
  scratch_reserve: 1MiB
)");
  const fs::path top = dir.write("sub/top.yaml", R"(extends: mid
host:
  speeds:
    read_gbps: 60
    op_overhead_us: 30
quant:
  kv_cache: F32
)");
  const Profile p = load_profile(top);
  ASSERT_EQ(p.sources.size(), 3u);
  EXPECT_EQ(fs::path(p.sources[0]).filename(), "base.yaml");
  EXPECT_EQ(fs::path(p.sources[1]).filename(), "mid.yaml");
  EXPECT_EQ(p.sources[2], top.string());
  EXPECT_EQ(p.name, "top") << "name: is not inherited";
  EXPECT_EQ(p.description, "the base");
  EXPECT_EQ(p.host.dram_budget, 64ull << 30);
  EXPECT_EQ(p.host.threads, 16);
  EXPECT_EQ(p.host.speeds.read_gbps, 60);
  EXPECT_EQ(p.host.speeds.fp32_gflops, 900) << "sibling keys of an overridden key are kept";
  ASSERT_EQ(p.devices.size(), 1u) << "gpu1: null removes the inherited device";
  EXPECT_EQ(p.devices[0].memory_budget, 10ull << 30);
  EXPECT_EQ(p.devices[0].match.vendor, "NVIDIA");
  EXPECT_EQ(p.devices[0].speeds.read_gbps, 900);
  EXPECT_EQ(p.devices[0].speeds.h2d_gbps, 20);
  EXPECT_EQ(p.devices[0].speeds.op_overhead_us, 45);
  EXPECT_EQ(p.devices[0].speeds.copy_latency_us, 12.5);
  EXPECT_EQ(p.host.speeds.op_overhead_us, 30);
  ASSERT_EQ(p.placement.size(), 1u) << "lists replace";
  EXPECT_EQ(p.placement[0].pattern, "c.*");
  EXPECT_TRUE(p.placement[0].where.find("mid.yaml:10") != std::string::npos) << p.placement[0].where;
  EXPECT_EQ(p.quant.routed_experts, DType::Q4_K);
  EXPECT_EQ(p.quant.kv_cache, DType::F32);
  EXPECT_EQ(p.scheduling.scratch_reserve, 1u << 20);

  // The resolved profile round-trips without the files it came from.
  const Profile back = parse_profile(dump_profile(p), "resolved.yaml", dir.path());
  EXPECT_EQ(back, p);
}

TEST(Extends, ErrorsInABaseNameTheBaseFile) {
  TempDir dir;
  dir.write("base.yaml", "host:\n  threads: many\n");
  const fs::path top = dir.write("top.yaml", "extends: base.yaml\nhost:\n  isa: avx2\n");
  try {
    load_profile(top);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("base.yaml:2:12: host.threads: found 'many'"), std::string::npos) << e.what();
  }
}

TEST(Extends, ShippedProfileByName) {
  TempDir dir;
  const fs::path mine = dir.write("mine.yaml", "extends: pocl-2dev\ndevices:\n  cl1:\n    memory_budget: 2MiB\n");
  const Profile p = load_profile(mine);
  ASSERT_EQ(p.devices.size(), 2u);
  EXPECT_EQ(p.devices[0].memory_budget, 1536u * 1024);
  EXPECT_EQ(p.devices[1].memory_budget, 2u << 20);
  EXPECT_EQ(p.placement.size(), 1u);
}

TEST(Profile, EqualityNoticesEveryKindOfField) {
  const Profile p = load_profile(kProfilesDir / "templates/two-gpus.yaml");
  auto changed = [&](auto edit) {
    Profile q = p;
    edit(q);
    return !(q == p);
  };
  EXPECT_TRUE(changed([](Profile& q) { q.host.threads = 3; }));
  EXPECT_TRUE(changed([](Profile& q) {
    q.host.weight_memory = q.host.weight_memory == HostWeightMemory::kMapped ? HostWeightMemory::kHugePages
                                                                             : HostWeightMemory::kMapped;
  }));
  EXPECT_TRUE(changed([](Profile& q) { q.devices[1].speeds.fp32_gflops += 1; }));
  EXPECT_TRUE(changed([](Profile& q) { q.devices[0].match.index = 5; }));
  EXPECT_TRUE(changed([](Profile& q) { q.quant.output = DType::Q8_0; }));
  EXPECT_TRUE(changed([](Profile& q) { q.placement[0].target = "gpu1"; }));
  EXPECT_TRUE(changed([](Profile& q) { q.scheduling.overlap_host_experts = false; }));
  EXPECT_TRUE(changed([](Profile& q) { q.devices[0].kernels["matmul"].macros["X"] = "1"; }));
  EXPECT_FALSE(changed([](Profile& q) { q.sources.clear(); }));
}

TEST(Profile, FirstMatchingRuleWins) {
  const Profile p = parse_profile(R"(devices:
  d: {match: {type: GPU}}
placement:
  - {pattern: 'blk\.1\..*', target: host}
  - {pattern: 'blk\.[0-9]+\..*', target: d}
)",
                                  "rules.yaml", ".");
  EXPECT_EQ(p.rule_for("blk.1.attn_q_a.weight")->target, "host");
  EXPECT_EQ(p.rule_for("blk.12.attn_q_a.weight")->target, "d");
  EXPECT_EQ(p.rule_for("token_embd.weight"), nullptr);
  // A rule built in code (no compiled regex) matches the same way.
  PlacementRule r{"blk\\.[0-9]+\\.ffn_up_exps\\.weight", "host", "", nullptr};
  EXPECT_TRUE(r.matches("blk.7.ffn_up_exps.weight"));
  EXPECT_FALSE(r.matches("blk.7.ffn_up_shexp.weight"));
}

TEST(ParseSize, UnitsAreExact) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"4096", 4096},
      {"0", 0},
      {"24GiB", 24ull << 30},
      {"24GB", 24'000'000'000ull},
      {"512MB", 512'000'000ull},
      {"512MiB", 512ull << 20},
      {"1.5TB", 1'500'000'000'000ull},
      {"1.5 TiB", 3ull << 39},
      {"64 kib", 64ull << 10},
      {"64kB", 64'000},
      {"0.5KiB", 512},
      {"1.0009765625KiB", 1025},
      {"1.0001KiB", 1024},  // fractions of a byte are dropped
      {"  7B ", 7},
  };
  for (const auto& [text, bytes] : cases) EXPECT_EQ(parse_size(text, "t"), bytes) << text;
  EXPECT_EQ(parse_size("18446744073709551615", "t"), UINT64_MAX);
}

TEST(ParseSize, RejectsWhatIsNotASize) {
  for (const char* text : {"", "GiB", "-1", "-1GiB", "12XB", "1.2.3GiB", "24 G", "1e9", "17TiB0", "20000000TiB",
                           "18446744073709551616", "0x10"}) {
    try {
      parse_size(text, "file.yaml:3:4: host.dram_budget");
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("file.yaml:3:4: host.dram_budget: found '", 0), 0u) << msg;
      EXPECT_NE(msg.find("expected a size"), std::string::npos) << msg;
    }
  }
}

TEST(ParseSize, FormatSizeRoundTrips) {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values = {0, 1, 1000, 1024, 1536, 24ull << 30, 1'500'000'000'000ull, UINT64_MAX};
  for (int i = 0; i < 2000; ++i) {
    const uint64_t unit = std::vector<uint64_t>{1, 1000, 1024, 1u << 20, 1'000'000, 1ull << 30}[rng() % 6];
    values.push_back((rng() >> (rng() % 64)) / unit * unit);
  }
  for (uint64_t v : values) EXPECT_EQ(parse_size(format_size(v), "t"), v) << format_size(v);
  EXPECT_EQ(format_size(24ull << 30), "24GiB");
  EXPECT_EQ(format_size(1'500'000'000'000ull), "1500GB");
  EXPECT_EQ(format_size(4097), "4097");
}

TEST(DidYouMean, SuggestsOnlyCloseWords) {
  using detail::did_you_mean;
  using detail::edit_distance;
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("Threads", "threads"), 0u);
  EXPECT_EQ(did_you_mean("thread", {"dram_budget", "threads", "isa"}), " (did you mean 'threads'?)");
  EXPECT_EQ(did_you_mean("routed_expert", {"attention", "routed_experts"}), " (did you mean 'routed_experts'?)");
  EXPECT_EQ(did_you_mean("zzz", {"dram_budget", "threads", "isa"}), "");
}

TEST(FindProfile, ShippedNamesPathsAndTheEnvironment) {
  EXPECT_EQ(fs::weakly_canonical(find_profile("cpu")), fs::weakly_canonical(kProfilesDir / "cpu.yaml"));
  EXPECT_EQ(fs::weakly_canonical(find_profile("templates/gpu24-dram")),
            fs::weakly_canonical(kProfilesDir / "templates/gpu24-dram.yaml"));
  const auto names = shipped_profiles();
  EXPECT_NE(std::find(names.begin(), names.end(), "pocl-2dev"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "templates/h100-80g"), names.end());
  try {
    find_profile("no-such-profile");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("profile 'no-such-profile' not found"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pocl-2dev"), std::string::npos) << e.what();
  }
  TempDir dir;
  const fs::path mine = dir.write("site/mine.yaml", "name: mine\n");
  ASSERT_EQ(setenv("MIXCL_PROFILE_PATH", (dir.path() / "nowhere:" ).string().append((dir.path() / "site").string()).c_str(), 1), 0);
  EXPECT_EQ(find_profile("mine"), mine);
  const auto with_env = shipped_profiles();
  EXPECT_NE(std::find(with_env.begin(), with_env.end(), "mine"), with_env.end());
  unsetenv("MIXCL_PROFILE_PATH");
  EXPECT_THROW(find_profile("mine"), Error);
}

}  // namespace
}  // namespace mixcl::scheduler
