#pragma once
// The operands and calls of one kernel case on one device, ready to check and time (internal to bench/lib), and
// the weight setup the standalone kernel benchmarks (bench/bench_opencl_*.cpp) share with the kernel cases.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "backend/device.h"
#include "bench/lib/bench_data.h"
#include "bench/lib/kernel_bench.h"
#include "bench/lib/kernel_cases.h"

namespace mixcl::bench {

/// `copies` copies of one rows x cols matrix of `type` (random_weights(type, rows, cols, seed), the kernel cases'
/// weights) back to back in one buffer of `device`, split into chunks only between rows.
inline std::shared_ptr<backend::Buffer> upload_weights(backend::Device& device, DType type, uint64_t rows,
                                                       uint64_t cols, uint64_t copies = 1, uint64_t seed = 7) {
  const std::vector<uint8_t> w = random_weights(type, rows, cols, seed);
  auto buf = device.allocate(std::max<uint64_t>(1, copies * w.size()), row_bytes(type, cols));
  for (uint64_t i = 0; i < copies; ++i) device.upload(*buf, i * w.size(), w.data(), w.size()).wait();
  return buf;
}

}  // namespace mixcl::bench

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
