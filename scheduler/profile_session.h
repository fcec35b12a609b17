#pragma once
// Binds a profile to discovered devices and a model file: matches the profile's devices, applies their budgets,
// plans the model and turns the plan into what the executor takes (device list, placement, KV cache type).
#include <cstdint>
#include <string>
#include <vector>

#include "backend/device.h"
#include "scheduler/executor.h"
#include "scheduler/plan.h"
#include "scheduler/profile.h"

namespace mixcl::gguf {
class GgufFile;
}

namespace mixcl::scheduler {

/// A model ready to be built under a profile: the executor's devices and options, and the plan behind them.
struct ProfileSession {
  std::vector<backend::Device*> devices;  // executor order: the profile's devices (profile order), then the host
  ExecutorOptions options;                // context, batch, kv type (the profile's) and the plan's placement
  Plan plan;                              // its decode/prefill predictions and memory per place
  std::vector<std::string> notes;         // what the executor does differently from the plan (for the log)
};

/// Plans `file` on `profile` over `discovered` (host first, then OpenCL devices, as discover_devices lists
/// them) for a KV cache of `context` positions and prefill batches of `batch`: sets each matched device's
/// budget, makes the plan and its placement. Throws mixcl::Error when a profile device matches no discovered
/// device (naming it and every device found), a budget exceeds a device, or the plan does not fit.
ProfileSession make_profile_session(const gguf::GgufFile& file, const Profile& profile,
                                    const std::vector<backend::Device*>& discovered, uint32_t context,
                                    uint32_t batch);

}  // namespace mixcl::scheduler
