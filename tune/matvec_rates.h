#pragma once
// Achieved decode (mat-vec) read bandwidth per weight format, for the profile key speeds.matvec_gbps: the cost
// model reads a decode token's weights at these rates instead of the device's probed peak.
#include <map>
#include <vector>

#include "backend/device.h"
#include "bench/lib/kernel_bench.h"
#include "common/dtype.h"
#include "tune/tuner.h"

namespace mixcl::tune {

/// GB/s per format from an OpenCL search's decode targets ("matmul.<type>.decode"): the config that will
/// run (the winner when one is written, else the default), over the target's cases. Formats whose search
/// measured nothing correct are left out.
std::map<DType, double> matvec_gbps_from(const std::vector<TargetResult>& results, double min_gain);

/// GB/s per format measured on `dev` as it is configured now: each decode target's cases run once with
/// the kernel benchmark (result checked against the reference; a failing format is left out).
std::map<DType, double> measure_matvec_gbps(backend::Device& dev, const std::vector<TuneTarget>& decode_targets,
                                            const bench::DeviceFigures& figures,
                                            const bench::KernelBenchOptions& options);

}  // namespace mixcl::tune
