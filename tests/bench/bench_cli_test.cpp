// `mixcl bench kernels` through the built binary: a tiny run parses as JSON with every required field, its
// percentages are the speeds over the cached probe figures, a perturbed result is flagged, and md/csv work.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "backend/host/host_device.h"
#include "backend/probe.h"
#include "tests/support/command.h"

namespace mixcl::bench {
namespace {

using ::mixcl::test::CommandResult;
using ::mixcl::test::run_command;
using ::mixcl::test::run_mixcl;
using ::mixcl::test::shell_quote;

constexpr double kReadGbps = 12.5, kFp32Gflops = 150.0;

// A private cache folder holding known probe figures for the host, so the CLI needs no probe and the
// percentages can be checked exactly.
class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mixcl_bench_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ::setenv("MIXCL_CACHE_DIR", dir_.c_str(), 1);
    backend::HostDevice host;
    backend::ProbeResult r;
    r.device = host.name();
    r.device_id = backend::probe_device_id(host);
    r.read_gbps = kReadGbps;
    r.fp32_gflops = kFp32Gflops;
    r.measured_at = "2026-01-01T00:00:00Z";
    backend::save_probe_results({r});
  }
  void TearDown() override {
    ::unsetenv("MIXCL_CACHE_DIR");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // `mixcl <args>` with this test's cache folder, stdout only.
  CommandResult mixcl(const std::string& args) {
    return run_command("MIXCL_CACHE_DIR=" + shell_quote(dir_.string()) + " " + MIXCL_BINARY + " " + args +
                       " 2>/dev/null");
  }
  CommandResult bench(const std::string& args) { return mixcl("bench kernels --device host " + args); }
  // A synthetic tiny-v2-lite model in this test's folder; the test fails if it cannot be made.
  std::string tiny_model() {
    const std::string model = (dir_ / "tiny.gguf").string();
    const CommandResult synth = run_mixcl("synth --geometry tiny-v2-lite -o " + shell_quote(model));
    EXPECT_EQ(synth.status, 0) << synth.output;
    return model;
  }
  std::filesystem::path dir_;
};

const char* const kSmall = " -m 3 --shape 40x512 -r 1 --rotate-mib 0";
const std::string kTiny = std::string("--op matvec,prefill --type Q4_K,Q8_0") + kSmall;

TEST_F(BenchCli, JsonHasEveryFieldWithItsType) {
  const CommandResult r = bench(std::string(kTiny) + " --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 4u);  // 2 formats x (matvec, prefill)
  for (const auto& row : j) {
    SCOPED_TRACE(row.dump());
    for (const char* key : {"device", "op", "type", "shape", "check", "probe_source"}) {
      ASSERT_TRUE(row.contains(key)) << key;
      EXPECT_TRUE(row[key].is_string()) << key;
    }
    for (const char* key : {"gbps", "gflops", "pct_bandwidth", "pct_compute", "time_us", "read_gbps", "fp32_gflops"}) {
      ASSERT_TRUE(row.contains(key)) << key;
      ASSERT_TRUE(row[key].is_number()) << key;
    }
    for (const char* key : {"m", "reps", "bytes"}) {
      ASSERT_TRUE(row.contains(key)) << key;
      EXPECT_TRUE(row[key].is_number_integer()) << key;
    }
    EXPECT_EQ(row["device"], "host");
    EXPECT_EQ(row["shape"], "40x512");
    EXPECT_EQ(row["check"], "ok");
    EXPECT_EQ(row["reps"], 1);
    EXPECT_EQ(row["m"], row["op"] == "matvec" ? 1 : 3);
    EXPECT_NE(row["probe_source"].get<std::string>().find("cache"), std::string::npos);
    // Percentages are of the cached probe figures, not of anything measured now.
    EXPECT_DOUBLE_EQ(row["read_gbps"].get<double>(), kReadGbps);
    EXPECT_DOUBLE_EQ(row["fp32_gflops"].get<double>(), kFp32Gflops);
    const double gbps = row["gbps"], gflops = row["gflops"];
    EXPECT_GT(gbps, 0.0);
    EXPECT_NEAR(row["pct_bandwidth"].get<double>(), 100.0 * gbps / kReadGbps, 1e-9 * gbps);
    EXPECT_NEAR(row["pct_compute"].get<double>(), 100.0 * gflops / kFp32Gflops, 1e-9 * gflops);
    // Bytes and flops over one time: GB/s × time = bytes.
    EXPECT_NEAR(gbps * 1e9 * row["time_us"].get<double>() * 1e-6, row["bytes"].get<double>(),
                1e-6 * row["bytes"].get<double>());
  }
  EXPECT_EQ(bench(kTiny + " -o json").status, 0);
}

TEST_F(BenchCli, APerturbedResultIsFlaggedAndFailsTheRun) {
  const CommandResult r = bench(std::string(kTiny) + " --json --corrupt-results");
  EXPECT_NE(r.status, 0) << "a failed check must give a non-zero exit status";
  const auto j = nlohmann::json::parse(r.output);  // the table is still printed
  ASSERT_EQ(j.size(), 4u);
  for (const auto& row : j) {
    EXPECT_EQ(row["check"], "FAILED") << row.dump();
    EXPECT_TRUE(row["gbps"].is_null());
    EXPECT_TRUE(row["pct_bandwidth"].is_null());
    EXPECT_TRUE(row["error"].is_string());
  }
}

TEST_F(BenchCli, MarkdownAndCsv) {
  const CommandResult md = bench(std::string("--type Q8_0 --op matvec") + kSmall);
  ASSERT_EQ(md.status, 0) << md.output;
  EXPECT_EQ(md.output.rfind("| device", 0), 0u) << md.output;
  EXPECT_NE(md.output.find("| Q8_0 "), std::string::npos) << md.output;
  EXPECT_NE(md.output.find("rows x cols"), std::string::npos) << "the shape convention must be stated";
  const CommandResult csv = bench(std::string("--type Q8_0 --op matvec -o csv") + kSmall);
  ASSERT_EQ(csv.status, 0) << csv.output;
  const std::string header = csv.output.substr(0, csv.output.find('\n'));
  for (const char* key : {"device", "op", "type", "shape", "gbps", "gflops", "pct_bandwidth", "pct_compute"})
    EXPECT_NE(header.find(key), std::string::npos) << key << " in " << header;
  EXPECT_EQ(std::count(csv.output.begin(), csv.output.end(), '\n'), 2) << csv.output;
}

TEST_F(BenchCli, BadArgumentsAreClearErrors) {
  const auto r = run_mixcl("bench kernels --device nosuch --rotate-mib 0");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("nosuch"), std::string::npos) << r.output;
  const auto t = run_mixcl("bench kernels --device host --type Q9_X");
  EXPECT_NE(t.status, 0);
  EXPECT_NE(t.output.find("Q9_X"), std::string::npos) << t.output;
  const auto m = run_mixcl("bench");
  EXPECT_NE(m.status, 0);
  EXPECT_NE(m.output.find("-m"), std::string::npos) << m.output;
}

}  // namespace
}  // namespace mixcl::bench

namespace mixcl::bench {
namespace {

TEST_F(BenchCli, ModelBenchHasLlamaBenchFields) {
  const std::string model = tiny_model();
  ASSERT_FALSE(HasFailure());
  const CommandResult r = mixcl("bench -m " + shell_quote(model) + " -p 8 -n 4 -r 3 --device host -o json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j.size(), 2u);
  for (const auto& row : j) {
    SCOPED_TRACE(row.dump());
    for (const char* key : {"build_commit", "cpu_info", "gpu_info", "backends", "model_filename", "model_type",
                            "type_k", "type_v", "test_time", "test", "profile", "placement"})
      EXPECT_TRUE(row[key].is_string()) << key;
    for (const char* key : {"model_size", "model_n_params", "n_batch", "n_ubatch", "n_threads", "n_prompt", "n_gen",
                            "n_depth", "avg_ns", "stddev_ns", "bytes_per_token"})
      EXPECT_TRUE(row[key].is_number_integer()) << key;
    for (const char* key : {"avg_ts", "stddev_ts"}) EXPECT_TRUE(row[key].is_number()) << key;
    ASSERT_TRUE(row["samples_ts"].is_array());
    ASSERT_EQ(row["samples_ts"].size(), 3u);
    ASSERT_EQ(row["samples_ns"].size(), 3u);
    double sum = 0;
    for (const auto& v : row["samples_ts"]) sum += v.get<double>();
    EXPECT_NEAR(row["avg_ts"].get<double>(), sum / 3, 1e-9 * sum);
    EXPECT_EQ(row["backends"], "CPU");
    EXPECT_EQ(row["placement"], "L0-2 host");
    EXPECT_GT(row["model_size"].get<double>(), 0.0);
  }
  EXPECT_EQ(j[0]["test"], "pp8");
  EXPECT_EQ(j[0]["n_prompt"], 8);
  EXPECT_EQ(j[0]["n_gen"], 0);
  EXPECT_TRUE(j[0]["pct_bandwidth_bound"].is_null());  // the bound is a decode figure
  EXPECT_EQ(j[1]["test"], "tg4");
  EXPECT_EQ(j[1]["n_gen"], 4);
  // Decode: the bound is the cached read bandwidth over the bytes one token reads.
  EXPECT_DOUBLE_EQ(j[1]["read_gbps"].get<double>(), kReadGbps);
  const double bound = kReadGbps * 1e9 / j[1]["bytes_per_token"].get<double>();
  EXPECT_NEAR(j[1]["bound_ts"].get<double>(), bound, 1e-6 * bound);
  EXPECT_NEAR(j[1]["pct_bandwidth_bound"].get<double>(), 100.0 * j[1]["avg_ts"].get<double>() / bound, 1e-6 * 100);
}

TEST_F(BenchCli, ModelBenchProbeMeasuresTheBoundBeforeEveryDecodeRepetition) {
  const std::string model = tiny_model();
  ASSERT_FALSE(HasFailure());
  const CommandResult r = mixcl("bench -m " + shell_quote(model) + " -p 0 -n 3 -r 2 --device host --probe -o json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j.size(), 1u);
  const auto& row = j[0];
  SCOPED_TRACE(row.dump());
  ASSERT_TRUE(row["samples_bound_ts"].is_array());
  ASSERT_EQ(row["samples_bound_ts"].size(), 2u);
  ASSERT_EQ(row["samples_pct_bandwidth_bound"].size(), 2u);
  const double bpt = row["bytes_per_token"].get<double>();
  double bound_sum = 0, pct_sum = 0;
  for (int i = 0; i < 2; ++i) {
    const double bound = row["samples_bound_ts"][i].get<double>();
    // Measured now, not the cached figure: a plausible bandwidth, and not the cache's exact value.
    EXPECT_GT(bound * bpt, 0.1e9);
    EXPECT_LT(bound * bpt, 1000e9);
    EXPECT_NE(bound * bpt, kReadGbps * 1e9);
    const double pct = 100.0 * row["samples_ts"][i].get<double>() / bound;
    EXPECT_NEAR(row["samples_pct_bandwidth_bound"][i].get<double>(), pct, 1e-9 * pct);
    bound_sum += bound;
    pct_sum += pct;
  }
  EXPECT_NEAR(row["bound_ts"].get<double>(), bound_sum / 2, 1e-9 * bound_sum);
  EXPECT_NEAR(row["pct_bandwidth_bound"].get<double>(), pct_sum / 2, 1e-9 * pct_sum);
  EXPECT_NEAR(row["read_gbps"].get<double>(), bpt * bound_sum / 2 / 1e9, 1e-9 * bpt * bound_sum);
}

}  // namespace
}  // namespace mixcl::bench
