// The roofline cost model, checked by hand: step times, copies, expert counts, and whole-plan decode and
// prefill times recomputed from the tensor list.
#include <gtest/gtest.h>

#include <cmath>

#include "scheduler/cost_model.h"
#include "scheduler/plan.h"
#include "tests/scheduler/plan/plan_test_util.h"

namespace mixcl::scheduler {
namespace {

using test::make_profile;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(CostModel, StepTimeIsTheLargerOfReadAndComputePlusOpLaunches) {
  Speeds s;
  s.read_bps = 100e9;
  s.flops = 1e12;
  s.op_overhead_s = 1e-5;
  const StepTime mem = step_time(Work{1e9, 2e9}, s, 3);
  EXPECT_DOUBLE_EQ(mem.read_s, 0.01);
  EXPECT_DOUBLE_EQ(mem.compute_s, 0.002);
  EXPECT_DOUBLE_EQ(mem.total(), 0.01 + 3e-5);
  EXPECT_TRUE(mem.memory_bound());
  const StepTime comp = step_time(Work{1e6, 1e12}, s, 1);
  EXPECT_DOUBLE_EQ(comp.total(), 1.0 + 1e-5);
  EXPECT_FALSE(comp.memory_bound());
}

TEST(CostModel, TransfersCrossEachDeviceLinkWithItsLatency) {
  CostParams p;
  Speeds a, b, u;
  a.d2h_bps = 4e9;
  a.h2d_bps = 2e9;
  a.copy_latency_s = 1e-5;
  b.d2h_bps = 8e9;
  b.h2d_bps = 1e9;
  b.copy_latency_s = 3e-5;
  u.unified = true;
  u.copy_latency_s = 2e-6;
  EXPECT_DOUBLE_EQ(transfer_time(4000, nullptr, &a, p), 1e-5 + 4000 / 2e9);
  EXPECT_DOUBLE_EQ(transfer_time(4000, &a, nullptr, p), 1e-5 + 4000 / 4e9);
  EXPECT_DOUBLE_EQ(transfer_time(4000, &a, &b, p), (1e-5 + 4000 / 4e9) + (3e-5 + 4000 / 1e9));
  EXPECT_DOUBLE_EQ(transfer_time(4000, &a, &a, p), 0.0);
  EXPECT_DOUBLE_EQ(transfer_time(4000, nullptr, &u, p), 2e-6);
}

TEST(CostModel, ProfileOverheadsReplaceTheDefaults) {
  CostParams p;
  p.host_op_overhead_s = 5e-6;
  p.accel_op_overhead_s = 2e-5;
  p.transfer_latency_s = 1e-5;
  DeviceSpeeds given;
  EXPECT_DOUBLE_EQ(resolve_speeds(given, true, false, p).op_overhead_s, 5e-6);
  EXPECT_DOUBLE_EQ(resolve_speeds(given, false, false, p).op_overhead_s, 2e-5);
  EXPECT_DOUBLE_EQ(resolve_speeds(given, false, false, p).copy_latency_s, 1e-5);
  given.op_overhead_us = 120;
  given.copy_latency_us = 700;
  EXPECT_DOUBLE_EQ(resolve_speeds(given, true, false, p).op_overhead_s, 120e-6);
  EXPECT_DOUBLE_EQ(resolve_speeds(given, false, false, p).op_overhead_s, 120e-6);
  EXPECT_DOUBLE_EQ(resolve_speeds(given, false, false, p).copy_latency_s, 700e-6);
}

TEST(CostModel, ExpertsTouchedByABatch) {
  EXPECT_DOUBLE_EQ(experts_touched(256, 8, 1), 8.0);
  EXPECT_DOUBLE_EQ(experts_touched(256, 8, 0), 0.0);
  EXPECT_DOUBLE_EQ(experts_touched(8, 2, 2), 8 * (1 - 0.75 * 0.75));
  EXPECT_NEAR(experts_touched(256, 8, 4096), 256.0, 1e-9);
}

TEST(CostModel, AttentionCoreWorkByHand) {
  arch::Deepseek2Config c;
  c.n_head = 2;
  c.kv_lora_rank = 4;
  c.rope_dim = 2;
  const Work w = attention_core_work(c, 3, 5, 7, 2);
  EXPECT_DOUBLE_EQ(w.flops, 3 * 2 * 5 * (2 * (4 + 2) + 2 * 4));  // scores over Lkv+dr, sum over Lkv
  EXPECT_DOUBLE_EQ(w.bytes, 7 * (4 + 2) * 2);
  EXPECT_DOUBLE_EQ(matmul_work(10, 6, 3).flops, 36.0);
  EXPECT_DOUBLE_EQ(matmul_work(10, 6, 3).bytes, 10.0);
}

TEST(CostModel, MissingSpeedsFallBackToDefaultsAndSaySo) {
  CostParams p;
  DeviceSpeeds given;
  given.fp32_gflops = 10;
  given.d2h_gbps = 5;
  std::vector<std::string> defaulted;
  const Speeds s = resolve_speeds(given, false, false, p, &defaulted);
  EXPECT_DOUBLE_EQ(s.read_bps, p.accel_read_gbps * 1e9);
  EXPECT_DOUBLE_EQ(s.flops, 10e9);
  EXPECT_DOUBLE_EQ(s.h2d_bps, p.link_gbps * 1e9);
  EXPECT_DOUBLE_EQ(s.d2h_bps, 5e9);
  EXPECT_EQ(defaulted, (std::vector<std::string>{"read_gbps", "h2d_gbps"}));
}

// Bytes a decode token reads by hand: every used tensor once, except one embedding row, k of X routed
// experts per MoE layer, plus the KV cache up to the decode position.
double decode_bytes_by_hand(const ModelInfo& m, uint32_t position, double* embedding_row) {
  const arch::Deepseek2Config& c = m.config;
  double bytes = 0;
  for (const ModelTensor& t : m.tensors) {
    if (t.name.rfind("blk.", 0) == 0 && std::stoi(t.name.substr(4)) >= static_cast<int>(c.n_layer)) continue;
    if (t.name == "token_embd.weight") {
      *embedding_row = static_cast<double>(t.bytes) / c.n_vocab;
      bytes += *embedding_row;
    } else if (t.name.find("_exps.") != std::string::npos) {
      bytes += static_cast<double>(t.bytes) * c.n_expert_used / c.n_expert;
    } else {
      bytes += static_cast<double>(t.bytes);
    }
  }
  return bytes + static_cast<double>(position) * (c.kv_lora_rank + c.rope_dim) * 2 * c.n_layer;
}

PlanOptions zero_overhead_options() {
  PlanOptions o;
  o.context = 512;
  o.batch = 16;
  o.decode_position = 100;
  o.cost.host_op_overhead_s = 0;
  o.cost.accel_op_overhead_s = 0;
  o.cost.transfer_latency_s = 1e-5;
  return o;
}

TEST(CostModel, HostOnlyDecodeAndPrefillEqualBytesOverBandwidth) {
  for (std::string_view g : {"tiny-v3", "tiny-v2-lite", "v2-lite"}) {
    const ModelInfo m = model_info(g, "Q4_K_M");
    const arch::Deepseek2Config& c = m.config;
    // Compute so fast that every step is memory bound: time = bytes / 50 GB/s.
    const Profile p = make_profile("host", 1024 * kGiB, 50, 1e9, {});
    const PlanOptions o = zero_overhead_options();
    const Plan plan = make_plan(m, p, o);
    double row = 0;
    const double decode = decode_bytes_by_hand(m, 100, &row);
    EXPECT_NEAR(plan.decode.seconds, decode / 50e9, 1e-12 * decode) << g;
    EXPECT_NEAR(plan.decode.tokens_per_s, 50e9 / decode, 1e-6 * 50e9 / decode) << g;
    // Prefill of 16 tokens: 16 embedding rows, the experts a batch touches, the KV cache of 16 positions,
    // the other weights once (the head for the last token only).
    double prefill = 0;
    for (const ModelTensor& t : m.tensors) {
      if (t.name == "token_embd.weight") prefill += 16 * row;
      else if (t.name.find("_exps.") != std::string::npos)
        prefill += static_cast<double>(t.bytes) / c.n_expert * experts_touched(c.n_expert, c.n_expert_used, 16);
      else prefill += static_cast<double>(t.bytes);
    }
    prefill += 16.0 * (c.kv_lora_rank + c.rope_dim) * 2 * c.n_layer;
    EXPECT_NEAR(plan.prefill.seconds, prefill / 50e9, 1e-12 * prefill) << g;
    EXPECT_NE(plan.decode.bottleneck.find("host memory bandwidth"), std::string::npos) << plan.decode.bottleneck;
  }
}

TEST(CostModel, AcceleratorDecodeAddsLinkCopiesByHand) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  const arch::Deepseek2Config& c = m.config;
  const Profile p = make_profile("one", kGiB, 50, 1e9, {{"gpu0", kGiB, 500, 1e9, 10}});
  const Plan plan = make_plan(m, p, zero_overhead_options());
  // Everything but the embedding table on gpu0: the table's row on the host, the hidden state up the link,
  // the logits down.
  ASSERT_EQ(plan.find("token_embd.weight")->location, plan.host());
  for (const TensorPlan& t : plan.tensors)
    if (t.name != "token_embd.weight") {
      ASSERT_EQ(t.location, 0u) << t.name;
    }
  double row = 0;
  const double all = decode_bytes_by_hand(m, 100, &row);
  const double expected = (all - row) / 500e9 + row / 50e9 + (1e-5 + 4.0 * c.n_embd / 10e9) +
                          (1e-5 + 4.0 * c.n_vocab / 10e9);
  EXPECT_NEAR(plan.decode.seconds, expected, 1e-12 * expected);
}

TEST(CostModel, HostExpertsOverlapTheSharedExpertWhenTheProfileSaysSo) {
  const ModelInfo m = model_info("tiny-v3", "Q8_0");
  Profile p = make_profile("one", kGiB, 50, 1e9, {{"gpu0", kGiB, 500, 1e9, 10}});
  p.placement = {{"blk\\.[0-9]+\\.ffn_(gate|up|down)_exps\\.weight", "host", "t.yaml:1", nullptr}};
  p.scheduling.overlap_host_experts = false;
  const Plan serial = make_plan(m, p, zero_overhead_options());
  p.scheduling.overlap_host_experts = true;
  const Plan overlapped = make_plan(m, p, zero_overhead_options());
  double saved = 0;
  for (uint32_t l = m.config.n_dense; l < m.config.n_layer; ++l) {
    double shared = 0, routed = 0;
    for (const StepPlan& s : overlapped.steps)
      if (s.layer == static_cast<int>(l)) {
        if (s.kind == StepKind::kSharedExperts) shared = s.decode.seconds;
        if (s.kind == StepKind::kRoutedExperts) {
          routed = s.decode.seconds;
          EXPECT_TRUE(s.overlapped);
        }
      }
    ASSERT_GT(shared, 0);
    ASSERT_GT(routed, 0);
    saved += std::min(shared, routed);
  }
  EXPECT_NEAR(serial.decode.seconds - overlapped.decode.seconds, saved, 1e-12);
}

}  // namespace
}  // namespace mixcl::scheduler
