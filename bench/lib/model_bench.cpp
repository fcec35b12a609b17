#include "bench/lib/model_bench.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>

#include "backend/host/host_device.h"
#include "backend/probe.h"
#include "backend/registry.h"
#include "bench/lib/bench_data.h"
#include "bench/lib/bench_devices.h"
#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/executor.h"
#include "scheduler/plan.h"
#include "scheduler/profile.h"
#include "scheduler/profile_match.h"

namespace mixcl::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "deepseek2 16B Q4_K": architecture, parameter count, and the format holding most of the bytes.
std::string model_type(const gguf::GgufFile& file, uint64_t n_params) {
  std::map<DType, uint64_t> bytes;
  for (const auto& t : file.tensors()) bytes[t.type] += t.nbytes;
  DType main = DType::F32;
  uint64_t most = 0;
  for (const auto& [t, b] : bytes)
    if (b > most) most = b, main = t;
  const double p = static_cast<double>(n_params);
  const std::string size = p >= 1e9 ? fmt::format("{:.0f}B", p / 1e9) : fmt::format("{:.0f}M", p / 1e6);
  return fmt::format("{} {} {}", file.architecture(), size, dtype_name(main));
}

// "L0-13 host, L14-26 cl0.0" (attention's device; "/experts <dev>" where the routed experts live elsewhere).
std::string placement_summary(const scheduler::PlacementFn& place, const arch::Deepseek2Config& c,
                              const std::vector<backend::Device*>& devs) {
  auto where = [&](const std::string& tensor) -> std::string {
    try {
      const size_t i = place(tensor);
      return i < devs.size() ? devs[i]->name() : "?";
    } catch (const std::exception&) {
      return "?";
    }
  };
  std::vector<std::string> parts;
  std::string cur;
  uint32_t start = 0;
  for (uint32_t l = 0; l <= c.n_layer; ++l) {
    std::string here;
    if (l < c.n_layer) {
      here = where(fmt::format("blk.{}.attn_kv_a_mqa.weight", l));
      if (c.is_moe_layer(l)) {
        const std::string ex = where(fmt::format("blk.{}.ffn_gate_exps.weight", l));
        if (ex != here) here += "/experts " + ex;
      }
    }
    if (l == c.n_layer || (l > 0 && here != cur)) {
      parts.push_back(start + 1 == l ? fmt::format("L{} {}", start, cur) : fmt::format("L{}-{} {}", start, l - 1, cur));
      start = l;
    }
    cur = here;
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string gib(double bytes) {
  return format_bytes(static_cast<uint64_t>(bytes));
}

}  // namespace

std::pair<double, double> mean_stddev(const std::vector<double>& v) {
  if (v.empty()) return {0.0, 0.0};
  double s = 0;
  for (double x : v) s += x;
  const double mean = s / static_cast<double>(v.size());
  if (v.size() < 2) return {mean, 0.0};
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / static_cast<double>(v.size() - 1))};
}

Report run_model_bench(const ModelBenchOptions& o) {
  if (o.n_prompt == 0 && o.n_gen == 0) fail("bench: nothing to run: -p and -n are both 0");
  if (o.reps < 1) fail("bench: -r must be at least 1 (got {})", o.reps);
  const gguf::GgufFile file = gguf::GgufFile::open(o.model_path);
  const arch::Deepseek2Config config = arch::from_gguf(file);

  std::optional<scheduler::Profile> profile;
  if (!o.profile_path.empty()) profile = scheduler::load_profile(o.profile_path);
  backend::DiscoveryOptions dopt;
  if (profile) dopt.host = scheduler::host_options(profile->host, dopt.host);
  if (o.threads > 0) dopt.host.threads = o.threads;
  dopt.opencl = needs_opencl(o.devices) || (profile && !profile->devices.empty());
  const auto all = backend::discover_devices(dopt);

  std::vector<backend::Device*> devs;
  scheduler::PlacementFn placement;
  const uint32_t context = o.n_prompt + o.n_gen + 1;
  std::optional<scheduler::Plan> plan;  // with a profile: the planner's placement and predictions
  double predicted_prefill_ts = 0;
  if (profile && o.devices.empty()) {
    std::vector<backend::Device*> raw;
    for (const auto& d : all) raw.push_back(d.get());
    devs = scheduler::match_devices(*profile, raw);
    scheduler::apply_device_budgets(*profile, devs);
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < profile->devices.size(); ++i) index[profile->devices[i].id] = i;
    index["host"] = devs.size();
    devs.push_back(all.front().get());  // discovery lists the host first
    scheduler::PlanOptions po;
    po.context = context;
    po.batch = o.batch;
    // The decode test runs positions 0 .. n_gen - 1 from an empty cache: predict at their mean.
    po.decode_position = std::max<uint32_t>(1, o.n_gen / 2);
    const scheduler::ModelInfo info = scheduler::model_info(file);
    plan = scheduler::make_plan(info, *profile, po);
    placement = scheduler::placement_fn(*plan, index);
    predicted_prefill_ts = plan->prefill.tokens_per_s;
    if (o.n_prompt > 0 && o.n_prompt < o.batch) {
      // The prefill test is one batch of n_prompt tokens: its prediction comes from a plan for that batch.
      po.batch = o.n_prompt;
      predicted_prefill_ts = scheduler::make_plan(info, *profile, po).prefill.tokens_per_s;
    }
  } else {
    devs = select_devices(all, o.devices.empty() ? std::vector<std::string>{"host"} : o.devices);
    placement = devs.size() == 1 ? scheduler::place_all_on(0) : scheduler::place_layers_split(config.n_layer, devs.size());
  }

  scheduler::ExecutorOptions eo;
  eo.context = context;
  eo.batch = o.batch;
  eo.kv_type = DType::F16;
  eo.placement = placement;
  eo.host_weights = scheduler::choose_host_weight_memory(o.weight_memory, profile ? &profile->host : nullptr);
  scheduler::Executor ex(file, devs, eo);

  // Figures of every device used, and the decode bound: each device reads its share of the per-token bytes
  // (taken in proportion to the weights it holds) at its measured read bandwidth, one after the other.
  const auto mem = ex.memory_report();
  uint64_t held_total = 0;
  for (const auto& m : mem) held_total += m.weights + m.mapped;
  const double bpt = static_cast<double>(ex.bytes_per_token());
  std::vector<double> shares;
  for (auto* d : devs) {
    uint64_t held = 0;
    for (const auto& m : mem)
      if (m.device == d->name()) held += m.weights + m.mapped;
    shares.push_back(held_total ? static_cast<double>(held) / static_cast<double>(held_total)
                                : 1.0 / static_cast<double>(devs.size()));
  }
  // Decode t/s at the bandwidth bound for the given per-device read rates (0 where none is known).
  auto bound_for = [&](const std::vector<double>& read_gbps) {
    double s = 0;
    for (size_t i = 0; i < devs.size(); ++i)
      if (read_gbps[i] > 0) s += bpt * shares[i] / (read_gbps[i] * 1e9);
    return s > 0 ? 1.0 / s : 0.0;
  };
  std::vector<double> probed;
  std::vector<std::string> gbps;
  for (auto* d : devs) {
    probed.push_back(device_figures(*d, o.probe).read_gbps);
    gbps.push_back(fmt::format("{}: {:.1f} GB/s", d->name(), probed.back()));
  }
  const double probed_bound_ts = bound_for(probed);
  // With --probe the read bandwidth is measured again right before every decode repetition, so each one is
  // compared with what the memory delivered at that moment (it drifts on a shared machine).
  auto bound_now = [&] {
    std::vector<double> now;
    backend::ProbeOptions po;
    po.read_only = true;
    po.seconds_per_test = 0.25;
    po.trials = 2;
    for (auto* d : devs) now.push_back(backend::probe_device(*d, po).read_gbps);
    return bound_for(now);
  };

  uint64_t n_params = 0, model_size = 0;
  for (const auto& t : file.tensors()) n_params += t.n_elements, model_size += t.nbytes;
  std::vector<std::string> backends, gpus;
  int n_threads = 0;
  for (auto* d : devs) {
    const bool host = d->caps().kind == backend::DeviceKind::kHost;
    const std::string b = host ? "CPU" : "OpenCL";
    if (std::find(backends.begin(), backends.end(), b) == backends.end()) backends.push_back(b);
    if (!host) gpus.push_back(d->caps().name);
    if (auto* h = dynamic_cast<backend::HostDevice*>(d)) n_threads = h->threads();
  }
  if (n_threads == 0)
    if (auto* h = dynamic_cast<backend::HostDevice*>(all.front().get())) n_threads = h->threads();
  const std::string placement_text = placement_summary(placement, config, devs);

  FastRng rng(o.seed);
  auto random_tokens = [&](uint32_t n) {
    std::vector<int32_t> t(n);
    for (auto& v : t) v = static_cast<int32_t>(rng.next() % config.n_vocab);
    return t;
  };
  // One repetition: prefill of n_prompt tokens, or n_gen single-token decodes, from an empty cache.
  auto run_once = [&](bool prefill) {
    const auto tokens = random_tokens(prefill ? o.n_prompt : o.n_gen);
    ex.truncate(0);
    const auto t0 = Clock::now();
    if (prefill) {
      ex.forward(tokens);
    } else {
      for (uint32_t i = 0; i < o.n_gen; ++i) ex.forward(std::span<const int32_t>(&tokens[i], 1));
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };

  Report report;
  report.columns = model_report_columns();
  for (bool prefill : {true, false}) {
    const uint32_t n = prefill ? o.n_prompt : o.n_gen;
    if (n == 0) continue;
    spdlog::debug("bench: {} warm-up", prefill ? "prefill" : "decode");
    run_once(prefill);  // warm-up: kernel builds, first touch of the weights
    std::vector<double> ns, ts, bounds;
    for (int r = 0; r < o.reps; ++r) {
      if (!prefill) bounds.push_back(o.probe ? bound_now() : probed_bound_ts);
      const double s = run_once(prefill);
      ns.push_back(s * 1e9);
      ts.push_back(static_cast<double>(n) / s);
    }
    ex.truncate(0);
    const auto [avg_ns, sd_ns] = mean_stddev(ns);
    const auto [avg_ts, sd_ts] = mean_stddev(ts);
    Row row;
    row["build_commit"] = o.build;
    row["build_number"] = 0;
    row["cpu_info"] = all.front()->caps().name;
    row["gpu_info"] = fmt::format("{}", fmt::join(gpus, ", "));
    row["backends"] = fmt::format("{}", fmt::join(backends, ","));
    row["model_filename"] = o.model_path;
    row["model_type"] = model_type(file, n_params);
    row["model_size"] = model_size;
    row["model_n_params"] = n_params;
    row["n_batch"] = o.batch;
    row["n_ubatch"] = o.batch;
    row["n_threads"] = n_threads;
    row["type_k"] = "f16";
    row["type_v"] = "f16";
    row["n_prompt"] = prefill ? n : 0;
    row["n_gen"] = prefill ? 0 : n;
    row["n_depth"] = 0;
    row["test_time"] = utc_now();
    row["avg_ns"] = static_cast<uint64_t>(avg_ns);
    row["stddev_ns"] = static_cast<uint64_t>(sd_ns);
    row["avg_ts"] = avg_ts;
    row["stddev_ts"] = sd_ts;
    std::vector<uint64_t> ns_int;
    for (double v : ns) ns_int.push_back(static_cast<uint64_t>(v));
    row["samples_ns"] = ns_int;
    row["samples_ts"] = ts;
    row["test"] = fmt::format("{}{}", prefill ? "pp" : "tg", n);
    row["profile"] = profile ? profile->name : "";
    row["placement"] = placement_text;
    row["bytes_per_token"] = static_cast<uint64_t>(bpt);
    // % of the bound: the mean over repetitions of t/s ÷ the bound at that repetition.
    std::vector<double> pct;
    for (size_t r = 0; r < bounds.size(); ++r)
      if (bounds[r] > 0) pct.push_back(100.0 * ts[r] / bounds[r]);
    const double bound_ts = bounds.empty() ? probed_bound_ts : mean_stddev(bounds).first;
    row["read_gbps"] = bound_ts > 0 ? nlohmann::ordered_json(bpt * bound_ts / 1e9) : nlohmann::ordered_json();
    row["bound_ts"] = prefill || bound_ts <= 0 ? nlohmann::ordered_json() : nlohmann::ordered_json(bound_ts);
    row["pct_bandwidth_bound"] =
        pct.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(mean_stddev(pct).first);
    if (!pct.empty()) {
      row["samples_bound_ts"] = bounds;
      row["samples_pct_bandwidth_bound"] = pct;
    }
    const double predicted = !plan ? 0.0 : prefill ? predicted_prefill_ts : plan->decode.tokens_per_s;
    row["predicted_ts"] = predicted > 0 ? nlohmann::ordered_json(predicted) : nlohmann::ordered_json();
    row["pct_of_prediction"] = predicted > 0 ? nlohmann::ordered_json(100.0 * avg_ts / predicted) : nlohmann::ordered_json();
    report.rows.push_back(std::move(row));
  }
  report.notes.push_back(fmt::format("placement: {}{}", placement_text,
                                     profile ? fmt::format(" (profile {})", profile->name) : ""));
  report.notes.push_back(fmt::format(
      "t/s: tokens per second, mean ± stddev over {} repetitions; % bound: decode t/s ÷ (measured read bandwidth "
      "÷ {} of weights read per token) = ÷ {:.2f} t/s ({}){}",
      o.reps, gib(bpt), probed_bound_ts, fmt::join(gbps, ", "),
      o.probe ? "; with --probe the bandwidth is measured again before every decode repetition and % bound is "
                "the mean of each repetition's t/s ÷ its own bound"
              : ""));
  if (plan) {
    report.notes.push_back(fmt::format(
        "predicted: the planner's roofline + per-op and per-copy costs for profile {} (decode at position {}, "
        "prefill of one {}-token batch); decode bottleneck: {}; prefill: {}",
        profile->name, plan->options.decode_position, std::min(o.n_prompt, o.batch), plan->decode.bottleneck,
        plan->prefill.bottleneck));
    for (const std::string& n : plan->notes) report.notes.push_back("plan note: " + n);
  }
  return report;
}

std::vector<Column> model_report_columns() {
  std::vector<Column> c;
  c.push_back({"model_type", "model"});
  c.push_back({"model_size", "size"});
  c.back().display = [](const nlohmann::ordered_json& r) { return gib(r["model_size"].get<double>()); };
  c.push_back({"model_n_params", "params"});
  c.back().display = [](const nlohmann::ordered_json& r) {
    const double p = r["model_n_params"].get<double>();
    return p >= 1e9 ? fmt::format("{:.2f} B", p / 1e9) : fmt::format("{:.2f} M", p / 1e6);
  };
  c.push_back({"backends", "backend"});
  c.push_back({"n_threads", "threads"});
  c.push_back({"test", "test"});
  c.push_back({"avg_ts", "t/s"});
  c.back().display = [](const nlohmann::ordered_json& r) {
    return fmt::format("{:.2f} ± {:.2f}", r["avg_ts"].get<double>(), r["stddev_ts"].get<double>());
  };
  c.push_back({"pct_bandwidth_bound", "% bw bound", 1});
  c.push_back({"predicted_ts", "predicted t/s", 2});
  c.push_back({"pct_of_prediction", "% of pred.", 1});
  return c;
}

}  // namespace mixcl::bench
