// One synthetic tiny-v3 model run through the planner's plan under three profiles (host only, one PoCL device,
// two PoCL devices with small budgets and routed experts on the host): same logits and routes, every device's
// allocator peak within its budget, and the plan's placement really split the way the budgets force.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "backend/registry.h"
#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "profile_run_util.h"
#include "scheduler/profile.h"
#include "scheduler/profile_match.h"
#include "scheduler/profile_session.h"

namespace mixcl::scheduler::test {
namespace {

constexpr uint32_t kContext = 32;
constexpr uint32_t kBatch = 4;

const gguf::GgufFile& model() {
  static const gguf::GgufFile f = gguf::GgufFile::open(tiny_v3_model());
  return f;
}

std::vector<int32_t> tokens(uint32_t vocab) {
  std::vector<int32_t> t;
  for (uint32_t i = 0; i < 11; ++i) t.push_back(static_cast<int32_t>((i * 37u + 5u) % vocab));
  return t;
}

/// What one profile run gave: all logits, all routes, the plan, and each device's peak against its budget.
struct ProfileRun {
  std::vector<float> logits;
  std::vector<std::vector<std::vector<int32_t>>> routes;
  Plan plan;
  std::vector<std::string> device_names;
  ExecutorStats stats;
};

// Fresh devices per run so that each allocator peak belongs to this run alone.
ProfileRun run_profile(const Profile& profile) {
  backend::DiscoveryOptions dopt;
  dopt.host = host_options(profile.host, dopt.host);
  dopt.opencl = !profile.devices.empty();
  const auto owned = backend::discover_devices(dopt);
  std::vector<backend::Device*> all;
  for (const auto& d : owned) all.push_back(d.get());
  ProfileSession s = make_profile_session(model(), profile, all, kContext, kBatch);
  EXPECT_EQ(s.devices.size(), profile.devices.size() + 1);
  EXPECT_EQ(s.devices.back(), all.front()) << "the host comes last in the executor's list";
  EXPECT_EQ(s.options.kv_type, profile.quant.kv_cache);

  ProfileRun out;
  {
    Executor ex(model(), s.devices, s.options);
    const auto toks = tokens(ex.config().n_vocab);
    ForwardRequest req;
    req.all_logits = true;
    req.routes = true;
    // A prefill of 7 (two batches), then decode token by token.
    auto append = [&out](ForwardResult&& r) {
      out.logits.insert(out.logits.end(), r.logits.begin(), r.logits.end());
      if (out.routes.size() < r.routes.size()) out.routes.resize(r.routes.size());
      for (size_t l = 0; l < r.routes.size(); ++l)
        for (auto& t : r.routes[l]) out.routes[l].push_back(std::move(t));
    };
    append(ex.forward(std::span(toks).first(7), req));
    for (size_t i = 7; i < toks.size(); ++i) append(ex.forward(std::span(toks).subspan(i, 1), req));
    out.stats = ex.stats();
    for (backend::Device* d : s.devices) {
      out.device_names.push_back(d->name());
      EXPECT_GT(d->memory().peak(), 0u) << profile.name << ": " << d->name() << " was never used";
      EXPECT_LE(d->memory().peak(), d->memory().budget()) << profile.name << ": " << d->name() << " over budget";
    }
  }
  out.plan = std::move(s.plan);
  return out;
}

double range_of(const std::vector<float>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return static_cast<double>(*hi) - static_cast<double>(*lo);
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// The host quantizes activations to 8 bits for its quantized dot products, PoCL does not: measured 1.5% of the
// logit range apart on this Q4_K_M-like model (the same with everything but the embedding on one PoCL device);
// routes must not change.
constexpr double kRel = 2e-2;

void expect_agree(const ProfileRun& want, const ProfileRun& got, const std::string& what) {
  ASSERT_EQ(want.logits.size(), got.logits.size()) << what;
  const double range = range_of(want.logits);
  ASSERT_GT(range, 0.0);
  const double diff = max_diff(want.logits, got.logits);
  EXPECT_LE(diff, kRel * range) << what << ": logit range " << range;
  std::printf("[ %s ] max |logit diff| %.3g = %.3g%% of range %.3g\n", what.c_str(), diff, 100 * diff / range, range);
  EXPECT_EQ(want.routes, got.routes) << what;
}

const ProfileRun& cpu_run() {
  static const ProfileRun r = run_profile(load_profile(find_profile("cpu")));
  return r;
}

TEST(ProfileRun, CpuProfileRunsEverythingOnTheHost) {
  const ProfileRun& r = cpu_run();
  ASSERT_EQ(r.plan.locations, std::vector<std::string>{"host"});
  for (const TensorPlan& t : r.plan.tensors) EXPECT_EQ(t.location, 0u) << t.name;
  EXPECT_EQ(r.routes.size(), arch::from_gguf(model()).n_layer - arch::from_gguf(model()).n_dense);
  EXPECT_GT(r.plan.decode.tokens_per_s, 0.0);
}

TEST(ProfileRun, OneDeviceProfileAgreesWithHost) {
  const Profile p = parse_profile(R"(name: pocl-1dev
host: {threads: 2}
devices:
  cl0:
    match: {platform: Portable Computing Language, index: 0}
    memory_budget: 16MiB
quant: {kv_cache: F16}
)",
                                  "pocl-1dev (test)", ".");
  const ProfileRun r = run_profile(p);
  ASSERT_EQ(r.plan.locations, (std::vector<std::string>{"cl0", "host"}));
  // 16 MiB holds the whole 3.7 MiB model: the planner keeps every step on the device but the embedding lookup
  // (one row per token: the host reads it in place from the mapped file).
  for (const StepPlan& s : r.plan.steps) {
    if (s.kind == StepKind::kEmbedding) continue;
    EXPECT_EQ(s.location, 0u) << step_kind_name(s.kind) << " " << s.layer;
  }
  expect_agree(cpu_run(), r, "one PoCL device");
}

TEST(ProfileRun, TwoDeviceProfileSplitsLayersAndKeepsExpertsOnHost) {
  const ProfileRun r = run_profile(load_profile(find_profile("pocl-2dev")));
  const Plan& plan = r.plan;
  ASSERT_EQ(plan.locations, (std::vector<std::string>{"cl0", "cl1", "host"}));
  std::set<size_t> attention_places;
  size_t routed = 0;
  for (const StepPlan& s : plan.steps) {
    if (s.kind == StepKind::kAttention) attention_places.insert(s.location);
    if (s.kind == StepKind::kRoutedExperts) {
      ++routed;
      EXPECT_EQ(s.location, plan.host()) << "routed experts of layer " << s.layer;
    }
  }
  EXPECT_EQ(attention_places, (std::set<size_t>{0, 1})) << "the 1.5 MiB budgets should force layers onto both";
  EXPECT_EQ(routed, arch::from_gguf(model()).n_layer - arch::from_gguf(model()).n_dense);
  for (const TensorPlan& t : plan.tensors) {
    if (t.name.find("_exps.") != std::string::npos) {
      EXPECT_EQ(t.location, plan.host()) << t.name;
    }
  }
  for (const MemoryUse& m : plan.memory) EXPECT_LE(m.total(), m.budget) << m.location;
  expect_agree(cpu_run(), r, "two PoCL devices + host experts");
}

TEST(ProfileRun, StreamingProfileComputesHostExpertsOnTheDeviceForFullBatches) {
  const Profile p = parse_profile(R"(name: pocl-stream
host: {threads: 2}
devices:
  cl0:
    match: {platform: Portable Computing Language, index: 0}
    memory_budget: 16MiB
quant: {kv_cache: F16}
placement:
  - pattern: 'blk\.[0-9]+\.ffn_(gate|up|down)_exps\.weight'
    target: host
scheduling: {stream_experts_min_batch: 4}
)",
                                  "pocl-stream (test)", ".");
  const ProfileRun r = run_profile(p);
  const auto c = arch::from_gguf(model());
  size_t streamed = 0;
  for (const StepPlan& s : r.plan.steps)
    if (s.kind == StepKind::kRoutedExperts) {
      EXPECT_EQ(s.location, r.plan.host()) << "layer " << s.layer;
      EXPECT_TRUE(s.streamed) << "layer " << s.layer;
      streamed += s.streamed;
    }
  EXPECT_EQ(streamed, c.n_layer - c.n_dense);
  // The prefill of 7 runs as batches of 4 (streamed) and 3 (below the threshold); decode tokens stay on the host.
  EXPECT_EQ(r.stats.streamed_steps, c.n_layer - c.n_dense);
  expect_agree(cpu_run(), r, "host experts streamed to one PoCL device");
}

TEST(ProfileRun, UnmatchedProfileDeviceIsAClearError) {
  const Profile p = parse_profile(R"(name: nowhere
devices:
  gpu0:
    match: {vendor: NoSuchVendor}
)",
                                  "nowhere (test)", ".");
  const auto owned = backend::discover_devices({});
  std::vector<backend::Device*> all;
  for (const auto& d : owned) all.push_back(d.get());
  try {
    make_profile_session(model(), p, all, kContext, kBatch);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gpu0"), std::string::npos) << e.what();
  }
  // Host only (no OpenCL discovered) with a profile that needs a device.
  try {
    make_profile_session(model(), p, {all.front()}, kContext, kBatch);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no OpenCL device"), std::string::npos) << e.what();
  }
  // The host must come first.
  const Profile cpu = load_profile(find_profile("cpu"));
  if (all.size() > 1) {
    EXPECT_THROW(make_profile_session(model(), cpu, {all[1], all[0]}, kContext, kBatch), Error);
  }
}

}  // namespace
}  // namespace mixcl::scheduler::test
