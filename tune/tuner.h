#pragma once
// The search of `mixcl tune`: every candidate config of every target measured with the kernel benchmark
// (bench/lib/kernel_bench.h: result checked against a double-precision reference, then timed); failures are
// skipped and kept for the report; the fastest correct candidate wins when it beats the default.
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/device.h"
#include "bench/lib/kernel_bench.h"
#include "tune/tune_space.h"

namespace mixcl::backend {
class OpenCLDevice;
}

namespace mixcl::tune {

/// One candidate's outcome.
struct CandidateResult {
  Candidate candidate;
  std::string status = "skipped";  // "ok", "FAILED" (wrong result), "ERROR" (build or device error), "skipped"
  std::string error;               // why it failed
  double time_us = 0;              // summed median time over the target's cases (status ok)
  uint64_t bytes = 0;              // summed bytes moved per call over the cases
  /// GB/s over the target's cases (0 unless ok).
  double gbps() const { return status == "ok" && time_us > 0 ? static_cast<double>(bytes) / time_us / 1e3 : 0; }
};

/// A target's search: every candidate tried, the default's figures and the winner.
struct TargetResult {
  TuneTarget target;
  std::vector<CandidateResult> tried;  // in search order; the default first
  bool complete = false;               // every candidate was tried (not stopped early)
  /// The default's result, or nullptr when it was not measured.
  const CandidateResult* baseline() const;
  /// The fastest correct candidate, or nullptr.
  const CandidateResult* best() const;
  /// best() when it is not the default and beats a measured default by more than `min_gain` (a fraction);
  /// with no correct default, any correct best.
  const CandidateResult* winner(double min_gain) const;
};

/// Where a search stands, for progress lines.
struct TuneProgress {
  size_t done = 0, total = 0;     // candidates measured / planned
  double elapsed_s = 0;           // since the search started
  double eta_s = 0;               // estimate of the time left (within the budget)
  std::string device, target, candidate;
  const CandidateResult* last = nullptr;  // the candidate just measured
};

/// How to search.
struct TuneOptions {
  bench::KernelBenchOptions bench;    // timing of each candidate (kept short by default_tune_bench_options)
  double time_budget_s = 600;         // the whole search stops after this (the best found so far is kept)
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT) to stop after the candidate being measured
  double min_gain = 0.03;             // a winner must beat the default by more than this fraction
  std::function<void(const TuneProgress&)> progress;  // called after each candidate
  /// Tests: perturb the checked result of this candidate (it must then be reported as FAILED).
  std::function<bool(const TuneTarget&, const Candidate&)> corrupt;
  /// Tests: a custom search space (default: tune_candidates).
  std::function<std::vector<Candidate>(const TuneTarget&)> candidates;
};

/// Short timings for a search: 5 samples of >= 10 ms, at most 1 s per case, 64 MiB of rotated weights.
bench::KernelBenchOptions default_tune_bench_options();

/// A search over several devices shares one clock and one candidate count; make one per `mixcl tune` run.
class Tuner {
 public:
  explicit Tuner(TuneOptions options);
  /// Searches every target on an OpenCL device (its kernel configs are cleared, then set per candidate; they
  /// are cleared again at the end). `figures` gives the % of bandwidth.
  std::vector<TargetResult> tune_opencl(backend::OpenCLDevice& device, const std::vector<TuneTarget>& targets,
                                        const bench::DeviceFigures& figures);
  /// Searches the host's thread count over `cases` (decode products); candidates are labelled "threads=N",
  /// the default is every hardware thread.
  TargetResult tune_host_threads(const std::vector<bench::KernelCase>& cases, int max_threads,
                                 const bench::DeviceFigures& figures);
  /// Adds `n` candidates to the planned total before a device's search starts (for the estimate).
  void plan(size_t n) { total_ += n; }
  /// True once the budget ran out or a stop was asked (checked now); `stop_reason()` says which.
  bool stopped() { return should_stop(); }
  const std::string& stop_reason() const { return stop_reason_; }
  const TuneOptions& options() const { return options_; }

 private:
  using Apply = std::function<backend::Device&(const Candidate&)>;
  TargetResult search(const std::string& device, const TuneTarget& target, const std::vector<Candidate>& candidates,
                      const Apply& apply, const bench::DeviceFigures& figures);
  bool should_stop();

  TuneOptions options_;
  std::chrono::steady_clock::time_point start_;
  size_t done_ = 0, total_ = 0;
  std::string stop_reason_;
};

}  // namespace mixcl::tune
