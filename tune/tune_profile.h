#pragma once
// Writes what `mixcl tune` measured into a profile's text: `speeds:` keys of the host and of each tuned device,
// `host.threads`, and one `kernels:` entry per tuned key (the winner, or none when the default won). Every
// other line of an existing profile, comments included, stays as written.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backend/device.h"
#include "scheduler/profile.h"
#include "tune/tuner.h"

namespace mixcl::tune {

/// What was measured on one device.
struct DeviceTuneOutcome {
  std::string name;                 // Device::name() ("host", "cl0.0")
  backend::Capabilities caps;
  int match_index = 0;              // rank among the discovered devices of its platform and type (OpenCL)
  std::optional<scheduler::DeviceSpeeds> speeds;  // measured figures (0 = not measured: left as in the file)
  std::vector<TargetResult> results;  // OpenCL: kernel targets; host: the "host.threads" target
};

/// The id of the profile device that stands for `d` in `profile` (matched by its `match:`), or "" when none does.
std::string profile_device_id(const scheduler::Profile& profile, const DeviceTuneOutcome& d,
                              const std::vector<backend::Capabilities>& opencl_caps);

/// `text` (an existing profile, or "" for a new one named `name`) with the outcomes written in; `source` names it
/// in errors and `base_dir` resolves its `extends:`. The result is checked by parsing it; throws mixcl::Error
/// when it does not load (nothing is written then). `opencl_caps`: every discovered OpenCL device, in order.
std::string update_profile_text(const std::string& text, const std::string& name, const std::string& source,
                                const std::filesystem::path& base_dir, const std::vector<DeviceTuneOutcome>& outcomes,
                                const std::vector<backend::Capabilities>& opencl_caps, double min_gain);

/// One `kernels:` entry as a flow map: "{variant: vector, macros: {MM_LOCAL: 16, MM_ROWS: 4}}".
std::string kernel_entry_text(const backend::OpKernelConfig& config);

}  // namespace mixcl::tune
