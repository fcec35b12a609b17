#pragma once
// The --device / --threads / --profile flags of run and eval: which devices a model runs on and how its
// tensors are placed over them. The default is the host alone (it works on every machine).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/device.h"
#include "common/dtype.h"
#include "scheduler/executor.h"

namespace mixcl::cli {

/// What the device flags say.
struct DeviceFlags {
  std::string device = "host";  // "host", a device name ("cl0.1") or "split"
  int threads = 0;              // host threads; 0: the profile's, else all
  std::string profile;          // profile name or path; "" = none
};

/// Adds --device, --threads and --profile to `cmd`.
void add_device_flags(CLI::App* cmd, DeviceFlags& flags);

/// The devices a model runs on, kept alive together.
struct SelectedDevices {
  std::vector<std::unique_ptr<backend::Device>> owned;  // everything discovered
  std::vector<backend::Device*> used;                   // what the executor gets, in placement order
  bool split = false;                                   // layers split over `used` in proportion to budgets
  std::optional<DType> kv_type;                         // the profile's KV cache type, when one was given
  /// The executor placement for a model of `n_layer` blocks.
  scheduler::PlacementFn placement(uint32_t n_layer) const;
  /// "host", "cl0.0", "split over cl0.0, cl0.1" (for the log).
  std::string describe() const;
};

/// Discovers and picks the devices `flags` name; throws mixcl::Error listing the available names when a
/// named device does not exist or `split` finds no OpenCL device.
SelectedDevices select_devices(const DeviceFlags& flags);

}  // namespace mixcl::cli
