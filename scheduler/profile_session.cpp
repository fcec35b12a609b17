#include "scheduler/profile_session.h"

#include <fmt/format.h>

#include <map>

#include "backend/opencl/opencl_device.h"
#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/profile_match.h"

namespace mixcl::scheduler {

ProfileSession make_profile_session(const gguf::GgufFile& file, const Profile& profile,
                                    const std::vector<backend::Device*>& discovered, uint32_t context,
                                    uint32_t batch) {
  if (discovered.empty() || discovered.front()->caps().kind != backend::DeviceKind::kHost)
    fail("profile {}: the device list must start with the host device (as discover_devices returns it)",
         profile.name);
  if (context == 0) fail("profile {}: the KV cache must hold at least one position (context 0)", profile.name);
  if (batch == 0) fail("profile {}: the batch must hold at least one token (batch 0)", profile.name);
  bool any_opencl = false;
  for (const backend::Device* d : discovered) any_opencl |= d->caps().kind == backend::DeviceKind::kOpenCL;
  if (!profile.devices.empty() && !any_opencl)
    fail("profile {} ({}): it lists {} OpenCL device(s) ('{}' first) but no OpenCL device was found; check "
         "`mixcl devices` (PoCL needs POCL_DEVICES for more than one), or use a host-only profile such as cpu",
         profile.name, profile.sources.empty() ? std::string("?") : profile.sources.back(), profile.devices.size(),
         profile.devices.front().id);

  ProfileSession s;
  // Matching throws naming the profile device, its match and every device found.
  s.devices = match_devices(profile, discovered);
  apply_device_budgets(profile, s.devices);
  for (size_t i = 0; i < s.devices.size(); ++i)  // kernel overrides (checked when the profile loaded)
    if (auto* cl = dynamic_cast<backend::OpenCLDevice*>(s.devices[i])) {
      backend::OpKernelConfigs configs;
      for (const auto& [key, k] : profile.devices[i].kernels) configs[key] = {k.variant, k.macros};
      cl->set_kernel_configs(std::move(configs));
    }

  PlanOptions po;
  po.context = context;
  po.batch = batch;
  po.host_memory = discovered.front()->memory().budget();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < profile.devices.size(); ++i) {
    po.device_memory[profile.devices[i].id] = s.devices[i]->memory().budget();
    index[profile.devices[i].id] = i;
  }
  index["host"] = s.devices.size();
  s.devices.push_back(discovered.front());

  s.plan = make_plan(model_info(file), profile, po);
  for (const TensorPlan& t : s.plan.tensors)
    if (t.step != StepKind::kUnused && t.stored_type != t.file_type) {
      s.notes.push_back(fmt::format("the profile stores some tensors as another type ({} as {}); the executor keeps "
                                    "the file's types, so memory use differs from the plan",
                                    t.name, dtype_name(t.stored_type)));
      break;
    }

  s.options.context = context;
  s.options.batch = batch;
  s.options.kv_type = profile.quant.kv_cache;
  s.options.placement = placement_fn(s.plan, index);
  s.options.overlap_host_experts = profile.scheduling.overlap_host_experts;
  s.options.host_weights = profile.host.weight_memory;
  // The plan's prefill expert streaming: decided for full batches (or from the profile's threshold on).
  for (const StepPlan& st : s.plan.steps) {
    if (st.kind != StepKind::kRoutedExperts || !st.streamed) continue;
    ExpertStreaming& es = s.options.stream_experts;
    es.layers.resize(s.plan.config.n_layer, false);
    es.layers[st.layer] = true;
    es.device = index.at(s.plan.locations[st.stream_location]);
    es.min_batch = profile.scheduling.stream_experts_min_batch > 0 ? profile.scheduling.stream_experts_min_batch
                                                                   : batch;
  }
  return s;
}

}  // namespace mixcl::scheduler
