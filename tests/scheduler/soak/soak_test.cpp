// 1000 greedy decode tokens (twice: a warm-up pass, then the measured pass over the same positions) of a
// synthetic tiny-v3 model under pocl-2dev.yaml (layers across two PoCL devices,
// routed experts in host DRAM computed by the host, overlapped with the shared experts on PoCL): no deadlock
// (a watchdog ends a hung run with a message), no per-token growth of device counters or host RSS, every
// allocation returned when the executor goes, and the overlapped run's logits equal the one-after-the-other
// run's at sampled positions.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/registry.h"
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/executor.h"
#include "scheduler/profile.h"
#include "scheduler/profile_match.h"
#include "scheduler/profile_session.h"
#include "soak_util.h"

namespace mixcl::scheduler::test {
namespace {

constexpr uint32_t kPrompt = 6;
constexpr uint32_t kDecode = 1000;
constexpr uint32_t kContext = kPrompt + kDecode;  // the whole run fits: no wrap-around needed
constexpr uint32_t kBatch = 4;
constexpr uint32_t kRssEarly = 100;  // RSS is compared between this decode token and the last
// A leak of 2 KiB per token over the 900 tokens between the two RSS samples would show as 1.8 MiB.
constexpr uint64_t kRssSlack = 1u << 20;
constexpr auto kStallLimit = std::chrono::seconds(60);

const gguf::GgufFile& model() {
  static const gguf::GgufFile f = gguf::GgufFile::open(tiny_v3_model());
  return f;
}

bool sampled(uint32_t i) { return i % 97 == 0 || i + 1 == kDecode; }

/// What one soak run saw.
struct SoakRun {
  std::vector<int32_t> tokens;                       // the greedy continuation
  std::vector<std::pair<uint32_t, std::vector<float>>> logits;  // (decode index, logits) at sampled indices
  ExecutorStats stats;
  uint64_t rss_early = 0, rss_late = 0;
  std::vector<uint64_t> rss_trace;  // KiB every 100 decode tokens (printed)
  std::vector<std::string> names;
  std::vector<uint64_t> used_before, used_loaded, used_after_run, used_after_destroy, peak, budget;
  double decode_s = 0;
  uint32_t moe_layers = 0;
};

int32_t argmax(const std::vector<float>& row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());  // first = lowest id
}

SoakRun soak(bool overlap) {
  Watchdog dog(kStallLimit);
  Profile profile = load_profile(find_profile("pocl-2dev"));
  profile.scheduling.overlap_host_experts = overlap;
  backend::DiscoveryOptions dopt;
  dopt.host = host_options(profile.host, dopt.host);
  dopt.opencl = true;
  const auto owned = backend::discover_devices(dopt);
  std::vector<backend::Device*> all;
  for (const auto& d : owned) all.push_back(d.get());
  ProfileSession s = make_profile_session(model(), profile, all, kContext, kBatch);
  EXPECT_EQ(s.options.overlap_host_experts, overlap) << "the profile knob must reach the executor";

  SoakRun r;
  for (backend::Device* d : s.devices) {
    r.names.push_back(d->name());
    r.used_before.push_back(d->memory().used());
  }
  dog.progress("load");
  {
    Executor ex(model(), s.devices, s.options);
    const auto& c = ex.config();
    r.moe_layers = c.n_layer - c.n_dense;
    for (backend::Device* d : s.devices) r.used_loaded.push_back(d->memory().used());
    std::vector<int32_t> prompt;
    for (uint32_t i = 0; i < kPrompt; ++i) prompt.push_back(static_cast<int32_t>((i * 131u + 7u) % c.n_vocab));
    dog.progress("prompt");
    const std::vector<float> after_prompt = ex.forward(prompt).logits;
    // Pass 0 warms what grows once (PoCL compiles kernel specializations for new sizes the first time a
    // position range is reached: about 15 MiB of RSS near position 256 with a cold PoCL cache); pass 1 runs the
    // same positions again after truncate() and is the one measured.
    std::vector<int32_t> warm_tokens;
    std::chrono::steady_clock::time_point t0;
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1) {
        warm_tokens = r.tokens;
        r.tokens.clear();
        ex.truncate(kPrompt);
        t0 = std::chrono::steady_clock::now();
      }
      std::vector<float> last = after_prompt;
      for (uint32_t i = 0; i < kDecode; ++i) {
        const int32_t next = argmax(last);
        r.tokens.push_back(next);
        if (pass == 1 && i == kRssEarly) r.rss_early = resident_bytes();
        if (pass == 1 && i % 100 == 0) r.rss_trace.push_back(resident_bytes() >> 10);
        const int32_t one[1] = {next};
        last = ex.forward(one).logits;
        if (pass == 1 && sampled(i)) r.logits.emplace_back(i, last);
        dog.progress("pass " + std::to_string(pass) + ", decode token " + std::to_string(i));
      }
    }
    EXPECT_EQ(warm_tokens, r.tokens) << "the same positions run again after truncate() must give the same tokens";
    r.decode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.rss_late = resident_bytes();
    r.stats = ex.stats();
    for (backend::Device* d : s.devices) r.used_after_run.push_back(d->memory().used());
    dog.progress("destroy");
  }
  for (backend::Device* d : s.devices) {
    r.used_after_destroy.push_back(d->memory().used());
    r.peak.push_back(d->memory().peak());
    r.budget.push_back(d->memory().budget());
  }
  std::printf("[ soak ] overlap %s: %u decode tokens in %.2f s (%.1f tokens/s), %llu of %llu host-expert steps "
              "overlapped, RSS %.1f -> %.1f MiB (tokens %u -> %u)\n",
              overlap ? "on" : "off", kDecode, r.decode_s, kDecode / r.decode_s,
              static_cast<unsigned long long>(r.stats.overlapped_steps),
              static_cast<unsigned long long>(r.stats.host_expert_steps), r.rss_early / 1048576.0,
              r.rss_late / 1048576.0, kRssEarly, kDecode);
  std::printf("[ soak ] RSS every 100 tokens (KiB):");
  for (uint64_t k : r.rss_trace) std::printf(" %llu", static_cast<unsigned long long>(k));
  std::printf("\n");
  return r;
}

const SoakRun& overlapped() {
  static const SoakRun r = soak(true);
  return r;
}

void expect_sound(const SoakRun& r, const char* what) {
  ASSERT_EQ(r.tokens.size(), kDecode) << what;
  // Layers across both PoCL devices and the host: three places, each used, none over budget.
  ASSERT_EQ(r.names.size(), 3u) << what;
  for (size_t d = 0; d < r.names.size(); ++d) {
    EXPECT_GT(r.used_loaded[d], r.used_before[d]) << what << ": " << r.names[d] << " holds nothing";
    EXPECT_EQ(r.used_after_run[d], r.used_loaded[d])
        << what << ": " << r.names[d] << " allocated during decode (bytes in use after load vs after the run)";
    EXPECT_EQ(r.used_after_destroy[d], r.used_before[d])
        << what << ": " << r.names[d] << " still counts bytes after the executor was destroyed";
    EXPECT_LE(r.peak[d], r.budget[d]) << what << ": " << r.names[d] << " went over its budget";
  }
  EXPECT_GT(r.rss_early, 0u);
  EXPECT_LE(r.rss_late, r.rss_early + kRssSlack)
      << what << ": host RSS grew by " << (static_cast<double>(r.rss_late) - r.rss_early) / 1024 << " KiB over "
      << kDecode - kRssEarly << " decode tokens";
  // Every decode token ran every MoE layer with its routed experts on the host, shared expert on PoCL.
  EXPECT_GE(r.stats.host_expert_steps, uint64_t{2 * kDecode} * r.moe_layers) << what;
  EXPECT_EQ(r.stats.tokens, kPrompt + 2 * kDecode) << what;
}

TEST(Soak, ThousandDecodeTokensOverlapped) {
  const SoakRun& r = overlapped();
  expect_sound(r, "overlapped");
  EXPECT_EQ(r.stats.overlapped_steps, r.stats.host_expert_steps) << "every host-expert step should overlap";
}

TEST(Soak, SequentialRunGivesTheSameLogits) {
  const SoakRun& ovl = overlapped();
  const SoakRun seq = soak(false);
  expect_sound(seq, "sequential");
  EXPECT_EQ(seq.stats.overlapped_steps, 0u);
  ASSERT_EQ(seq.logits.size(), ovl.logits.size());
  ASSERT_GE(seq.logits.size(), 10u);
  for (size_t i = 0; i < seq.logits.size(); ++i) {
    ASSERT_EQ(seq.logits[i].first, ovl.logits[i].first);
    const auto& a = seq.logits[i].second;
    const auto& b = ovl.logits[i].second;
    ASSERT_EQ(a.size(), b.size());
    double diff = 0;
    for (size_t v = 0; v < a.size(); ++v) diff = std::max(diff, std::abs(static_cast<double>(a[v]) - b[v]));
    // The overlap changes when the halves run, not the arithmetic: equal, not merely close.
    EXPECT_EQ(diff, 0.0) << "decode token " << seq.logits[i].first;
  }
  EXPECT_EQ(seq.tokens, ovl.tokens) << "the greedy continuations differ";
}

}  // namespace
}  // namespace mixcl::scheduler::test
