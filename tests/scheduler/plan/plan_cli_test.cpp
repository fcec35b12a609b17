// `mixcl plan`: JSON that parses and agrees with the library, text output, a real GGUF file, shipped
// profiles, and argument errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "model/gguf/gguf_file.h"
#include "model/synth/synth_model.h"
#include "scheduler/plan.h"
#include "scheduler/profile.h"
#include "tests/support/command.h"

namespace mixcl::scheduler {
namespace {

namespace fs = std::filesystem;

using ::mixcl::test::CommandResult;
using ::mixcl::test::run_mixcl;

class PlanCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("mixcl_plan_cli_{}", ::getpid());
    fs::create_directories(dir_);
    profile_ = dir_ / "one.yaml";
    std::ofstream(profile_) << "name: one\n"
                               "host:\n"
                               "  dram_budget: 1GiB\n"
                               "  speeds: {read_gbps: 50, fp32_gflops: 500}\n"
                               "devices:\n"
                               "  gpu0:\n"
                               "    memory_budget: 3MiB\n"
                               "    speeds: {read_gbps: 500, fp32_gflops: 5000, h2d_gbps: 10, d2h_gbps: 10}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, profile_;
};

TEST_F(PlanCli, JsonParsesAndMatchesTheLibrary) {
  const CommandResult r =
      run_mixcl(fmt::format("plan --geometry tiny-v3 --types Q8_0 --profile {} -c 256 -b 8 --json", profile_.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  PlanOptions o;
  o.context = 256;
  o.batch = 8;
  const Plan plan = make_plan(m, load_profile(profile_), o);
  EXPECT_EQ(j["tensors"].size(), m.tensors.size());
  EXPECT_EQ(j["profile"], "one");
  EXPECT_EQ(j["locations"], (nlohmann::json{"gpu0", "host"}));
  EXPECT_DOUBLE_EQ(j["decode"]["tokens_per_s"].get<double>(), plan.decode.tokens_per_s);
  for (const auto& t : j["tensors"])
    EXPECT_EQ(t["location"], plan.locations[plan.find(t["name"].get<std::string>())->location]) << t["name"];
  for (const auto& mem : j["memory"]) EXPECT_LE(mem["total"].get<uint64_t>(), mem["budget"].get<uint64_t>());
  EXPECT_EQ(j["kv_cache"]["bytes"].get<uint64_t>(),
            uint64_t{m.config.kv_lora_rank + m.config.rope_dim} * 256 * 2 * m.config.n_layer);
}

TEST_F(PlanCli, TextNamesPlacesSpeedsAndBottleneck) {
  const CommandResult r = run_mixcl(fmt::format("plan --geometry tiny-v3 --types Q8_0 --profile {} -c 256 -b 8",
                                            profile_.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want : {"memory", "gpu0", "host", "attention + KV cache of layers", "decode:", "prefill:",
                           "bottleneck", "tokens/s"})
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
}

TEST_F(PlanCli, PlansAGgufFileFromItsHeader) {
  synth::SynthOptions so;
  so.config = arch::geometry("tiny-v2-lite");
  so.tokenizer_merges = 20;
  const fs::path model = dir_ / "tiny.gguf";
  synth::write_synth_model(model, so);
  const CommandResult r = run_mixcl(fmt::format("plan -m {} --profile {} -c 128 -b 4 --json", model.string(),
                                            profile_.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  const gguf::GgufFile file = gguf::GgufFile::open(model);
  ASSERT_EQ(j["tensors"].size(), file.tensors().size());
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    EXPECT_EQ(j["tensors"][i]["name"], std::string(file.tensors()[i].name));
    EXPECT_EQ(j["tensors"][i]["file_bytes"].get<uint64_t>(), file.tensors()[i].nbytes);
  }
}

TEST_F(PlanCli, ShippedProfilesByName) {
  const CommandResult r = run_mixcl("plan --geometry tiny-v3 --types Q4_K_M --profile cpu -c 256 -b 8");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("routed experts of layers 2-3 → host"), std::string::npos) << r.output;
}

TEST_F(PlanCli, ArgumentErrors) {
  const CommandResult both = run_mixcl(fmt::format("plan -m x.gguf --geometry v3 --profile {}", profile_.string()));
  EXPECT_EQ(both.status, 1) << both.output;
  EXPECT_NE(both.output.find("not both"), std::string::npos) << both.output;
  const CommandResult mix = run_mixcl(fmt::format("plan --geometry v3 --types Q9 --profile {}", profile_.string()));
  EXPECT_EQ(mix.status, 1) << mix.output;
  EXPECT_NE(mix.output.find("Q4_K_M"), std::string::npos) << mix.output;  // lists the known mixes
  const CommandResult big = run_mixcl(fmt::format("plan --geometry v3 --types Q4_K_M --profile {}", profile_.string()));
  EXPECT_EQ(big.status, 1) << big.output;
  EXPECT_NE(big.output.find("missing"), std::string::npos) << big.output;
}

// The docs' headline plan: DeepSeek-V3 Q4_K_M on the shipped 24 GB GPU + dual-socket Xeon template.
TEST(PlanTemplates, V3OnGpu24DualXeon) {
  const Profile p = load_profile(fs::path(MIXCL_SOURCE_DIR) / "profiles/templates/gpu24-dual-xeon.yaml");
  const ModelInfo m = model_info("v3", "Q4_K_M");
  const Plan plan = make_plan(m, p);
  for (const MemoryUse& mem : plan.memory) EXPECT_LE(mem.total(), mem.budget) << mem.location;
  for (uint32_t l = 0; l < 61; ++l) EXPECT_EQ(plan.kv_location(l), 0u) << "layer " << l;
  size_t host_layers = 0;
  for (const StepPlan& s : plan.steps)
    if (s.kind == StepKind::kRoutedExperts && s.location == plan.host()) ++host_layers;
  EXPECT_GE(host_layers, 57u);  // at most one 6 GiB layer of experts fits beside the rest on 22 GiB
  // The executor launches two matmuls per head and token (V3: 128 heads, 271 ops per layer's attention):
  // at the template's default per-op cost those launches, not bandwidth, set the pace.
  EXPECT_NE(plan.decode.bottleneck.find("gpu0 op launches (attention)"), std::string::npos) << plan.decode.bottleneck;
  EXPECT_GT(plan.decode.tokens_per_s, 2);
  EXPECT_LT(plan.decode.tokens_per_s, 60);
  // Without launch costs, host DRAM bandwidth sets the pace: between the host-only and the GPU-only bound.
  PlanOptions free_launches;
  free_launches.cost.host_op_overhead_s = free_launches.cost.accel_op_overhead_s = 0;
  const Plan roofline = make_plan(m, p, free_launches);
  EXPECT_NE(roofline.decode.bottleneck.find("host memory bandwidth"), std::string::npos) << roofline.decode.bottleneck;
  EXPECT_GT(roofline.decode.tokens_per_s, 5);
  EXPECT_LT(roofline.decode.tokens_per_s, 60);
  EXPECT_GT(roofline.decode.tokens_per_s, plan.decode.tokens_per_s);
}

// The shipped test profile: layers across both small devices, routed experts on the host by its rule.
TEST(PlanTemplates, PoclTwoDevicesTinyV3) {
  const Profile p = load_profile(fs::path(MIXCL_SOURCE_DIR) / "profiles/pocl-2dev.yaml");
  const ModelInfo m = model_info("tiny-v3", "synth");
  PlanOptions o;
  o.context = 512;
  o.batch = 16;
  const Plan plan = make_plan(m, p, o);
  std::set<size_t> attention_places;
  for (const StepPlan& s : plan.steps) {
    if (s.kind == StepKind::kAttention) attention_places.insert(s.location);
    if (s.kind == StepKind::kRoutedExperts) {
      EXPECT_EQ(s.location, plan.host());
      EXPECT_NE(s.reason.find("placement rule"), std::string::npos) << s.reason;
    }
  }
  EXPECT_EQ(attention_places, (std::set<size_t>{0, 1}));
  for (const MemoryUse& mem : plan.memory) EXPECT_LE(mem.total(), mem.budget) << mem.location;
  EXPECT_EQ(plan.memory[0].reserve, 64u * 1024);
}

}  // namespace
}  // namespace mixcl::scheduler
