// speeds.matvec_gbps from `mixcl tune`: the rate of the config that will run (winner, else default) per format,
// the host's rates measured with the kernel benchmark, and the profile text that carries them (merged with the
// file's figures for formats not measured) loading back through the profile parser.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/host/host_device.h"
#include "scheduler/profile.h"
#include "tests/support/temp_dir.h"
#include "tune/matvec_rates.h"
#include "tune/tune_profile.h"
#include "tune/tune_space.h"

namespace mixcl::tune {
namespace {

CandidateResult measured(bool is_default, double time_us, uint64_t bytes) {
  CandidateResult r;
  r.candidate.is_default = is_default;
  r.candidate.config.variant = is_default ? "" : "workgroup";
  r.status = "ok";
  r.time_us = time_us;
  r.bytes = bytes;
  return r;
}

TEST(MatvecRates, TheConfigThatWillRunGivesTheRate) {
  const auto targets = tune_targets({"matvec"}, {{DType::Q8_0, 64, 256}, {DType::Q4_K, 64, 256}}, 8);
  ASSERT_EQ(targets.size(), 2u);
  TargetResult q8, q4;
  q8.target = targets[0].cases.front().type == DType::Q8_0 ? targets[0] : targets[1];
  q4.target = targets[0].cases.front().type == DType::Q4_K ? targets[0] : targets[1];
  // Q8_0: the candidate is 2x faster than the default: it is written, and its 20 GB/s is the rate.
  q8.tried = {measured(true, 100, 1000000), measured(false, 50, 1000000)};
  // Q4_K: 1% faster only: the default stays (10 GB/s).
  q4.tried = {measured(true, 100, 1000000), measured(false, 99, 1000000)};
  TargetResult failed = q4;  // a search whose every candidate failed gives no rate
  failed.target.cases.front().type = DType::Q6_K;
  failed.tried = {CandidateResult{}};
  TargetResult prefill = q8;  // not a decode target: ignored
  prefill.target.key = "matmul.Q8_0.prefill";
  const auto rates = matvec_gbps_from({q8, q4, failed, prefill}, 0.03);
  EXPECT_EQ(rates, (std::map<DType, double>{{DType::Q8_0, 20.0}, {DType::Q4_K, 10.0}}));
}

TEST(MatvecRates, HostRatesArePositiveAndFinite) {
  backend::HostDevice host(backend::HostOptions{});
  bench::KernelBenchOptions o;
  o.reps = 1;
  o.min_sample_seconds = 0;
  o.max_case_seconds = 0.2;
  o.rotate_bytes = 0;
  const auto targets = tune_targets({"matvec"}, {{DType::Q8_0, 96, 256}, {DType::Q4_K, 33, 512}}, 8);
  const auto rates = measure_matvec_gbps(host, targets, {}, o);
  ASSERT_EQ(rates.size(), 2u);
  for (const auto& [type, gbps] : rates)
    EXPECT_TRUE(std::isfinite(gbps) && gbps > 0) << dtype_name(type) << " " << gbps;
}

TEST(MatvecRates, WrittenIntoTheProfileMergedAndReadBack) {
  mixcl::test::TempDir dir("tune_matvec");
  const std::string path = (dir / "mine.yaml").string();
  const std::string existing =
      "name: mine\n"
      "host:\n"
      "  speeds:\n"
      "    read_gbps: 20   # by hand\n"
      "    matvec_gbps: {Q6_K: 9.5, Q8_0: 1}\n";
  DeviceTuneOutcome host;
  host.name = "host";
  host.caps.kind = backend::DeviceKind::kHost;
  scheduler::DeviceSpeeds s;
  s.op_overhead_us = 2.5;
  s.matvec_gbps = {{DType::Q8_0, 17.25}, {DType::Q4_K, 12.5}};
  host.speeds = s;
  const std::string text = update_profile_text(existing, "mine", path, dir.path(), {host}, {}, 0.03);
  const scheduler::Profile p = scheduler::parse_profile(text, path, dir.path());
  // Q8_0 replaced, Q4_K added, Q6_K (not measured this time) kept.
  EXPECT_EQ(p.host.speeds.matvec_gbps,
            (std::map<DType, double>{{DType::Q8_0, 17.25}, {DType::Q4_K, 12.5}, {DType::Q6_K, 9.5}}))
      << text;
  EXPECT_EQ(p.host.speeds.read_gbps, 20);
  EXPECT_EQ(p.host.speeds.op_overhead_us, 2.5);
  EXPECT_NE(text.find("read_gbps: 20   # by hand"), std::string::npos) << text;
  // Run again: same text (the key is replaced in place, not duplicated).
  EXPECT_EQ(update_profile_text(text, "mine", path, dir.path(), {host}, {}, 0.03), text);
}

}  // namespace
}  // namespace mixcl::tune
