// The cost model's fixed costs as the executor incurs them: ops launched per step (counted by hand from
// scheduler/executor/forward_steps.cpp) times the place's per-op cost, and the activation copies of the
// residual stream following the steps; and measure_overheads giving usable figures on real devices.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/registry.h"
#include "scheduler/calibrate.h"
#include "scheduler/cost_model.h"
#include "scheduler/plan.h"
#include "tests/scheduler/plan/plan_test_util.h"

namespace mixcl::scheduler {
namespace {

using test::make_profile;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(CostOps, AttentionOpsByHand) {
  arch::Deepseek2Config c;
  c.n_head = 16;
  c.q_lora_rank = 0;
  // attn_norm, q, kv_a, rope, copy, kv_a_norm, copy, convert, rope, copy, attention, out, add + 2 per head.
  EXPECT_DOUBLE_EQ(attention_ops(c, 1, false), 13 + 32);
  EXPECT_DOUBLE_EQ(attention_ops(c, 1, true), 13 + 2);  // matmul_heads for k_b and for v_b
  c.q_lora_rank = 8;  // q_a, q_a_norm, q_b instead of q
  EXPECT_DOUBLE_EQ(attention_ops(c, 1, false), 15 + 32);
  EXPECT_DOUBLE_EQ(attention_ops(c, 7, false), 15 + 96);  // batches gather and scatter around each per-head matmul
  EXPECT_DOUBLE_EQ(attention_ops(c, 7, true), 15 + 96);   // prefill keeps one product per head
}

// Plan options whose roofline and copies cost nothing measurable: only op launches remain.
PlanOptions ops_only_options() {
  PlanOptions o;
  o.context = 512;
  o.batch = 16;
  o.decode_position = 100;
  o.cost.transfer_latency_s = 0;
  return o;
}

// Ops of one decode token by hand: embedding lookup, per layer attention and FFN, the head.
double decode_ops_by_hand(const arch::Deepseek2Config& c) {
  double ops = 1 + 2;  // get_rows; output_norm and output
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    ops += 12 + (c.q_lora_rank > 0 ? 3 : 1) + 2;  // the host runs k_b and v_b of all heads as one op each
    if (!c.is_moe_layer(l)) ops += 6;  // ffn_norm, gate, up, swiglu, down, add
    else ops += 3 + 1 + (c.n_expert_shared > 0 ? 4 + 1 : 0);  // norm, router, top-k, moe_ffn; shared + add
  }
  return ops;
}

TEST(CostOps, HostDecodeIsOpsTimesPerOpCostOverTheRoofline) {
  for (std::string_view g : {"tiny-v3", "v2-lite"}) {
    const ModelInfo m = model_info(g, "Q8_0");
    Profile p = make_profile("host", 1024 * kGiB, 1e9, 1e12, {});  // bandwidth so high the roofline vanishes
    PlanOptions o = ops_only_options();
    const Plan base = make_plan(m, p, o);
    p.host.speeds.op_overhead_us = 7;
    const Plan with = make_plan(m, p, o);
    const double ops = decode_ops_by_hand(m.config);
    EXPECT_NEAR(with.decode.seconds - base.decode.seconds, ops * (7e-6 - o.cost.host_op_overhead_s), 1e-12) << g;
    double counted = 0;
    for (const StepPlan& s : with.steps) counted += s.decode.ops;
    EXPECT_DOUBLE_EQ(counted, ops) << g;
  }
}

TEST(CostOps, HostExpertsMoveTheResidualAsTheExecutorDoes) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  const arch::Deepseek2Config& c = m.config;
  Profile p = make_profile("one", kGiB, 50, 1e9, {{"gpu0", kGiB, 500, 1e9, 10}});
  p.placement = {{"blk\\.[0-9]+\\.ffn_(gate|up|down)_exps\\.weight", "host", "t.yaml:1", nullptr}};
  p.devices[0].speeds.copy_latency_us = 100;
  const Plan plan = make_plan(m, p, ops_only_options());
  ASSERT_EQ(plan.find("token_embd.weight")->location, plan.host());
  // Residual up to gpu0 for layer 0; per MoE layer: down to the host for the router and experts, the
  // normed input up to the shared expert and its output down, back up for the next attention (the last
  // one's is the head's input); the logits down.
  uint32_t moe = 0;
  for (uint32_t l = 0; l < c.n_layer; ++l) moe += c.is_moe_layer(l);
  ASSERT_GT(moe, 0u);
  ASSERT_TRUE(c.is_moe_layer(c.n_layer - 1));
  double copies = 0, latency = 0;
  for (const StepPlan& s : plan.steps) {
    copies += s.decode.copies;
    latency += s.decode.transfer_s - s.decode.transfer_bytes / 10e9;
  }
  EXPECT_DOUBLE_EQ(copies, 1 + 4.0 * moe + 1);
  EXPECT_NEAR(latency, copies * 100e-6, 1e-12);
  // The router runs where the experts are: its time is the host's.
  for (const StepPlan& s : plan.steps)
    if (s.kind == StepKind::kRouter) {
      EXPECT_NEAR(s.decode.read_s, static_cast<double>(s.weight_bytes) / 50e9, 1e-15);
    }
}

TEST(Calibrate, HostAndOpenClGivePositiveFiniteFigures) {
  backend::DiscoveryOptions d;
  d.opencl = true;
  const auto devices = backend::discover_devices(d);
  ASSERT_FALSE(devices.empty());
  CalibrateOptions quick;
  quick.repetitions = 5;
  quick.warmup = 1;
  quick.min_seconds = 0.02;
  bool opencl = false;
  for (const auto& dev : devices) {
    const uint64_t used = dev->memory().used();
    const Overheads o = measure_overheads(*dev, quick);
    EXPECT_TRUE(std::isfinite(o.op_overhead_us) && o.op_overhead_us > 0) << dev->name() << " " << o.op_overhead_us;
    if (dev->caps().kind == backend::DeviceKind::kHost) {
      EXPECT_EQ(o.copy_latency_us, 0) << "the host copies nothing";
    } else {
      opencl = true;
      EXPECT_TRUE(std::isfinite(o.copy_latency_us) && o.copy_latency_us > 0) << dev->name();
    }
    EXPECT_EQ(dev->memory().used(), used) << dev->name() << ": calibration buffers must be freed";
  }
  EXPECT_TRUE(opencl) << "no OpenCL device found: the PoCL path of measure_overheads went untested";
}

TEST(Calibrate, RejectsNonsenseOptions) {
  backend::DiscoveryOptions d;
  d.opencl = false;
  const auto devices = backend::discover_devices(d);
  CalibrateOptions bad;
  bad.ops_per_run = 2;
  try {
    measure_overheads(*devices.front(), bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ops_per_run >= 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mixcl::scheduler
