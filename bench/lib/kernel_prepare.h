#pragma once
// Internal to bench/lib: the operands and calls of one kernel case on one device, ready to check and time.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "backend/device.h"
#include "bench/lib/kernel_bench.h"
#include "bench/lib/kernel_cases.h"

namespace mixcl::bench::detail {

/// A case set up on a device.
struct PreparedCase {
  uint64_t copies = 1;          // operand sets the calls cycle over (decode ops: weights far beyond the caches)
  uint64_t bytes_per_call = 0;  // bytes one call must move at least (weights, activations, outputs)
  double flops_per_call = 0;    // arithmetic of one call; 0: not a compute figure (norms, rope, router)
  uint64_t working_set = 0;     // bytes of every copy together
  std::function<void(uint64_t i)> call;  // enqueues one call on operand set i % copies
  /// After call(0) and finish(): the checked entries of the result (NaN where something that must match
  /// exactly, e.g. router ids, did not).
  std::function<std::vector<double>()> read_checked;
  std::vector<double> reference;  // the same entries computed in double precision
  double bound = 0;               // largest normalized error accepted
  std::vector<std::shared_ptr<backend::Buffer>> buffers;  // kept alive for the calls
};

/// Sets up `c` on `device` (allocations, uploads, reference); throws on device errors.
PreparedCase prepare_case(backend::Device& device, const KernelCase& c, const KernelBenchOptions& options);

}  // namespace mixcl::bench::detail
