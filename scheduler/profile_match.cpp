// Profile devices -> discovered devices, and profile host settings -> backend::HostOptions.
#include "scheduler/profile_match.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/error.h"

namespace mixcl::scheduler {
namespace {

bool contains_ci(const std::string& haystack, const std::string& needle) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

std::string describe_match(const DeviceMatch& m) {
  std::vector<std::string> parts;
  if (!m.platform.empty()) parts.push_back(fmt::format("platform contains '{}'", m.platform));
  if (!m.vendor.empty()) parts.push_back(fmt::format("vendor contains '{}'", m.vendor));
  if (!m.name.empty()) parts.push_back(fmt::format("name contains '{}'", m.name));
  if (!m.type.empty()) parts.push_back(fmt::format("type {}", m.type));
  if (m.index) parts.push_back(fmt::format("index {}", *m.index));
  return parts.empty() ? "any OpenCL device" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string describe_available(const std::vector<std::string>& names, const std::vector<backend::Capabilities>& caps) {
  std::string out;
  for (size_t i = 0; i < caps.size(); ++i) {
    const auto& c = caps[i];
    if (c.kind == backend::DeviceKind::kHost) {
      out += fmt::format("\n  {}: the host (not an OpenCL device; use target `host` in placement rules)", names[i]);
      continue;
    }
    out += fmt::format("\n  {}: type {}, vendor '{}', name '{}', platform '{}'", names[i], c.type, c.vendor, c.name,
                       c.platform_name);
  }
  return out.empty() ? "\n  (none)" : out;
}

}  // namespace

bool device_matches(const DeviceMatch& match, const backend::Capabilities& caps) {
  if (caps.kind != backend::DeviceKind::kOpenCL) return false;
  if (!match.platform.empty() && !contains_ci(caps.platform_name, match.platform)) return false;
  if (!match.vendor.empty() && !contains_ci(caps.vendor, match.vendor)) return false;
  if (!match.name.empty() && !contains_ci(caps.name, match.name)) return false;
  if (!match.type.empty()) {
    std::string t = caps.type;
    for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (t != match.type) return false;
  }
  return true;
}

std::vector<size_t> match_device_indices(const Profile& profile, const std::vector<std::string>& names,
                                         const std::vector<backend::Capabilities>& caps) {
  if (names.size() != caps.size()) fail("match_device_indices: {} names for {} devices", names.size(), caps.size());
  std::vector<size_t> out;
  std::vector<int> taken_by(caps.size(), -1);
  for (size_t p = 0; p < profile.devices.size(); ++p) {
    const DeviceProfile& d = profile.devices[p];
    std::vector<size_t> candidates;
    for (size_t i = 0; i < caps.size(); ++i)
      if (device_matches(d.match, caps[i])) candidates.push_back(i);
    std::optional<size_t> pick;
    if (d.match.index) {
      if (static_cast<size_t>(*d.match.index) < candidates.size()) pick = candidates[*d.match.index];
    } else {
      for (size_t i : candidates)
        if (taken_by[i] < 0) {
          pick = i;
          break;
        }
    }
    if (!pick) {
      const std::string why =
          candidates.empty() ? "no device matches"
          : d.match.index    ? fmt::format("only {} device(s) match, so index {} does not exist", candidates.size(),
                                           *d.match.index)
                             : fmt::format("every one of the {} matching device(s) is taken by an earlier profile device",
                                           candidates.size());
      fail("profile '{}': device '{}' ({}; match: {}): {}; available devices:{}\nEdit `devices.{}.match` in the "
           "profile, or check the OpenCL installation (mixcl devices).",
           profile.name, d.id, d.where, describe_match(d.match), why, describe_available(names, caps), d.id);
    }
    if (taken_by[*pick] >= 0)
      fail("profile '{}': devices '{}' and '{}' both match {} ({}); give them different `match:` fields or indexes",
           profile.name, profile.devices[taken_by[*pick]].id, d.id, names[*pick], caps[*pick].name);
    taken_by[*pick] = static_cast<int>(p);
    out.push_back(*pick);
  }
  return out;
}

std::vector<backend::Device*> match_devices(const Profile& profile, const std::vector<backend::Device*>& devices) {
  std::vector<std::string> names;
  std::vector<backend::Capabilities> caps;
  for (const auto* d : devices) {
    names.push_back(d->name());
    caps.push_back(d->caps());
  }
  std::vector<backend::Device*> out;
  for (size_t i : match_device_indices(profile, names, caps)) out.push_back(devices[i]);
  return out;
}

void apply_device_budgets(const Profile& profile, const std::vector<backend::Device*>& matched) {
  if (matched.size() != profile.devices.size())
    fail("apply_device_budgets: {} devices for the {} of profile '{}'", matched.size(), profile.devices.size(),
         profile.name);
  for (size_t i = 0; i < matched.size(); ++i) {
    const DeviceProfile& d = profile.devices[i];
    if (!d.memory_budget) continue;
    backend::Device& dev = *matched[i];
    const uint64_t total = dev.caps().global_mem_bytes;
    if (total && d.memory_budget > total)
      fail("profile '{}': devices.{}.memory_budget ({}) is more than {} ({}) has: {}; lower the budget", profile.name,
           d.id, format_bytes(d.memory_budget), dev.name(), dev.caps().name, format_bytes(total));
    dev.memory().set_budget(d.memory_budget);
  }
}

HostWeightMemory choose_host_weight_memory(const std::string& flag, const HostProfile* host) {
  if (flag.empty()) return host ? host->weight_memory : HostWeightMemory::kMapped;
  if (const auto m = parse_host_weight_memory(flag)) return *m;
  fail("--weight-memory {}: expected mapped (use the weights in place in the file) or huge_pages (copy them into "
       "2 MiB pages)",
       flag);
}

backend::HostOptions host_options(const HostProfile& host, backend::HostOptions base) {
  if (host.threads > 0) base.threads = host.threads;
  if (!host.isa.empty()) base.isa = host.isa;
  if (host.dram_budget > 0) base.budget_bytes = host.dram_budget;
  return base;
}

}  // namespace mixcl::scheduler
