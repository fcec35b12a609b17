#pragma once
// Roofline cost model of the planner (docs/plan.md): a step costs max(bytes read ÷ read bandwidth,
// flops ÷ compute) plus a fixed cost per op it launches; activations that cross devices cost bytes ÷ link
// bandwidth plus a per-copy latency. No weights are touched: only sizes and speeds.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/arch/deepseek2_config.h"
#include "scheduler/profile.h"

namespace mixcl::scheduler {

/// Figures the profile does not give: used where a DeviceSpeeds field is 0, and the fixed overheads.
struct CostParams {
  double host_read_gbps = 20;       // default host DRAM read bandwidth
  double host_gflops = 100;         // default host compute
  double accel_read_gbps = 100;     // default accelerator memory read bandwidth
  double accel_gflops = 1000;       // default accelerator compute
  double link_gbps = 8;             // default host<->device copy bandwidth
  double host_op_overhead_s = 3e-6;      // fixed cost of one op on the host (OpenMP fork/join)
  double accel_op_overhead_s = 8e-6;     // fixed cost of one op on an accelerator (kernel launch)
  double transfer_latency_s = 10e-6;     // fixed cost of one copy between places
};

/// Resolved speeds of one place that runs steps (SI units, never 0).
struct Speeds {
  double read_bps = 0;         // bytes/s read from its memory
  double flops = 0;            // flop/s
  double h2d_bps = 0;          // bytes/s host -> this place (unused for the host)
  double d2h_bps = 0;          // bytes/s this place -> host
  double op_overhead_s = 0;    // seconds per op launched
  double copy_latency_s = 0;   // seconds per copy to or from this place (accelerators)
  bool unified = false;        // shares DRAM with the host: copies cost only the latency
  std::map<DType, double> matvec_bps;  // bytes/s the decode mat-vec kernels reach per weight format

  /// Bytes/s at which a decode mat-vec reads weights of `type`: its measured rate, else read_bps.
  double matvec_rate(DType type) const;
};

/// Resolves the profile's speeds (GB/s, GFLOPS; 0 = unknown) of the host (`host` true) or an accelerator;
/// appends "read_gbps", ... to `defaulted` for each field that fell back to `params`.
Speeds resolve_speeds(const DeviceSpeeds& given, bool host, bool unified, const CostParams& params,
                      std::vector<std::string>* defaulted = nullptr);

/// Bytes read and flops done by one step.
struct Work {
  double bytes = 0;   // all bytes read, weights of `by_type` included
  double flops = 0;
  /// Part of `bytes` that decode mat-vec kernels read, per weight format (costed at Speeds::matvec_rate);
  /// the rest (KV cache, prefill weights, embedding rows) is costed at read_bps.
  std::map<DType, double> by_type;
  Work() = default;
  Work(double b, double f) : bytes(b), flops(f) {}
  Work& operator+=(const Work& o) {
    bytes += o.bytes;
    flops += o.flops;
    for (const auto& [t, b] : o.by_type) by_type[t] += b;
    return *this;
  }
};

/// Predicted time of one step on one place.
struct StepTime {
  double read_s = 0;      // bytes ÷ read bandwidth
  double compute_s = 0;   // flops ÷ compute
  double overhead_s = 0;  // fixed cost: ops launched × per-op overhead
  /// max(read, compute) + overhead.
  double total() const { return (read_s > compute_s ? read_s : compute_s) + overhead_s; }
  /// True when reading memory, not compute, sets the time.
  bool memory_bound() const { return read_s >= compute_s; }
};

/// Roofline time of `work` on a place with `speeds`, launching `ops` ops: read time is Σ by_type bytes ÷
/// matvec_rate(type) + the other bytes ÷ read_bps.
StepTime step_time(const Work& work, const Speeds& speeds, double ops);

/// Seconds to copy `bytes` from place `from` to place `to` (nullptr = the host): over the device's link
/// (device -> device goes through the host: d2h then h2d), latency per link crossed; 0 when from == to.
double transfer_time(double bytes, const Speeds* from, const Speeds* to, const CostParams& params);

/// Work of a weight matrix of `params` elements stored in `bytes`, applied to `tokens` tokens.
Work matmul_work(double bytes, double params, double tokens);
/// Work of absorbed MLA attention itself (projections excluded) for `tokens` tokens, each attending to
/// `positions` cached positions on average; the cache (Lkv + dr values per position, `kv_elem_bytes`
/// each) is read once per step over `read_positions` positions.
Work attention_core_work(const arch::Deepseek2Config& c, double tokens, double positions, double read_positions,
                         double kv_elem_bytes);
/// Ops the executor launches for one layer's attention (scheduler/executor/forward_steps.cpp): norms,
/// projections, RoPE, cache write, and per head one absorption and one value matmul (`tokens` > 1: each
/// with a gather and a scatter around it). heads_as_one_op: the device runs a decode token's heads as one
/// matmul_heads op each for k_b and v_b (the host does; OpenCL enqueues one matmul per head).
double attention_ops(const arch::Deepseek2Config& c, double tokens, bool heads_as_one_op);
/// Expected number of distinct experts a batch of `tokens` tokens selects when each picks k of X uniformly:
/// X (1 - (1 - k/X)^tokens).
double experts_touched(uint32_t n_expert, uint32_t k, double tokens);

}  // namespace mixcl::scheduler
