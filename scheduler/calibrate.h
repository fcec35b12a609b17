#pragma once
// Measures the fixed costs the planner's cost model adds to its roofline (profile keys
// speeds.op_overhead_us and speeds.copy_latency_us): what one op launched by the executor costs on a device
// beyond its bytes and flops (kernel enqueue, thread fork/join), and what one small host<->device copy that
// is waited on costs. Per op, not per step: a decode attention step issues 15 + 2 x heads ops, an FFN 4-6.
#include "backend/device.h"

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

}  // namespace mixcl::scheduler
