// Fixed per-op and per-copy costs of a device, measured the way the executor issues work (scheduler/calibrate.h).
#include "scheduler/calibrate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>

#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "model/synth/synth_model.h"
#include "scheduler/executor.h"
#include "scheduler/plan.h"

namespace mixcl::scheduler {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kCols = 256;         // contracted dimension of the test matmuls
constexpr uint64_t kSmallRows = 128;    // 128 KiB of F32 weights: above the host's threading threshold
constexpr uint64_t kLargeRows = 512;    // 512 KiB: the slope between the two sizes is the per-byte cost
constexpr uint64_t kCopyBytes = 64;     // a copy small enough that only its latency counts

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Buffers of one calibration: a weight matrix of kLargeRows x kCols (the small runs use its first rows),
// the activations and a norm weight.
struct Bench {
  std::shared_ptr<backend::Buffer> weight, x, x2, y, z, norm, copy;
};

Bench allocate(backend::Device& dev) {
  Bench b;
  b.weight = dev.allocate(kLargeRows * kCols * 4, kCols * 4);
  b.x = dev.allocate(kCols * 4);
  b.x2 = dev.allocate(kCols * 4);
  b.y = dev.allocate(kLargeRows * 4);
  b.z = dev.allocate(kLargeRows * 4);
  b.norm = dev.allocate(kCols * 4);
  if (dev.caps().kind != backend::DeviceKind::kHost) b.copy = dev.allocate(kCopyBytes);
  // Small, finite values so that no op meets a NaN or an overflow however often it runs.
  const std::vector<float> w(kLargeRows * kCols, 1e-4f), ones(kCols, 1.0f), x(kCols, 0.01f);
  dev.upload(*b.weight, 0, w.data(), w.size() * 4).wait();
  dev.upload(*b.norm, 0, ones.data(), kCols * 4).wait();
  dev.upload(*b.x, 0, x.data(), kCols * 4).wait();
  dev.finish();
  return b;
}

// Seconds for `ops` ops cycling matmul (rows x kCols), swiglu, rmsnorm, scale, then finish(); the queue is
// drained before the clock starts. The scale keeps the activations bounded: x = 0.5 * rmsnorm(x).
double time_run(backend::Device& dev, const Bench& b, uint64_t rows, int ops) {
  dev.finish();
  const backend::WeightView w{{b.weight.get(), 0}, DType::F32, kCols, rows};
  const auto t0 = Clock::now();
  for (int i = 0; i < ops; ++i) {
    switch (i % 4) {
      case 0: dev.matmul(w, {b.x.get(), 0}, {b.y.get(), 0}, 1); break;
      case 1: dev.swiglu({b.y.get(), 0}, {b.y.get(), 0}, {b.z.get(), 0}, rows); break;
      case 2: dev.rmsnorm({b.x.get(), 0}, {b.norm.get(), 0}, {b.x2.get(), 0}, 1, kCols, 1e-6f); break;
      default: dev.scale({b.x2.get(), 0}, 0.5f, {b.x.get(), 0}, kCols); break;
    }
  }
  dev.finish();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

Overheads measure_overheads(backend::Device& dev, const CalibrateOptions& options) {
  if (options.repetitions < 1 || options.warmup < 0 || options.ops_per_run < 4 || !(options.min_seconds >= 0))
    fail("calibrate {}: repetitions must be >= 1, warmup >= 0, ops_per_run >= 4 and min_seconds >= 0 (got {}, {}, "
         "{}, {})",
         dev.name(), options.repetitions, options.warmup, options.ops_per_run, options.min_seconds);
  Overheads out;
  try {
    const Bench b = allocate(dev);
    const int ops = options.ops_per_run;
    for (int i = 0; i < options.warmup; ++i) {
      time_run(dev, b, kSmallRows, ops);
      time_run(dev, b, kLargeRows, ops);
    }
    // Small and large runs alternate so that a change of machine load affects both alike.
    std::vector<double> small, large;
    double spent = 0;
    for (int i = 0; i < options.repetitions || spent < 2 * options.min_seconds; ++i) {
      small.push_back(time_run(dev, b, kSmallRows, ops));
      large.push_back(time_run(dev, b, kLargeRows, ops));
      spent += small.back() + large.back();
    }
    const double ts = mean(small), tl = mean(large);
    // Line through (small rows, ts) and (large rows, tl), read at 0 rows: what the ops cost whatever their size.
    const double slope = (tl - ts) / static_cast<double>(kLargeRows - kSmallRows);
    double intercept = ts - slope * static_cast<double>(kSmallRows);
    // Noise can tip the line below zero; the small run itself bounds the cost from above, keep a floor of
    // a tenth of it (an op always costs something).
    intercept = std::clamp(intercept, 0.1 * ts, ts);
    out.op_overhead_us = intercept / ops * 1e6;

    if (b.copy) {
      std::vector<double> up, down;
      std::vector<uint8_t> host(kCopyBytes, 0);
      double copy_spent = 0;
      for (int i = 0; i < options.warmup + options.repetitions || copy_spent < options.min_seconds; ++i) {
        dev.finish();
        auto t0 = Clock::now();
        dev.upload(*b.copy, 0, host.data(), kCopyBytes).wait();
        const double u = std::chrono::duration<double>(Clock::now() - t0).count();
        t0 = Clock::now();
        dev.download(*b.copy, 0, host.data(), kCopyBytes).wait();
        const double d = std::chrono::duration<double>(Clock::now() - t0).count();
        if (i >= options.warmup) up.push_back(u), down.push_back(d), copy_spent += u + d;
      }
      out.copy_latency_us = 0.5 * (mean(up) + mean(down)) * 1e6;
    }
  } catch (const Error& e) {
    fail("calibrate {}: {}", dev.name(), e.what());
  }
  if (!std::isfinite(out.op_overhead_us) || !std::isfinite(out.copy_latency_us))
    fail("calibrate {}: the timings gave no finite figure (op {} µs, copy {} µs); the clock or the device "
         "misbehaved, run again",
         dev.name(), out.op_overhead_us, out.copy_latency_us);
  return out;
}

namespace {

// The calibration model's bytes: written by the synth library to a temporary file, read back, file removed.
std::vector<uint8_t> synth_bytes(const arch::Deepseek2Config& config) {
  static std::atomic<int> counter{0};
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / fmt::format("mixcl-calibrate-{}-{}.gguf", getpid(), counter++);
  synth::SynthOptions so;
  so.config = config;
  so.seed = 7;
  std::vector<uint8_t> bytes;
  try {
    synth::write_synth_model(path, so);
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
    if (bytes.empty()) fail("could not read back the calibration model {}", path.string());
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    throw;
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return bytes;
}

// A profile with one place that holds everything: the host, or one accelerator `dev` with `speeds`.
Profile one_place_profile(const backend::Device& dev, const DeviceSpeeds& speeds) {
  Profile p;
  p.name = "calibration";
  DeviceSpeeds s = speeds;
  s.op_overhead_us = 0;  // the per-op cost is what is measured: the roofline is taken without it
  if (dev.caps().kind == backend::DeviceKind::kHost) {
    p.host.speeds = s;
    return p;
  }
  DeviceProfile d;
  d.id = "calibrated";
  d.memory_budget = 1ull << 40;  // the planner must not split: the executor runs everything on `dev`
  d.speeds = s;
  p.devices.push_back(d);
  PlacementRule all;
  all.pattern = ".*";
  all.target = d.id;
  all.regex = std::make_shared<const std::regex>(all.pattern, std::regex::ECMAScript);
  p.placement.push_back(all);
  return p;
}

}  // namespace

DecodeCalibration calibrate_decode(backend::Device& dev, const DeviceSpeeds& speeds,
                                   const DecodeCalibrationOptions& options) {
  if (options.layers < 1 || options.tokens < 2 || options.repetitions < 1 || options.warmup < 0 ||
      !(options.min_seconds >= 0))
    fail("calibrate {}: layers must be >= 1, tokens >= 2, repetitions >= 1, warmup >= 0 and min_seconds >= 0 "
         "(got {}, {}, {}, {}, {})",
         dev.name(), options.layers, options.tokens, options.repetitions, options.warmup, options.min_seconds);
  DecodeCalibration out;
  try {
    arch::Deepseek2Config config = arch::geometry(options.geometry);
    config.n_layer = options.layers;
    config.n_dense = std::min(config.n_dense, config.n_layer);
    config.n_vocab = 0;  // from the synthetic tokenizer
    out.model = fmt::format("{}, {} layers", options.geometry, options.layers);
    const gguf::GgufFile file = gguf::GgufFile::from_bytes(synth_bytes(config), "calibration model " + out.model);

    // The prediction the cost model makes for this model on this device alone, without per-op costs.
    PlanOptions po;
    po.context = options.tokens + 1;
    po.batch = 1;
    po.decode_position = std::max<uint32_t>(1, options.tokens / 2);  // a run covers positions 0 .. tokens - 1
    po.cost.host_op_overhead_s = 0;
    po.cost.accel_op_overhead_s = 0;
    const Plan plan = make_plan(model_info(file), one_place_profile(dev, speeds), po);
    for (const StepPlan& step : plan.steps) out.ops += step.decode.ops;
    out.roofline_us = plan.decode.seconds * 1e6;

    ExecutorOptions eo;
    eo.context = options.tokens + 1;
    eo.batch = 1;
    eo.kv_type = plan.kv_type;
    eo.placement = place_all_on(0);
    Executor ex(file, {&dev}, eo);
    const uint32_t vocab = ex.config().n_vocab;
    uint64_t state = 12345;
    std::vector<int32_t> tokens(options.tokens);
    auto run = [&] {
      for (auto& t : tokens) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        t = static_cast<int32_t>((state >> 33) % vocab);
      }
      ex.truncate(0);
      const auto t0 = Clock::now();
      for (const int32_t& t : tokens) ex.forward(std::span<const int32_t>(&t, 1));
      return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    for (int i = 0; i < options.warmup; ++i) run();
    double spent = 0;
    int runs = 0;
    for (; runs < options.repetitions || spent < options.min_seconds; ++runs) spent += run();
    out.measured_us = spent / (static_cast<double>(runs) * options.tokens) * 1e6;
  } catch (const Error& e) {
    fail("calibrate {}: decode of the calibration model failed: {}", dev.name(), e.what());
  }
  if (!(out.ops > 0) || !std::isfinite(out.measured_us) || !std::isfinite(out.roofline_us))
    fail("calibrate {}: the decode timing gave no usable figure (measured {} µs, roofline {} µs, {} ops per token); "
         "run again",
         dev.name(), out.measured_us, out.roofline_us, out.ops);
  // A roofline at or above the measured time means the rates are too pessimistic; the per-op cost is then
  // a small floor (an op always costs something) and the caller is told.
  const double floor_us = 0.01 * out.measured_us / out.ops;
  out.op_overhead_us = (out.measured_us - out.roofline_us) / out.ops;
  if (out.op_overhead_us < floor_us) {
    out.op_overhead_us = floor_us;
    out.floored = true;
  }
  return out;
}

}  // namespace mixcl::scheduler
