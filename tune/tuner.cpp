#include "tune/tuner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "backend/host/host_device.h"
#include "backend/opencl/opencl_device.h"
#include "common/error.h"

namespace mixcl::tune {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

const CandidateResult* TargetResult::baseline() const {
  for (const auto& r : tried)
    if (r.candidate.is_default) return &r;
  return nullptr;
}

const CandidateResult* TargetResult::best() const {
  const CandidateResult* b = nullptr;
  for (const auto& r : tried)
    if (r.status == "ok" && (!b || r.time_us < b->time_us)) b = &r;
  return b;
}

const CandidateResult* TargetResult::winner(double min_gain) const {
  const CandidateResult* b = best();
  if (!b || b->candidate.is_default) return nullptr;
  const CandidateResult* base = baseline();
  if (!base || base->status != "ok") return b;
  return b->time_us < base->time_us * (1.0 - min_gain) ? b : nullptr;
}

bench::KernelBenchOptions default_tune_bench_options() {
  bench::KernelBenchOptions o;
  o.reps = 5;
  o.min_sample_seconds = 0.01;
  o.max_case_seconds = 1.0;
  o.rotate_bytes = 64ull << 20;
  return o;
}

Tuner::Tuner(TuneOptions options) : options_(std::move(options)), start_(std::chrono::steady_clock::now()) {}

bool Tuner::should_stop() {
  if (!stop_reason_.empty()) return true;
  if (options_.stop && options_.stop->load()) stop_reason_ = "interrupted";
  else if (seconds_since(start_) >= options_.time_budget_s)
    stop_reason_ = fmt::format("time budget of {:.0f} s used up", options_.time_budget_s);
  return !stop_reason_.empty();
}

TargetResult Tuner::search(const std::string& device, const TuneTarget& target,
                           const std::vector<Candidate>& candidates, const Apply& apply,
                           const bench::DeviceFigures& figures) {
  TargetResult result;
  result.target = target;
  for (const Candidate& cand : candidates) {
    if (should_stop()) return result;
    CandidateResult r;
    r.candidate = cand;
    try {
      backend::Device& dev = apply(cand);
      bench::KernelBenchOptions bo = options_.bench;
      if (options_.corrupt && options_.corrupt(target, cand)) bo.corrupt_results = true;
      r.status = "ok";
      for (const auto& c : target.cases) {
        const bench::Row row = bench::run_kernel_case(dev, c, figures, bo);
        const std::string check = row["check"].get<std::string>();
        if (check != "ok") {
          r.status = check;
          r.error = fmt::format("{} {}: {}", c.shape(), c.type_label(),
                                row["error"].is_string() ? row["error"].get<std::string>() : check);
          break;
        }
        r.time_us += row["time_us"].get<double>();
        r.bytes += row["bytes"].get<uint64_t>();
      }
    } catch (const std::exception& e) {  // a config the device refuses
      r.status = "ERROR";
      r.error = e.what();
    }
    if (r.status != "ok") r.time_us = 0, r.bytes = 0;
    result.tried.push_back(std::move(r));
    ++done_;
    if (options_.progress) {
      TuneProgress p;
      p.done = done_;
      p.total = std::max(total_, done_);
      p.elapsed_s = seconds_since(start_);
      const double per = p.elapsed_s / static_cast<double>(done_);
      p.eta_s = std::min(per * static_cast<double>(p.total - p.done), std::max(0.0, options_.time_budget_s - p.elapsed_s));
      p.device = device;
      p.target = target.key;
      p.candidate = cand.label;
      p.last = &result.tried.back();
      options_.progress(p);
    }
  }
  result.complete = true;
  return result;
}

std::vector<TargetResult> Tuner::tune_opencl(backend::OpenCLDevice& device, const std::vector<TuneTarget>& targets,
                                             const bench::DeviceFigures& figures) {
  std::vector<TargetResult> out;
  const std::string shape = device.shape() == backend::KernelShape::kVector ? "vector" : "workgroup";
  for (const auto& t : targets) {
    const auto cands = options_.candidates ? options_.candidates(t)
                                           : tune_candidates(t, shape, device.caps().max_work_group_size);
    if (cands.empty()) continue;
    Apply apply = [&](const Candidate& c) -> backend::Device& {
      device.set_kernel_configs(c.is_default ? backend::OpKernelConfigs{} : backend::OpKernelConfigs{{t.key, c.config}});
      return device;
    };
    try {
      out.push_back(search(device.name(), t, cands, apply, figures));
    } catch (...) {
      device.set_kernel_configs({});
      throw;
    }
    device.set_kernel_configs({});
    if (stopped()) break;
  }
  return out;
}

TargetResult Tuner::tune_host_threads(const std::vector<bench::KernelCase>& cases, int max_threads,
                                      const bench::DeviceFigures& figures) {
  TuneTarget target;
  target.key = "host.threads";
  target.op = "threads";
  target.cases = cases;
  std::vector<Candidate> cands;
  Candidate base;
  base.is_default = true;
  base.label = fmt::format("default (threads={})", max_threads);
  cands.push_back(base);
  for (int t = 1; t < max_threads; t *= 2) {
    Candidate c;
    c.config.macros["threads"] = std::to_string(t);
    c.label = fmt::format("threads={}", t);
    cands.push_back(c);
  }
  std::unique_ptr<backend::HostDevice> host;
  Apply apply = [&](const Candidate& c) -> backend::Device& {
    host.reset();
    backend::HostOptions o;
    o.threads = c.is_default ? 0 : std::stoi(c.config.macros.at("threads"));
    host = std::make_unique<backend::HostDevice>(o);
    return *host;
  };
  return search("host", target, cands, apply, figures);
}

}  // namespace mixcl::tune
