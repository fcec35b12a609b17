#pragma once
// Runs one kernel benchmark case on one device: random operands, a check of the first result against a
// double-precision reference, warm-up, timed repetitions; gives one report row (bench/lib/report.h).
#include <cstdint>
#include <string>
#include <vector>

#include "backend/device.h"
#include "bench/lib/kernel_cases.h"
#include "bench/lib/report.h"

namespace mixcl::bench {

/// Measured figures of the device the percentages refer to (from `mixcl devices --probe`).
struct DeviceFigures {
  double read_gbps = 0;    // memory read bandwidth, GB/s
  double fp32_gflops = 0;  // fp32 peak, GFLOP/s
  std::string source;      // "cache (measured <time>)" or "measured now"
};

/// How long and how much to measure.
struct KernelBenchOptions {
  int reps = 10;                       // timed samples per case (the median is reported)
  double min_sample_seconds = 0.02;    // each sample repeats the call until it lasts at least this long
  double max_case_seconds = 5.0;       // after this, stop taking samples (at least min(reps, 3) are taken)
  uint64_t rotate_bytes = 512ull << 20;  // decode ops cycle over copies of their weights totalling this much
  uint64_t seed = 1;
  bool corrupt_results = false;        // tests: perturb each first result before its check (must then fail)
};

/// True when `device` has kernels for the case's formats (every op but the products takes any format).
bool device_supports(const backend::Device& device, const KernelCase& c);

/// Benchmarks `c` on `device`. The row has device, op, type, shape, m, model, time_us (median per call),
/// time_us_min, reps, calls_per_rep, bytes (moved per call), gbps, gflops, pct_bandwidth, pct_compute,
/// read_gbps, fp32_gflops, working_set_bytes, check ("ok" / "FAILED"), check_error, check_bound, error.
/// A case whose first result fails the check gets null speeds and check "FAILED"; device errors (out of
/// memory, build failures) give check "ERROR" and the message in `error`.
Row run_kernel_case(backend::Device& device, const KernelCase& c, const DeviceFigures& figures,
                    const KernelBenchOptions& options);

/// The markdown columns of a kernel report.
std::vector<Column> kernel_report_columns();

}  // namespace mixcl::bench
