#pragma once
// Runs a synthetic model through scheduler::Executor on the test devices and collects logits and routes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "backend/device.h"
#include "scheduler/executor.h"
#include "tests/model_forward/forward_check.h"
#include "tests/model_forward/test_models.h"

namespace mixcl::test {

/// The host device (one per process).
backend::Device& host_device();
/// The OpenCL devices (PoCL: two, POCL_DEVICES="pthread pthread" is set before OpenCL starts); kernels are
/// cached under temp_dir(). Empty when the machine has no OpenCL platform.
std::vector<backend::Device*> opencl_devices();

/// Logits ([n][vocab]) and routes of every position of one run.
struct EngineRun {
  std::vector<float> logits;
  Routes routes;
};

/// Feeds the model's test tokens to `executor` in forward calls of the sizes in `chunks` (all at once when
/// empty), asking for every position's logits and routes, and concatenates what comes back.
EngineRun run_chunks(scheduler::Executor& executor, std::span<const int32_t> tokens, std::span<const size_t> chunks = {});

/// A fresh executor of `m` on `devices` with `options`, fed its test tokens as run_chunks() does.
EngineRun run_engine(const LoadedModel& m, std::vector<backend::Device*> devices, scheduler::ExecutorOptions options,
                     std::span<const size_t> chunks = {});

/// ExecutorOptions with every field named: context, batch, KV cache type, placement (null: all on device 0).
scheduler::ExecutorOptions executor_options(uint32_t context, uint32_t batch, DType kv_type,
                                            scheduler::PlacementFn placement = {});

}  // namespace mixcl::test
