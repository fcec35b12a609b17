// The search (tune/tuner.h) on a PoCL device with tiny shapes: candidates that do not build or give wrong results
// are skipped and reported, the fastest correct one wins, a stop request or a used-up budget keeps the best found
// so far, and the profile written from the outcome keeps an existing comment and unrelated keys and loads back.
#include <gtest/gtest.h>

#include <fstream>

#include "scheduler/profile.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"
#include "tests/tune/tune_test_util.h"
#include "tune/profile_edit.h"
#include "tune/tune_profile.h"
#include "tune/tune_space.h"
#include "tune/tuner.h"

namespace mixcl::tune {
namespace {

TuneOptions quick() {
  TuneOptions o;
  o.bench.reps = 1;
  o.bench.min_sample_seconds = 0;
  o.bench.max_case_seconds = 0.2;
  o.bench.rotate_bytes = 0;
  return o;
}

TuneTarget tiny_decode() {
  TuneTarget t = tune_targets({"matvec"}, {{DType::Q8_0, 41, 96}}, 8).at(0);
  EXPECT_EQ(t.key, "matmul.Q8_0.decode");
  return t;
}

Candidate cand(std::string variant, std::map<std::string, std::string> macros) {
  Candidate c;
  c.config = {std::move(variant), std::move(macros)};
  c.label = config_label(c.config);
  return c;
}

// Candidates without a default: the fastest correct one always wins (no timing comparison needed).
std::vector<Candidate> space() {
  return {cand("vector", {{"MM_ROWS", "2"}, {"MM_LOCAL", "4"}}),
          cand("vector", {{"MM_ROWS", "99"}}),               // refused: outside 1..16
          cand("vector", {{"MM_ROWS", "1"}, {"MM_LOCAL", "8"}}),  // corrupted by the hook below
          cand("workgroup", {{"MM_LOCAL", "16"}})};
}

TEST(TuneSpace, TargetsAndCandidatesCoverPhasesAndFormats) {
  const auto shapes = std::vector<MatrixShape>{{DType::Q4_K, 2048, 1408 * 2}, {DType::Q4_K, 512, 256},
                                               {DType::Q4_K, 64, 256},        {DType::Q8_0, 64, 64}};
  const auto targets = tune_targets(parse_tune_ops({"all"}), shapes, 16, 2);
  std::vector<std::string> keys;
  for (const auto& t : targets) keys.push_back(t.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"matmul.Q4_K.decode", "matmul.Q8_0.decode", "matmul.Q4_K.prefill",
                                            "matmul.Q8_0.prefill", "rmsnorm.decode", "rmsnorm.prefill"}));
  ASSERT_EQ(targets[0].cases.size(), 2u);  // the two largest Q4_K matrices
  EXPECT_EQ(targets[0].cases[0].rows, 2048u);
  EXPECT_EQ(targets[2].cases[0].m, 16u);
  EXPECT_EQ(targets[4].cases[0].cols, 256u);  // the most common contracted width
  for (const auto& t : targets) {
    const auto cands = tune_candidates(t, "vector", 4096);
    ASSERT_GT(cands.size(), 3u) << t.key;
    EXPECT_TRUE(cands.front().is_default);
    for (size_t i = 1; i < cands.size(); ++i)
      EXPECT_NO_THROW(backend::check_kernel_config(t.key, cands[i].config)) << t.key << " " << cands[i].label;
  }
  mixcl::test::expect_error([] { parse_tune_ops({"matmul", "softmax"}); }, "unknown op 'softmax'");
}

TEST(Tuner, SkipsAndReportsBrokenCandidatesAndKeepsTheFastestCorrectOne) {
  TUNE_REQUIRE_OPENCL(dev);
  TuneOptions o = quick();
  o.candidates = [](const TuneTarget&) { return space(); };
  o.corrupt = [](const TuneTarget&, const Candidate& c) { return c.config.macros.count("MM_ROWS") && c.config.macros.at("MM_ROWS") == "1"; };
  Tuner tuner(o);
  const auto results = tuner.tune_opencl(dev, {tiny_decode()}, {});
  ASSERT_EQ(results.size(), 1u);
  const TargetResult& r = results[0];
  EXPECT_TRUE(r.complete);
  ASSERT_EQ(r.tried.size(), 4u);
  EXPECT_EQ(r.tried[0].status, "ok");
  EXPECT_EQ(r.tried[1].status, "ERROR");
  EXPECT_NE(r.tried[1].error.find("MM_ROWS: found '99'"), std::string::npos) << r.tried[1].error;
  EXPECT_EQ(r.tried[2].status, "FAILED");
  EXPECT_NE(r.tried[2].error.find("differs from the double-precision reference"), std::string::npos) << r.tried[2].error;
  EXPECT_EQ(r.tried[3].status, "ok");
  const CandidateResult* w = r.winner(0.03);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->candidate.label == r.tried[0].candidate.label || w->candidate.label == r.tried[3].candidate.label);
  EXPECT_GT(w->gbps(), 0);
  EXPECT_TRUE(dev.kernel_configs().empty());  // the search leaves the device as it found it
  EXPECT_FALSE(tuner.stopped());
}

TEST(Tuner, StopRequestAndBudgetKeepTheBestSoFar) {
  TUNE_REQUIRE_OPENCL(dev);
  std::atomic<bool> stop{false};
  TuneOptions o = quick();
  o.candidates = [](const TuneTarget&) { return space(); };
  o.stop = &stop;
  o.progress = [&](const TuneProgress& p) {
    EXPECT_GE(p.total, p.done);
    stop = true;  // as SIGINT would, after the first candidate
  };
  Tuner tuner(o);
  const auto results = tuner.tune_opencl(dev, {tiny_decode(), tiny_decode()}, {});
  EXPECT_TRUE(tuner.stopped());
  EXPECT_EQ(tuner.stop_reason(), "interrupted");
  ASSERT_EQ(results.size(), 1u);  // the second target never started
  EXPECT_FALSE(results[0].complete);
  ASSERT_EQ(results[0].tried.size(), 1u);
  ASSERT_NE(results[0].winner(0.03), nullptr);  // the one measured candidate is the best so far
  EXPECT_TRUE(dev.kernel_configs().empty());

  TuneOptions b = quick();
  b.candidates = [](const TuneTarget&) { return space(); };
  b.time_budget_s = 0;
  Tuner none(b);
  const auto nothing = none.tune_opencl(dev, {tiny_decode()}, {});
  EXPECT_TRUE(none.stopped());
  EXPECT_NE(none.stop_reason().find("time budget"), std::string::npos);
  ASSERT_EQ(nothing.size(), 1u);
  EXPECT_TRUE(nothing[0].tried.empty());
}

TEST(Tuner, ProfileWrittenFromAStoppedSearchKeepsCommentsAndLoads) {
  TUNE_REQUIRE_OPENCL(dev);
  std::atomic<bool> stop{false};
  TuneOptions o = quick();
  o.candidates = [](const TuneTarget&) { return space(); };
  o.stop = &stop;
  o.progress = [&](const TuneProgress& p) { stop = p.done >= 2; };
  Tuner tuner(o);
  DeviceTuneOutcome d;
  d.name = dev.name();
  d.caps = dev.caps();
  d.results = tuner.tune_opencl(dev, {tiny_decode()}, {});
  scheduler::DeviceSpeeds s;
  s.read_gbps = 11.5;
  s.h2d_gbps = 3;
  d.speeds = s;
  DeviceTuneOutcome host;
  host.name = "host";
  host.caps.kind = backend::DeviceKind::kHost;
  scheduler::DeviceSpeeds hs;
  hs.read_gbps = 21;
  host.speeds = hs;

  mixcl::test::TempDir dir("tune_profile");
  const std::string existing =
      "# hand-written notes that must survive\n"
      "name: mine\n"
      "description: my box\n"
      "quant:\n"
      "  kv_cache: F32   # keep the cache exact\n"
      "scheduling:\n"
      "  scratch_reserve: 1MiB\n";
  const std::string path = (dir / "mine.yaml").string();
  const std::string text =
      update_profile_text(existing, "mine", path, dir.path(), {host, d}, {dev.caps()}, o.min_gain);
  write_file_atomically(path, text);
  const scheduler::Profile p = scheduler::load_profile(path);
  EXPECT_NE(text.find("# hand-written notes that must survive"), std::string::npos) << text;
  EXPECT_NE(text.find("kv_cache: F32   # keep the cache exact"), std::string::npos) << text;
  EXPECT_EQ(p.description, "my box");
  EXPECT_EQ(p.quant.kv_cache, DType::F32);
  EXPECT_EQ(p.scheduling.scratch_reserve, 1u << 20);
  EXPECT_EQ(p.host.speeds.read_gbps, 21);
  ASSERT_EQ(p.devices.size(), 1u);
  EXPECT_EQ(p.devices[0].id, dev.name());
  EXPECT_EQ(p.devices[0].speeds.read_gbps, 11.5);
  EXPECT_EQ(p.devices[0].speeds.h2d_gbps, 3);
  // The first candidate (ok) is the best of the two measured (the second was refused).
  ASSERT_EQ(p.devices[0].kernels.count("matmul.Q8_0.decode"), 1u) << text;
  EXPECT_EQ(p.devices[0].kernels.at("matmul.Q8_0.decode").macros.at("MM_LOCAL"), "4");
  // The new device entry matches this device by platform, type and rank.
  EXPECT_EQ(p.devices[0].match.platform, dev.caps().platform_name);
  ASSERT_TRUE(p.devices[0].match.index);
  EXPECT_EQ(*p.devices[0].match.index, 0);
  // Round trip: the dumped profile parses back to the same content.
  EXPECT_EQ(scheduler::parse_profile(scheduler::dump_profile(p), "dump.yaml", dir.path()), p);
  // A second run updates the same entries in place (no duplicates) and finds the device by its match.
  const std::string again =
      update_profile_text(text, "mine", path, dir.path(), {host, d}, {dev.caps()}, o.min_gain);
  EXPECT_EQ(again, text);
}

}  // namespace
}  // namespace mixcl::tune
