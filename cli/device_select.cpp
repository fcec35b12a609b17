#include "cli/device_select.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "backend/registry.h"
#include "common/error.h"
#include "scheduler/profile.h"
#include "scheduler/profile_match.h"

namespace mixcl::cli {

void add_device_flags(CLI::App* cmd, DeviceFlags& flags) {
  cmd->add_option("--device", flags.device,
                  "Where the model runs: host (default), an OpenCL device name such as cl0.0 (see `mixcl devices`), "
                  "or split (layers spread over every OpenCL device)")
      ->capture_default_str();
  cmd->add_option("--threads", flags.threads, "Host threads (default: the profile's, else all hardware threads)");
  cmd->add_option("--profile", flags.profile,
                  "Hardware profile (name or YAML path): without --device its devices and the planner's placement; with "
                  "--device only host threads/ISA/budget, device budgets and KV cache type");
}

scheduler::PlacementFn SelectedDevices::placement(uint32_t n_layer) const {
  if (!split) return scheduler::place_all_on(0);
  std::vector<double> weights;
  for (backend::Device* d : used) weights.push_back(static_cast<double>(d->memory().budget()));
  return scheduler::place_layers_split(n_layer, used.size(), weights);
}

std::string SelectedDevices::describe() const {
  std::vector<std::string> names;
  for (const backend::Device* d : used) names.push_back(d->name());
  return split ? fmt::format("split over {}", fmt::join(names, ", ")) : fmt::format("{}", fmt::join(names, ", "));
}

SelectedDevices select_devices(const DeviceFlags& flags) {
  if (flags.threads < 0) fail("--threads {}: must be 0 (all) or more", flags.threads);
  std::optional<scheduler::Profile> profile;
  if (!flags.profile.empty()) profile = scheduler::load_profile(scheduler::find_profile(flags.profile));

  backend::DiscoveryOptions options;
  if (profile) options.host = scheduler::host_options(profile->host, options.host);
  if (flags.threads > 0) options.host.threads = flags.threads;  // the flag wins over the profile
  options.opencl = flags.device != "host";

  SelectedDevices out;
  if (profile) out.kv_type = profile->quant.kv_cache;
  out.owned = backend::discover_devices(options);
  std::vector<backend::Device*> opencl;
  for (auto& d : out.owned)
    if (d->caps().kind == backend::DeviceKind::kOpenCL) opencl.push_back(d.get());
  // The profile's device budgets apply whenever OpenCL devices take part and the profile lists some.
  if (profile && !profile->devices.empty() && options.opencl) {
    std::vector<backend::Device*> all;
    for (auto& d : out.owned) all.push_back(d.get());
    scheduler::apply_device_budgets(*profile, scheduler::match_devices(*profile, all));
  }

  if (flags.device == "host") {
    out.used.push_back(out.owned.front().get());
  } else if (flags.device == "split") {
    if (opencl.empty())
      fail("--device split: no OpenCL device was found (`mixcl devices` lists what there is); use --device host");
    out.used = opencl;
    out.split = true;
  } else {
    std::vector<std::string> names;
    for (auto& d : out.owned) {
      names.push_back(d->name());
      if (d->name() == flags.device) out.used.push_back(d.get());
    }
    if (out.used.empty())
      fail("--device {}: no such device; this machine has: {}, or split", flags.device, fmt::join(names, ", "));
  }
  spdlog::debug("devices: {}", out.describe());
  return out;
}

}  // namespace mixcl::cli
