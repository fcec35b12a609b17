#include "tests/model_forward/engine_run.h"

#include <cstdlib>
#include <memory>
#include <mutex>

#include "backend/host/host_device.h"
#include "backend/opencl/opencl_device.h"
#include "common/error.h"

namespace mixcl::test {

backend::Device& host_device() {
  static backend::HostDevice host;
  return host;
}

std::vector<backend::Device*> opencl_devices() {
  static std::once_flag once;
  static std::vector<std::unique_ptr<backend::OpenCLDevice>> devices;
  std::call_once(once, [] {
    // PoCL reads its device list once, when OpenCL starts: two CPU devices make a two-device split testable.
    setenv("POCL_DEVICES", "pthread pthread", 0);
    backend::OpenCLOptions o;
    o.cache_dir = (temp_dir() / "kernels").string();
    devices = backend::discover_opencl_devices(o);
  });
  std::vector<backend::Device*> out;
  for (auto& d : devices) out.push_back(d.get());
  return out;
}

scheduler::ExecutorOptions executor_options(uint32_t context, uint32_t batch, DType kv_type,
                                            scheduler::PlacementFn placement) {
  scheduler::ExecutorOptions o;
  o.context = context;
  o.batch = batch;
  o.kv_type = kv_type;
  o.placement = std::move(placement);
  return o;
}

EngineRun run_chunks(scheduler::Executor& executor, std::span<const int32_t> tokens, std::span<const size_t> chunks) {
  std::vector<size_t> sizes(chunks.begin(), chunks.end());
  if (sizes.empty()) sizes.push_back(tokens.size());
  EngineRun run;
  size_t at = 0;
  for (size_t n : sizes) {
    if (at + n > tokens.size()) fail("run_chunks: chunks cover more than the {} tokens", tokens.size());
    scheduler::ForwardRequest req;
    req.all_logits = true;
    req.routes = true;
    const scheduler::ForwardResult r = executor.forward(tokens.subspan(at, n), req);
    run.logits.insert(run.logits.end(), r.logits.begin(), r.logits.end());
    if (run.routes.empty()) run.routes.resize(r.routes.size());
    if (r.routes.size() != run.routes.size())
      fail("run_chunks: a forward call returned routes for {} MoE layers, an earlier one for {}", r.routes.size(),
           run.routes.size());
    for (size_t l = 0; l < r.routes.size(); ++l)
      run.routes[l].insert(run.routes[l].end(), r.routes[l].begin(), r.routes[l].end());
    at += n;
  }
  if (at != tokens.size()) fail("run_chunks: chunks cover {} of {} tokens", at, tokens.size());
  return run;
}

EngineRun run_engine(const LoadedModel& m, std::vector<backend::Device*> devices, scheduler::ExecutorOptions options,
                     std::span<const size_t> chunks) {
  scheduler::Executor executor(m.file, std::move(devices), std::move(options));
  return run_chunks(executor, m.tokens, chunks);
}

}  // namespace mixcl::test
