#pragma once
// Binds a profile to the machine: which discovered device each profile device stands for, and the host
// settings as backend options.
#include <string>
#include <vector>

#include "backend/device.h"
#include "backend/host/host_device.h"
#include "scheduler/profile.h"

namespace mixcl::scheduler {

/// True when a device's capabilities satisfy every string/type field of `match` (index is not looked at):
/// only OpenCL devices match; strings are case-insensitive substrings, type is exact (case-insensitive).
bool device_matches(const DeviceMatch& match, const backend::Capabilities& caps);

/// For each profile device (profile order), the index into `caps` of the device it stands for. With `index:`
/// the n-th matching device is taken; without, the first matching device not taken by an earlier profile
/// device. Throws naming the profile device, its match and every available device (`names[i]` labels caps[i]).
std::vector<size_t> match_device_indices(const Profile& profile, const std::vector<std::string>& names,
                                         const std::vector<backend::Capabilities>& caps);

/// match_device_indices over discovered devices: the device each profile device stands for, profile order.
std::vector<backend::Device*> match_devices(const Profile& profile, const std::vector<backend::Device*>& devices);

/// Sets each matched device's budget to its profile `memory_budget` (when given); throws when a budget exceeds
/// the memory the device reports. `matched` is match_devices()'s result.
void apply_device_budgets(const Profile& profile, const std::vector<backend::Device*>& matched);

/// The host settings of a profile (threads, ISA, DRAM budget) over `base`; unset profile fields keep `base`.
backend::HostOptions host_options(const HostProfile& host, backend::HostOptions base = {});

}  // namespace mixcl::scheduler
