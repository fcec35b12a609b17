#include "bench/lib/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "backend/host/kernels/matmul.h"
#include "backend/opencl/matmul.h"
#include "bench/lib/bench_data.h"
#include "bench/lib/kernel_prepare.h"

namespace mixcl::bench {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool product_supported(const backend::Device& device, DType t) {
  return device.caps().kind == backend::DeviceKind::kHost ? backend::matmul_supports(t)
                                                          : backend::opencl_matmul_supports(t);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A figure as a JSON number, or null when it cannot be computed.
nlohmann::ordered_json number_or_null(double v, bool ok) {
  return ok && std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
}

}  // namespace

bool device_supports(const backend::Device& device, const KernelCase& c) {
  switch (c.op) {
    case KernelOp::kMatvec:
    case KernelOp::kPrefill:
      return product_supported(device, c.type);
    case KernelOp::kMoeFfn:
      return product_supported(device, c.type) && product_supported(device, c.type2);
    default:
      return true;
  }
}

Row run_kernel_case(backend::Device& device, const KernelCase& c, const DeviceFigures& figures,
                    const KernelBenchOptions& options) {
  Row row;
  row["device"] = device.name();
  row["op"] = std::string(kernel_op_name(c.op));
  row["type"] = c.type_label();
  row["shape"] = c.shape();
  row["m"] = c.m;
  row["model"] = c.model;
  double time_s = NAN, time_min_s = NAN;
  int reps = 0;
  uint64_t calls_per_rep = 0;
  detail::PreparedCase p;
  std::string check = "ok", error;
  double check_error = NAN;
  try {
    p = detail::prepare_case(device, c, options);
    // The first result is checked before anything is timed: a wrong kernel reports no speed.
    p.call(0);
    device.finish();
    auto got = p.read_checked();
    if (options.corrupt_results)
      for (auto& v : got) v = -v - 1.0;
    check_error = normalized_error(got, p.reference);
    if (!(check_error <= p.bound)) {
      check = "FAILED";
      error = std::isfinite(check_error)
                  ? fmt::format("result differs from the double-precision reference: normalized error {:.3g} > "
                                "bound {:.3g}",
                                check_error, p.bound)
                  : "result has non-finite values or wrong expert ids";
    } else {
      // Warm-up: one pass over every operand copy; its time sizes the samples.
      auto t0 = Clock::now();
      for (uint64_t i = 0; i < p.copies; ++i) p.call(i);
      device.finish();
      const double per_call = std::max(since(t0) / static_cast<double>(p.copies), 1e-9);
      calls_per_rep = std::max<uint64_t>(
          p.copies, static_cast<uint64_t>(std::ceil(options.min_sample_seconds / per_call)));
      calls_per_rep = std::min<uint64_t>(calls_per_rep, 1u << 20);
      std::vector<double> samples;
      const int min_reps = std::min(options.reps, 3);
      const auto start = Clock::now();
      uint64_t next = 1;
      for (int r = 0; r < options.reps; ++r) {
        if (r >= min_reps && since(start) > options.max_case_seconds) break;
        t0 = Clock::now();
        for (uint64_t i = 0; i < calls_per_rep; ++i) p.call(next++);
        device.finish();
        samples.push_back(since(t0) / static_cast<double>(calls_per_rep));
      }
      reps = static_cast<int>(samples.size());
      time_s = median(samples);
      time_min_s = *std::min_element(samples.begin(), samples.end());
    }
  } catch (const std::exception& e) {
    check = "ERROR";
    error = e.what();
  }
  const uint64_t bytes = p.bytes_per_call, working_set = p.working_set;
  const double flops = p.flops_per_call, bound = p.bound;
  p = {};  // frees the device buffers before the next case
  device.finish();
  const bool ok = check == "ok";
  const double gbps = static_cast<double>(bytes) / time_s / 1e9;
  const double gflops = flops / time_s / 1e9;
  row["time_us"] = number_or_null(time_s * 1e6, ok);
  row["time_us_min"] = number_or_null(time_min_s * 1e6, ok);
  row["reps"] = reps;
  row["calls_per_rep"] = calls_per_rep;
  row["bytes"] = bytes;
  row["gbps"] = number_or_null(gbps, ok);
  row["gflops"] = number_or_null(gflops, ok && flops > 0);
  row["pct_bandwidth"] = number_or_null(100.0 * gbps / figures.read_gbps, ok && figures.read_gbps > 0);
  row["pct_compute"] =
      number_or_null(100.0 * gflops / figures.fp32_gflops, ok && flops > 0 && figures.fp32_gflops > 0);
  row["read_gbps"] = figures.read_gbps;
  row["fp32_gflops"] = figures.fp32_gflops;
  row["working_set_bytes"] = working_set;
  row["check"] = check;
  row["check_error"] = number_or_null(check_error, true);
  row["check_bound"] = bound;
  row["error"] = error.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(error);
  return row;
}

std::vector<Column> kernel_report_columns() {
  return {{"device", "device"},       {"op", "op"},
          {"type", "type"},           {"shape", "shape"},
          {"m", "m"},                 {"time_us", "time µs", 1},
          {"gbps", "GB/s", 2},        {"gflops", "GFLOP/s", 2},
          {"pct_bandwidth", "% bw", 1}, {"pct_compute", "% compute", 1},
          {"reps", "reps"},           {"check", "check"}};
}

}  // namespace mixcl::bench
