#pragma once
// `mixcl bench -m model.gguf`: prefill and decode throughput of a whole model through the Executor, with
// llama-bench's field names (so tools that read its JSON/CSV read ours) plus mixcl's own.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/lib/report.h"

namespace mixcl::bench {

/// What to run.
struct ModelBenchOptions {
  std::string model_path;
  uint32_t n_prompt = 512;            // prefill test "ppN" (0: none)
  uint32_t n_gen = 128;               // decode test "tgN" (0: none)
  int reps = 5;                       // repetitions per test (mean ± stddev over them)
  std::vector<std::string> devices;   // device names; empty: the profile's devices, else the host alone
  std::string profile_path;           // "": no profile (placement: all on one device, or layers split evenly)
  int threads = 0;                    // host threads (0: the profile's, else all)
  std::string weight_memory;          // host weights: "mapped" or "huge_pages" ("": the profile's, else mapped)
  bool probe = false;                 // measure the read bandwidth for the bound before every decode repetition
  uint32_t batch = 512;               // tokens per forward step
  uint64_t seed = 1234;               // random token ids
  std::string build;                  // reported as build_commit (the CLI passes its version)
};

/// Runs the prefill and decode tests; one row per test with llama-bench's fields (build_commit, cpu_info,
/// gpu_info, backends, model_filename, model_type, model_size, model_n_params, n_batch, n_ubatch, n_threads,
/// type_k, type_v, n_prompt, n_gen, n_depth, test_time, avg_ns, stddev_ns, avg_ts, stddev_ts, samples_ns,
/// samples_ts), `test` ("pp512" / "tg128"), and mixcl's profile, placement, bytes_per_token, read_gbps (the
/// effective bandwidth of the devices used: bytes_per_token × bound_ts), bound_ts and pct_bandwidth_bound (with
/// `probe`, also samples_bound_ts and samples_pct_bandwidth_bound, one per decode repetition).
Report run_model_bench(const ModelBenchOptions& options);

/// The markdown columns (llama-bench's: model, size, params, backend, threads, test, t/s; then % of the bound).
std::vector<Column> model_report_columns();

/// Mean and sample standard deviation (0 for fewer than two values).
std::pair<double, double> mean_stddev(const std::vector<double>& v);

}  // namespace mixcl::bench
