// The planner's placement: budgets, rules, proportional layer split, routed experts following the budget,
// over-budget errors, the executor placement function, determinism.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "scheduler/plan.h"
#include "scheduler/plan_detail.h"
#include "tests/scheduler/plan/plan_test_util.h"

namespace mixcl::scheduler {
namespace {

using test::make_profile;
using test::TestDevice;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kTiB = uint64_t{1} << 40;

uint64_t model_bytes(const ModelInfo& m) {
  uint64_t n = 0;
  for (const ModelTensor& t : m.tensors) n += t.bytes;
  return n;
}

// Location of the step of (kind, layer), or SIZE_MAX.
size_t step_location(const Plan& plan, StepKind kind, int layer) {
  for (const StepPlan& s : plan.steps)
    if (s.kind == kind && s.layer == layer) return s.location;
  return SIZE_MAX;
}

// Invariants every plan must satisfy: memory recomputed from the tensors equals the report and stays in
// budget; every tensor sits where its step runs; the executor's key tensors agree with the steps.
void check_plan(const Plan& plan, const ModelInfo& model) {
  ASSERT_EQ(plan.tensors.size(), model.tensors.size());
  ASSERT_EQ(plan.memory.size(), plan.locations.size());
  std::vector<uint64_t> weights(plan.locations.size(), 0), kv(plan.locations.size(), 0);
  for (const TensorPlan& t : plan.tensors) {
    ASSERT_LT(t.location, plan.locations.size()) << t.name;
    EXPECT_FALSE(t.reason.empty()) << t.name;
    if (t.step == StepKind::kUnused) continue;
    weights[t.location] += t.bytes;
    const StepKind kind = t.step == StepKind::kHead && t.name == "token_embd.weight" ? StepKind::kHead : t.step;
    EXPECT_EQ(step_location(plan, kind, t.layer), t.location) << t.name;
  }
  for (const StepPlan& s : plan.steps)
    if (s.kind == StepKind::kAttention) kv[s.location] += plan.kv_bytes_per_layer;
  for (size_t loc = 0; loc < plan.locations.size(); ++loc) {
    const MemoryUse& m = plan.memory[loc];
    EXPECT_EQ(m.weights, weights[loc]) << m.location;
    EXPECT_EQ(m.kv_cache, kv[loc]) << m.location;
    EXPECT_LE(m.total(), m.budget) << m.location << " of profile " << plan.profile << " for " << plan.model;
  }
  for (uint32_t l = 0; l < plan.config.n_layer; ++l) {
    const int layer = static_cast<int>(l);
    EXPECT_EQ(plan.find(fmt::format("blk.{}.attn_kv_a_mqa.weight", l))->location,
              step_location(plan, StepKind::kAttention, layer));
    EXPECT_EQ(plan.kv_location(l), step_location(plan, StepKind::kAttention, layer));
    if (plan.config.is_moe_layer(l)) {
      EXPECT_EQ(plan.find(fmt::format("blk.{}.ffn_gate_exps.weight", l))->location,
                step_location(plan, StepKind::kRoutedExperts, layer));
    }
  }
  EXPECT_GT(plan.decode.tokens_per_s, 0);
  EXPECT_GT(plan.prefill.tokens_per_s, 0);
  EXPECT_FALSE(plan.decode.bottleneck.empty());
}

TEST(Plan, BudgetsRespectedForEveryGeometryAndProfile) {
  PlanOptions opts;
  opts.context = 1024;
  opts.batch = 64;
  for (std::string_view g : arch::geometry_names()) {
    for (std::string_view mix : {"Q4_K_M", "Q8_0"}) {
      const ModelInfo m = model_info(g, mix);
      const uint64_t total = model_bytes(m);
      const uint64_t slack = 4 * kGiB;  // scratch and KV of the big geometries
      const std::vector<Profile> profiles = {
          make_profile("host-only", 2 * total + slack, 100, 1000, {}),
          make_profile("one-small", 2 * total + slack, 100, 1000, {{"gpu0", total / 10 + kGiB / 2, 1000, 50000, 25}}),
          make_profile("two-unequal", 2 * total + slack, 100, 1000,
                       {{"gpu0", total / 4 + kGiB, 900, 80000, 25}, {"gpu1", total / 8 + kGiB, 300, 20000, 16}}),
          make_profile("three", 2 * total + slack, 100, 1000,
                       {{"a", total / 3, 500, 10000, 10}, {"b", total / 3, 500, 10000, 10}, {"c", total / 3, 500, 10000, 10}}),
          make_profile("all-fits", 2 * total + slack, 100, 1000, {{"gpu0", 2 * total + slack, 2000, 100000, 50}}),
      };
      for (const Profile& p : profiles) {
        SCOPED_TRACE(fmt::format("{} {} on {}", g, mix, p.name));
        const Plan plan = make_plan(m, p, opts);
        check_plan(plan, m);
        if (p.name == "all-fits") {
          // Everything but the embedding table fits the accelerator; routed experts go there too unless the
          // cost model prefers the host (tiny models, where fixed per-step costs outweigh the bytes).
          const bool tiny = g.substr(0, 5) == "tiny-";
          for (const StepPlan& s : plan.steps) {
            if (s.kind == StepKind::kEmbedding) continue;
            if (s.kind == StepKind::kRoutedExperts && tiny) {
              if (s.location == plan.host()) {
                EXPECT_NE(s.reason.find("prefers the host"), std::string::npos) << s.reason;
              }
              continue;
            }
            EXPECT_EQ(s.location, 0u) << step_kind_name(s.kind) << " " << s.layer;
          }
          if (!tiny) {
            EXPECT_EQ(plan.memory[plan.host()].weights, plan.find("token_embd.weight")->bytes);
          }
        }
      }
    }
  }
}

TEST(Plan, AcceleratorsSplitLayersInProportionToSpeed) {
  const ModelInfo m = model_info("v3", "Q4_K_M");
  for (const auto& [fast, slow, expected_fast] : {std::tuple{300.0, 100.0, 46}, std::tuple{200.0, 200.0, 31},
                                                 std::tuple{100.0, 400.0, 12}}) {
    const Profile p = make_profile("two", 2 * kTiB, 100, 1000,
                                   {{"gpu0", kTiB, fast, 50000, 25}, {"gpu1", kTiB, slow, 50000, 25}});
    const Plan plan = make_plan(m, p);
    check_plan(plan, m);
    // gpu0 gets the first round(61 * w0 / (w0 + w1)) layers, gpu1 the rest, contiguous.
    for (int l = 0; l < 61; ++l)
      EXPECT_EQ(step_location(plan, StepKind::kAttention, l), l < expected_fast ? 0u : 1u) << "layer " << l;
    EXPECT_EQ(step_location(plan, StepKind::kHead, -1), 1u);  // the head sits beside the last layer
  }
}

TEST(Plan, RulesOverrideThePlannerFirstMatchWins) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  Profile p = make_profile("rules", kGiB, 50, 500, {{"gpu0", kGiB, 500, 5000, 10}, {"gpu1", kGiB, 500, 5000, 10}});
  const Plan free_plan = make_plan(m, p);
  ASSERT_NE(free_plan.find("blk.1.attn_q_a.weight")->location, free_plan.host());
  p.placement = {{"blk\\.1\\..*", "host", "t.yaml:1", nullptr},
                 {"blk\\.1\\.attn_.*", "gpu1", "t.yaml:2", nullptr},
                 {"output(_norm)?\\.weight", "gpu0", "t.yaml:3", nullptr}};
  const Plan plan = make_plan(m, p);
  check_plan(plan, m);
  for (const TensorPlan& t : plan.tensors) {
    if (t.name.rfind("blk.1.", 0) == 0) {
      EXPECT_EQ(t.location, plan.host()) << t.name;
      EXPECT_TRUE(t.by_rule) << t.name;
      EXPECT_NE(t.reason.find("t.yaml:1"), std::string::npos) << t.reason;
    }
  }
  EXPECT_EQ(plan.find("output.weight")->location, 0u);
  EXPECT_EQ(plan.kv_location(1), plan.host());
}

TEST(Plan, MalformedRulesAreErrors) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  Profile p = make_profile("rules", kGiB, 50, 500, {{"gpu0", kGiB, 500, 5000, 10}});
  const auto message = [&](PlacementRule r) {
    p.placement = {r};
    try {
      make_plan(m, p);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string split = message({"blk\\.2\\.ffn_up_exps\\.weight", "host", "t.yaml:4", nullptr});
  EXPECT_NE(split.find("split the routed experts of layer 2"), std::string::npos) << split;
  EXPECT_NE(split.find("blk.2.ffn_gate_exps.weight"), std::string::npos) << split;
  const std::string target = message({"output\\.weight", "gpu9", "t.yaml:5", nullptr});
  EXPECT_NE(target.find("gpu9"), std::string::npos) << target;
  EXPECT_NE(target.find("t.yaml:5"), std::string::npos) << target;
  const std::string regex = message({"blk\\.(", "host", "t.yaml:6", nullptr});
  EXPECT_NE(regex.find("t.yaml:6"), std::string::npos) << regex;
  EXPECT_NE(regex.find("regular expression"), std::string::npos) << regex;
}

TEST(Plan, RoutedExpertsMoveToTheAcceleratorWhileBudgetAllows) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");  // layers 2 and 3 are MoE, equal expert sizes
  PlanOptions opts;
  opts.context = 256;
  opts.batch = 8;
  const auto plan_with = [&](uint64_t budget, double dev_gbps) {
    return make_plan(m, make_profile("one", kGiB, 50, 5000, {{"gpu0", budget, dev_gbps, 50000, 10}}), opts);
  };
  const Plan all = plan_with(kGiB, 500);
  check_plan(all, m);
  ASSERT_EQ(all.find("blk.2.ffn_up_exps.weight")->location, 0u);
  ASSERT_EQ(all.find("blk.3.ffn_up_exps.weight")->location, 0u);
  const uint64_t used = all.memory[0].total();
  uint64_t e3 = 0;
  for (const StepPlan& s : all.steps)
    if (s.kind == StepKind::kRoutedExperts && s.layer == 3) e3 = s.weight_bytes;
  ASSERT_GT(e3, 0u);

  // One byte short of everything: layer 2's experts fit (whole layers, first come), layer 3's go back.
  const Plan one = plan_with(used - 1, 500);
  check_plan(one, m);
  EXPECT_EQ(one.find("blk.2.ffn_down_exps.weight")->location, 0u);
  EXPECT_EQ(one.find("blk.3.ffn_down_exps.weight")->location, one.host());
  EXPECT_NE(one.find("blk.3.ffn_down_exps.weight")->reason.find("budget left"), std::string::npos)
      << one.find("blk.3.ffn_down_exps.weight")->reason;
  EXPECT_EQ(one.memory[0].weights + e3, all.memory[0].weights);

  // Room for neither layer: both on the host; the rest of the plan still on the accelerator.
  const Plan none = plan_with(used - e3 - e3 / 2, 500);
  check_plan(none, m);
  EXPECT_EQ(none.find("blk.2.ffn_down_exps.weight")->location, none.host());
  EXPECT_EQ(none.find("blk.3.ffn_down_exps.weight")->location, none.host());
  EXPECT_EQ(none.find("blk.3.attn_output.weight")->location, 0u);

  // An accelerator slower than host DRAM: room enough, but the cost model keeps the experts on the host.
  const Plan slow = plan_with(kGiB, 5);
  check_plan(slow, m);
  EXPECT_EQ(slow.find("blk.2.ffn_gate_exps.weight")->location, slow.host());
  EXPECT_NE(slow.find("blk.2.ffn_gate_exps.weight")->reason.find("prefers the host"), std::string::npos)
      << slow.find("blk.2.ffn_gate_exps.weight")->reason;
}

TEST(Plan, HostOverBudgetNamesTensorsAndMissingBytes) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  PlanOptions opts;
  opts.context = 512;
  opts.batch = 16;
  const uint64_t budget = 2 << 20;  // 2 MiB for a model of about 4 MiB
  const Profile p = make_profile("small-host", budget, 50, 500, {});
  uint64_t weights = 0;
  for (const ModelTensor& t : m.tensors) weights += t.bytes;
  const arch::Deepseek2Config& c = m.config;
  const uint64_t kv = uint64_t{c.kv_lora_rank + c.rope_dim} * opts.context * 2 * c.n_layer;
  const uint64_t scratch = detail::scratch_bytes(c, opts.batch, opts.context, false);
  const uint64_t missing = weights + kv - (budget - scratch);
  try {
    make_plan(m, p, opts);
    FAIL() << "expected an over-budget error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("host"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing " + format_bytes(missing)), std::string::npos) << msg << "\nwanted " << missing;
    EXPECT_NE(msg.find("routed experts of layers 2-3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("token_embd.weight"), std::string::npos) << msg;
  }
}

TEST(Plan, RulesThatOverfillADeviceAreErrors) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  Profile p = make_profile("pinned", kGiB, 50, 500, {{"gpu0", 3 << 20, 500, 5000, 10}});
  p.placement = {{"blk\\.[0-9]+\\.ffn_.*_exps\\.weight", "gpu0", "t.yaml:9", nullptr},
                 {"blk\\.[0-9]+\\.attn_.*", "gpu0", "t.yaml:10", nullptr}};
  PlanOptions opts;
  opts.context = 256;
  opts.batch = 8;
  try {
    make_plan(m, p, opts);
    FAIL() << "expected an over-budget error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gpu0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("placement rules put"), std::string::npos) << msg;
    EXPECT_NE(msg.find("routed experts of layers 2-3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  }
}

TEST(Plan, BudgetZeroWithoutADeviceSizeIsAnError) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  const Profile p = make_profile("zero", kGiB, 50, 500, {{"gpu0", 0, 500, 5000, 10}});
  EXPECT_THROW(make_plan(m, p), Error);
  PlanOptions opts;
  opts.device_memory["gpu0"] = kGiB;
  const Plan plan = make_plan(m, p, opts);
  EXPECT_EQ(plan.memory[0].budget, kGiB);
}

TEST(Plan, PlacementFnMapsTensorNamesToExecutorDevices) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  const Profile p = make_profile("split", kGiB, 50, 500, {{"gpu0", 3 << 20, 500, 5000, 10}});
  PlanOptions opts;
  opts.context = 256;
  opts.batch = 8;
  const Plan plan = make_plan(m, p, opts);
  std::set<size_t> used;
  for (const TensorPlan& t : plan.tensors) used.insert(t.location);
  ASSERT_EQ(used.size(), 2u) << "the test wants a plan using both places";
  const PlacementFn fn = placement_fn(plan, {{"host", 0}, {"gpu0", 1}});
  for (const TensorPlan& t : plan.tensors) EXPECT_EQ(fn(t.name), t.location == plan.host() ? 0u : 1u) << t.name;
  EXPECT_EQ(fn("blk.0.attn_kv_a_mqa.weight"), plan.kv_location(0) == plan.host() ? 0u : 1u);
  EXPECT_THROW(fn("blk.99.attn_q_a.weight"), Error);
  EXPECT_THROW(placement_fn(plan, {{"host", 0}}), Error);
}

TEST(Plan, IsDeterministic) {
  const ModelInfo m = model_info("v2-lite", "Q4_K_M");
  const Profile p = make_profile("two", 64 * kGiB, 80, 1000,
                                 {{"gpu0", 4 * kGiB, 900, 80000, 25}, {"gpu1", 2 * kGiB, 300, 20000, 16}});
  EXPECT_EQ(plan_json(make_plan(m, p)), plan_json(make_plan(m, p)));
  EXPECT_EQ(format_plan(make_plan(m, p)), format_plan(make_plan(m, p)));
}

TEST(Plan, ProfileQuantChoiceResizesTensors) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  Profile p = make_profile("q", kGiB, 50, 500, {});
  p.quant.routed_experts = DType::Q4_0;
  const Plan plan = make_plan(m, p);
  const TensorPlan* t = plan.find("blk.2.ffn_up_exps.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->file_type, DType::Q8_0);
  EXPECT_EQ(t->stored_type, DType::Q4_0);
  EXPECT_EQ(t->bytes * 34, t->file_bytes * 18);  // Q4_0 blocks of 32 are 18 bytes, Q8_0 blocks 34
  EXPECT_EQ(plan.find("blk.2.attn_q_a.weight")->stored_type, DType::Q8_0);
}

}  // namespace
}  // namespace mixcl::scheduler
