// Per-format decode rates (speeds.matvec_gbps): the cost model reads a decode token's weights at the rate of
// their stored format, everything else (KV cache, embedding row, prefill) at read_gbps; checked by hand.
#include <gtest/gtest.h>

#include <map>

#include "common/error.h"
#include "scheduler/cost_model.h"
#include "scheduler/plan.h"
#include "tests/scheduler/plan/plan_test_util.h"

namespace mixcl::scheduler {
namespace {

using test::make_profile;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(MatvecRate, StepTimeReadsEachFormatAtItsRate) {
  Speeds s;
  s.read_bps = 100e9;
  s.flops = 1e15;
  s.matvec_bps = {{DType::Q4_K, 10e9}, {DType::Q8_0, 40e9}};
  Work w;
  w.bytes = 7e6;  // 1 MB Q4_K, 2 MB Q8_0, 3 MB Q6_K (no rate: read_gbps), 1 MB of KV cache
  w.by_type = {{DType::Q4_K, 1e6}, {DType::Q8_0, 2e6}, {DType::Q6_K, 3e6}};
  const StepTime t = step_time(w, s, 2);
  EXPECT_DOUBLE_EQ(t.read_s, 1e6 / 10e9 + 2e6 / 40e9 + 3e6 / 100e9 + 1e6 / 100e9);
  EXPECT_DOUBLE_EQ(s.matvec_rate(DType::Q6_K), 100e9);
  EXPECT_DOUBLE_EQ(s.matvec_rate(DType::Q4_K), 10e9);
  // Work sums its typed bytes.
  Work a;
  a.bytes = 1;
  a.by_type = {{DType::Q4_K, 1}};
  a += w;
  EXPECT_DOUBLE_EQ(a.by_type[DType::Q4_K], 1e6 + 1);
  EXPECT_DOUBLE_EQ(a.bytes, 7e6 + 1);
}

TEST(MatvecRate, ResolvedFromTheProfileInGigabytes) {
  DeviceSpeeds given;
  given.read_gbps = 30;
  given.matvec_gbps = {{DType::Q5_0, 4.5}, {DType::F32, 12}};
  const Speeds s = resolve_speeds(given, true, false, CostParams{});
  EXPECT_DOUBLE_EQ(s.matvec_rate(DType::Q5_0), 4.5e9);
  EXPECT_DOUBLE_EQ(s.matvec_rate(DType::F32), 12e9);
  EXPECT_DOUBLE_EQ(s.matvec_rate(DType::Q8_0), 30e9);
}

// A decode token's time on a host-only plan, by hand: each used tensor's bytes at its format's rate (routed
// experts: k of X), the embedding row and the KV cache at read_gbps.
TEST(MatvecRate, HostDecodeByHand) {
  for (std::string_view g : {"tiny-v3", "v2-lite"}) {
    SCOPED_TRACE(g);
    const ModelInfo m = model_info(g, "Q4_K_M");
    const arch::Deepseek2Config& c = m.config;
    Profile p = make_profile("host", 1024 * kGiB, 50, 1e9, {});
    const std::map<DType, double> gbps = {{DType::Q4_K, 7}, {DType::Q6_K, 11}, {DType::F32, 23}};
    p.host.speeds.matvec_gbps = gbps;
    PlanOptions o;
    o.context = 512;
    o.batch = 16;
    o.decode_position = 100;
    o.cost.host_op_overhead_s = 0;
    o.cost.accel_op_overhead_s = 0;
    const Plan plan = make_plan(m, p, o);
    const auto rate = [&](DType t) {
      const auto it = gbps.find(t);
      return (it != gbps.end() ? it->second : 50.0) * 1e9;
    };
    double seconds = 0, plain = 0;
    bool q8 = false;  // some format has no rate
    for (const ModelTensor& t : m.tensors) {
      if (t.name.rfind("blk.", 0) == 0 && std::stoi(t.name.substr(4)) >= static_cast<int>(c.n_layer)) continue;
      const double b = static_cast<double>(t.bytes);
      q8 |= gbps.count(t.type) == 0;
      if (t.name == "token_embd.weight") plain += b / c.n_vocab;
      else if (t.name.find("_exps.") != std::string::npos) seconds += b * c.n_expert_used / c.n_expert / rate(t.type);
      else seconds += b / rate(t.type);
    }
    plain += 100.0 * (c.kv_lora_rank + c.rope_dim) * 2 * c.n_layer;
    seconds += plain / 50e9;
    EXPECT_TRUE(q8) << "the mix should hold a format without a rate (read at read_gbps)";
    EXPECT_NEAR(plan.decode.seconds, seconds, 1e-9 * seconds);
    // Prefill is not a mat-vec: it reads at read_gbps as before.
    Profile plain_profile = make_profile("host", 1024 * kGiB, 50, 1e9, {});
    EXPECT_NEAR(plan.prefill.seconds, make_plan(m, plain_profile, o).prefill.seconds, 1e-12);
  }
}

TEST(MatvecRate, ProfileKeyParsesDumpsAndRejectsBadValues) {
  const std::string yaml =
      "name: x\nhost:\n  speeds:\n    read_gbps: 30\n    matvec_gbps: {Q4_K: 21.5, Q8_0: 26}\n"
      "devices:\n  cl0:\n    speeds:\n      matvec_gbps:\n        F32: 12.25\n";
  const Profile p = parse_profile(yaml, "inline.yaml", ".");
  EXPECT_EQ(p.host.speeds.matvec_gbps, (std::map<DType, double>{{DType::Q4_K, 21.5}, {DType::Q8_0, 26}}));
  EXPECT_EQ(p.devices.at(0).speeds.matvec_gbps, (std::map<DType, double>{{DType::F32, 12.25}}));
  EXPECT_EQ(parse_profile(dump_profile(p), "dump.yaml", "."), p);
  const auto error_of = [](const std::string& text) -> std::string {
    try {
      parse_profile(text, "bad.yaml", ".");
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string bad_format = error_of("name: x\nhost:\n  speeds:\n    matvec_gbps: {Q4K: 21}\n");
  EXPECT_NE(bad_format.find("bad.yaml:4:19: host.speeds.matvec_gbps: 'Q4K' is not a weight format"),
            std::string::npos)
      << bad_format;
  EXPECT_NE(bad_format.find("(did you mean 'Q4_K'?)"), std::string::npos) << bad_format;
  const std::string zero = error_of("name: x\nhost:\n  speeds:\n    matvec_gbps:\n      Q8_0: 0\n");
  EXPECT_NE(zero.find("bad.yaml:5:13: host.speeds.matvec_gbps.Q8_0: found 0, expected a number above zero"),
            std::string::npos)
      << zero;
  const std::string scalar = error_of("name: x\nhost:\n  speeds:\n    matvec_gbps: 20\n");
  EXPECT_NE(scalar.find("host.speeds.matvec_gbps: found"), std::string::npos) << scalar;
  EXPECT_NE(scalar.find("expected a map of keys"), std::string::npos) << scalar;
}

}  // namespace
}  // namespace mixcl::scheduler
