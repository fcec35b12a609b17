#pragma once
// Measures the fixed costs the planner's cost model adds to its roofline (profile keys
// speeds.op_overhead_us and speeds.copy_latency_us): what one op launched by the executor costs on a device
// beyond its bytes and flops (kernel enqueue, thread fork/join), and what one small host<->device copy that
// is waited on costs. Per op, not per step: a decode attention step issues 15 + 2 x heads ops, an FFN 4-6.
#include <string>

#include "backend/device.h"
#include "scheduler/profile.h"

namespace mixcl::scheduler {

/// Fixed costs of one device, in microseconds (the profile's units and key names).
struct Overheads {
  double op_overhead_us = 0;   // one op as the executor issues it (write to speeds.op_overhead_us)
  double copy_latency_us = 0;  // one small copy waited on (write to speeds.copy_latency_us; 0 on the host)
};

/// How measure_overheads times a device.
struct CalibrateOptions {
  int repetitions = 31;  // timed runs of each kind at least; means are used (preemptions are a real cost)
  double min_seconds = 0.3;  // and at least this long per kind: long enough for the OS to preempt threads
  int warmup = 3;        // untimed runs first (kernel builds, first touch)
  int ops_per_run = 24;  // ops per timed run (matmuls and small vector ops alternating), then one finish()
};

/// Times runs of `ops_per_run` ops (matmuls at two weight sizes, both above the host's threading
/// thresholds, with rmsnorm/swiglu between) followed by finish(), and takes the intercept at zero weight
/// bytes per op: the cost an op has whatever its size. Means, not medians, over at least `min_seconds`: on a
/// loaded machine a parallel op waits for a preempted thread now and then, and a decode pays those waits. Times single 64-byte uploads and downloads, each
/// waited on, for the copy latency (OpenCL devices only). Allocates about 2.2 MiB on `dev` (charged to its
/// budget, freed before returning). Throws mixcl::Error when an op fails or the buffers do not fit.
Overheads measure_overheads(backend::Device& dev, const CalibrateOptions& options = {});

/// How calibrate_decode runs its model.
struct DecodeCalibrationOptions {
  std::string geometry = "tiny-v3";  // synthetic model (arch::geometry name), default weight types
  uint32_t layers = 6;        // tiny-v3 has 4: the calibration model is not one the predictions are checked on
  uint32_t tokens = 32;       // decode tokens per timed run, from an empty cache
  int repetitions = 5;        // timed runs at least; the mean is used
  double min_seconds = 1.0;   // and at least this long in all
  int warmup = 1;             // untimed runs first (kernel builds, first touch)
};

/// What calibrate_decode measured: the per-op cost the cost model needs for its prediction of a real decode.
struct DecodeCalibration {
  double op_overhead_us = 0;  // (measured - roofline) ÷ ops per token (write to speeds.op_overhead_us)
  double measured_us = 0;     // mean time of one decode token through the executor
  double roofline_us = 0;     // the cost model's time for that token with no per-op cost
  double ops = 0;             // ops the plan counts per decode token
  bool floored = false;       // measured came out at or below the roofline: op_overhead_us is a small floor
  std::string model;          // "tiny-v3, 6 layers"
};

/// Builds a small synthetic model in memory, runs `tokens` decode tokens at a time through the Executor with
/// every tensor on `dev`, and compares the mean time per token with the planner's prediction for the same
/// model on a one-device profile with `speeds` (read_gbps, matvec_gbps, fp32_gflops, link figures and
/// copy_latency_us as measured; op_overhead_us is ignored): the time above the roofline divided by the ops
/// the plan counts is the device's per-op cost, executor bookkeeping, syncs and logits read-back included.
/// Throws mixcl::Error naming the device when the model does not fit or an op fails.
DecodeCalibration calibrate_decode(backend::Device& dev, const DeviceSpeeds& speeds,
                                   const DecodeCalibrationOptions& options = {});

}  // namespace mixcl::scheduler
