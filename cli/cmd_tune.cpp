// `mixcl tune`: measures the devices (bandwidth, compute, link speeds, fixed costs), searches kernel configs per
// op and weight format at the model's shapes, and writes the results into a profile (docs/tune.md).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backend/opencl/opencl_device.h"
#include "backend/probe.h"
#include "backend/registry.h"
#include "bench/lib/bench_devices.h"
#include "cli/commands.h"
#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/calibrate.h"
#include "tune/matvec_rates.h"
#include "tune/profile_edit.h"
#include "tune/tune_profile.h"
#include "tune/tuner.h"

namespace mixcl::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void mixcl_tune_on_sigint(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

struct TuneArgs {
  std::vector<std::string> devices{"all"};
  std::string model;
  std::string out;
  std::string budget = "10m";
  std::vector<std::string> ops{"all"};
  std::vector<std::string> types;
  uint64_t prefill_m = 128;
  size_t shapes_per_format = 2;
  double min_gain_pct = 3;
  bool no_probe = false;
  bool no_calibrate = false;
};

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::stringstream ss(item);
    for (std::string part; std::getline(ss, part, ',');)
      if (!part.empty()) out.push_back(part);
  }
  return out;
}

// "10m", "90s", "1h", "1.5m" or seconds.
double parse_duration(const std::string& text) {
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used ? text.substr(used) : "";
  const double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  if (!used || scale < 0 || !(v > 0))
    fail("--time-budget: '{}' is not a duration; write e.g. 90s, 10m or 1h (a plain number is seconds)", text);
  return v * scale;
}

std::string minutes(double s) {
  return s >= 60 ? fmt::format("{}m{:02}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60)
                 : fmt::format("{:.0f}s", s);
}

void print_progress(const tune::TuneProgress& p) {
  const bool tty = isatty(fileno(stderr));
  const auto* r = p.last;
  const std::string outcome = r->status == "ok" ? fmt::format("{:.1f} µs", r->time_us) : r->status;
  const std::string line = fmt::format("tune [{}/{}] {} {} {}: {}  (~{} left)", p.done, p.total, p.device, p.target,
                                       p.candidate, outcome, minutes(p.eta_s));
  if (tty)
    fmt::print(stderr, "\r\033[K{}", line);
  else
    fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

// "812.3 µs  3.21 GB/s  25.1%" for a result against the device's bandwidth.
std::string figures_text(const tune::CandidateResult* r, double read_gbps) {
  if (!r || r->status != "ok") return r ? r->status : "not measured";
  const double gbps = r->gbps();
  return read_gbps > 0 ? fmt::format("{:.1f} µs {:.2f} GB/s {:.0f}%", r->time_us, gbps, 100 * gbps / read_gbps)
                       : fmt::format("{:.1f} µs {:.2f} GB/s", r->time_us, gbps);
}

void print_report(const std::vector<tune::DeviceTuneOutcome>& outcomes, double min_gain) {
  fmt::print("\n| device | tuned key | default | best | best config | gain | written |\n");
  fmt::print("|---|---|---|---|---|---|---|\n");
  std::vector<std::string> skipped;
  for (const auto& d : outcomes) {
    const double bw = d.speeds ? d.speeds->read_gbps : 0;
    for (const auto& r : d.results) {
      const auto* base = r.baseline();
      const auto* best = r.best();
      const auto* win = r.winner(min_gain);
      const std::string gain = base && best && base->status == "ok"
                                   ? fmt::format("{:.2f}x", base->time_us / best->time_us)
                                   : "-";
      fmt::print("| {} | {} | {} | {} | {} | {} | {} |\n", d.name, r.target.key, figures_text(base, bw),
                 figures_text(best, bw), best ? best->candidate.label : "-", gain,
                 win ? "yes" : r.complete ? "no (default is as fast)" : "no (search stopped)");
      for (const auto& c : r.tried)
        if (c.status != "ok")
          skipped.push_back(fmt::format("{} {} [{}]: {}: {}", d.name, r.target.key, c.candidate.label, c.status,
                                        c.error));
    }
  }
  if (!skipped.empty()) {
    fmt::print("\nSkipped candidates ({}):\n", skipped.size());
    for (const auto& s : skipped) fmt::print("  {}\n", s);
  }
}

void run_tune(const TuneArgs& a) {
  if (a.prefill_m < 2) fail("tune: --prefill-m must be at least 2 (got {})", a.prefill_m);
  const double budget = parse_duration(a.budget);
  const auto ops = tune::parse_tune_ops(split_list(a.ops));
  const std::filesystem::path out_path(a.out);
  std::string existing;
  if (std::filesystem::exists(out_path)) {
    std::ifstream in(out_path, std::ios::binary);
    existing.assign(std::istreambuf_iterator<char>(in), {});
    if (!in && !in.eof()) fail("tune: cannot read {}", a.out);
  }
  // A broken existing profile is reported before any time is spent measuring.
  const std::filesystem::path base_dir = out_path.has_parent_path() ? out_path.parent_path() : ".";
  if (!existing.empty()) scheduler::parse_profile(existing, a.out, base_dir);

  std::vector<tune::MatrixShape> shapes;
  if (!a.model.empty()) {
    const auto file = gguf::GgufFile::open(a.model);
    shapes = tune::model_matrix_shapes(file);
    if (shapes.empty()) fail("tune: {} holds no weight matrices to tune for", a.model);
  } else {
    std::vector<DType> types;
    for (const auto& t : split_list(a.types)) {
      const auto type = dtype_from_name(t);
      if (!type) fail("tune: unknown weight format '{}' (e.g. Q4_K, Q8_0, Q6_K, F16)", t);
      types.push_back(*type);
    }
    shapes = tune::standard_matrix_shapes(types);
  }

  const auto names = split_list(a.devices);
  backend::DiscoveryOptions dopt;
  dopt.opencl = bench::needs_opencl(names);
  const auto all = backend::discover_devices(dopt);
  const auto devices = bench::select_devices(all, names);
  std::vector<backend::Capabilities> opencl_caps;
  for (const auto& d : all)
    if (d->caps().kind == backend::DeviceKind::kOpenCL) opencl_caps.push_back(d->caps());

  tune::TuneOptions topt;
  topt.bench = tune::default_tune_bench_options();
  topt.time_budget_s = budget;
  topt.stop = &g_stop;
  topt.min_gain = a.min_gain_pct / 100;
  topt.progress = print_progress;
  tune::Tuner tuner(topt);

  // The OpenCL targets skip formats a device has no kernels for; the host tunes its threads on decode cases.
  std::vector<std::vector<tune::TuneTarget>> per_device;
  for (backend::Device* d : devices) {
    std::vector<tune::TuneTarget> targets;
    if (d->caps().kind == backend::DeviceKind::kOpenCL) {
      for (auto& t : tune::tune_targets(ops, shapes, a.prefill_m, a.shapes_per_format))
        if (t.cases.empty() || bench::device_supports(*d, t.cases.front())) targets.push_back(std::move(t));
      for (const auto& t : targets) tuner.plan(tune::tune_candidates(t, "", d->caps().max_work_group_size).size());
    }
    per_device.push_back(std::move(targets));
  }
  std::vector<bench::KernelCase> host_cases;
  for (const auto& t : tune::tune_targets({"matvec"}, shapes, a.prefill_m, 1)) host_cases.push_back(t.cases.front());
  // The host's achieved mat-vec rate per format (speeds.matvec_gbps) is measured at the same shapes as the
  // OpenCL decode targets.
  const auto host_matvec_targets = tune::tune_targets({"matvec"}, shapes, a.prefill_m, a.shapes_per_format);
  const int hw_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int t = 1; t < hw_threads; t *= 2) tuner.plan(1);
  tuner.plan(1);

  g_stop = false;
  auto previous = std::signal(SIGINT, mixcl_tune_on_sigint);
  std::vector<tune::DeviceTuneOutcome> outcomes;
  try {
    for (size_t i = 0; i < devices.size() && !tuner.stopped(); ++i) {
      backend::Device& d = *devices[i];
      tune::DeviceTuneOutcome o;
      o.name = d.name();
      o.caps = d.caps();
      for (const auto& other : all) {  // rank among the devices of its platform and type (profile `index:`)
        if (other.get() == &d) break;
        if (other->caps().kind == backend::DeviceKind::kOpenCL &&
            other->caps().platform_name == d.caps().platform_name && other->caps().type == d.caps().type)
          ++o.match_index;
      }
      scheduler::DeviceSpeeds speeds;
      bench::DeviceFigures figures;
      if (a.no_probe) {
        figures = bench::device_figures(d);
        speeds.read_gbps = figures.read_gbps;
        speeds.fp32_gflops = figures.fp32_gflops;
      } else {
        fmt::print(stderr, "tune: probing {} (bandwidth, compute, copies, fixed costs)...\n", d.name());
        const backend::ProbeResult p = backend::probe_device(d);
        backend::save_probe_results({p});
        figures = {p.read_gbps, p.fp32_gflops, "measured now"};
        speeds.read_gbps = p.read_gbps;
        speeds.fp32_gflops = p.fp32_gflops;
        speeds.h2d_gbps = p.host_to_device_gbps;
        speeds.d2h_gbps = p.device_to_host_gbps;
        // Only the copy latency is kept: op_overhead_us comes from the decode calibration below (the
        // synthetic op sequence misses the executor's own per-op work); left as in the profile when that
        // does not run.
        speeds.copy_latency_us = scheduler::measure_overheads(d).copy_latency_us;
      }
      auto* cl = dynamic_cast<backend::OpenCLDevice*>(&d);
      if (cl) {
        o.results = tuner.tune_opencl(*cl, per_device[i], figures);
        speeds.matvec_gbps = tune::matvec_gbps_from(o.results, topt.min_gain);
      } else if (!host_cases.empty()) {
        o.results.push_back(tuner.tune_host_threads(host_cases, hw_threads, figures));
        if (!tuner.stopped()) speeds.matvec_gbps = tune::measure_matvec_gbps(d, host_matvec_targets, figures, topt.bench);
      }
      if (!a.no_probe && !a.no_calibrate && !tuner.stopped()) {
        // The per-op cost of a real decode, with the kernel configs the profile will hold.
        backend::OpKernelConfigs winners;
        for (const auto& r : o.results)
          if (const auto* w = r.winner(topt.min_gain); w && r.target.key != "host.threads")
            winners[r.target.key] = w->candidate.config;
        if (cl) cl->set_kernel_configs(winners);
        fmt::print(stderr, "tune: calibrating {}'s per-op cost on a decode of a synthetic model...\n", d.name());
        try {
          const scheduler::DecodeCalibration cal = scheduler::calibrate_decode(d, speeds);
          speeds.op_overhead_us = cal.op_overhead_us;
          fmt::print(stderr,
                     "tune: {} decode of {}: {:.1f} µs/token measured, {:.1f} µs roofline, {:.0f} ops -> "
                     "op_overhead_us {:.3g}{}\n",
                     d.name(), cal.model, cal.measured_us, cal.roofline_us, cal.ops, cal.op_overhead_us,
                     cal.floored ? " (measured at or below the roofline: a floor; the matvec rates look pessimistic)"
                                 : "");
        } catch (const Error& e) {
          // The measured speeds are still worth writing; op_overhead_us stays as in the profile.
          spdlog::warn("tune: {}; op_overhead_us of {} is left as it was", e.what(), d.name());
        } catch (...) {
          if (cl) cl->set_kernel_configs({});
          throw;
        }
        if (cl) cl->set_kernel_configs({});
      }
      o.speeds = speeds;
      outcomes.push_back(std::move(o));
    }
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
  if (isatty(fileno(stderr))) fmt::print(stderr, "\n");
  bool early = outcomes.size() < devices.size();
  for (const auto& o : outcomes)
    for (const auto& r : o.results) early |= !r.complete;
  if (early)
    fmt::print(stderr, "tune: search stopped ({}); writing the best found so far\n", tuner.stop_reason());

  print_report(outcomes, topt.min_gain);
  const std::string text = tune::update_profile_text(existing, out_path.stem().string(), a.out, base_dir, outcomes,
                                                     opencl_caps, topt.min_gain);
  tune::write_file_atomically(a.out, text);
  fmt::print("\nwrote {}\n", a.out);
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  CLI::App* cmd = app.add_subcommand("tune", "Measure the devices and search kernel configs; write them into a profile");
  cmd->add_option("--device", a->devices, "Devices to tune: host, cl0.0, ... or all (default all)")->delimiter(',');
  cmd->add_option("-m,--model", a->model, "Tune at this GGUF model's matrix shapes and formats");
  cmd->add_option("-o,--out", a->out, "Profile to write (an existing one is updated, keeping its other keys and comments)")
      ->required();
  cmd->add_option("--time-budget", a->budget, "Stop the search after this long (90s, 10m, 1h; default 10m)");
  cmd->add_option("--ops", a->ops, "Ops to tune: matmul (= matvec + prefill), matvec, prefill, rmsnorm, all")
      ->delimiter(',');
  cmd->add_option("--types", a->types, "Weight formats without -m (default Q8_0, Q4_K, Q6_K)")->delimiter(',');
  cmd->add_option("--prefill-m", a->prefill_m, "Tokens of the prefill cases (default 128)");
  cmd->add_option("--shapes-per-format", a->shapes_per_format, "Largest matrices measured per format (default 2)");
  cmd->add_option("--min-gain", a->min_gain_pct, "Write a config only when it beats the default by more than this % (default 3)");
  cmd->add_flag("--no-probe", a->no_probe, "Take bandwidth and compute from the probe cache instead of measuring now");
  cmd->add_flag("--no-calibrate", a->no_calibrate,
                "Skip the decode calibration of op_overhead_us (kept as in the profile)");
  cmd->callback([a] { run_tune(*a); });
}

}  // namespace mixcl::cli
