#include "bench/lib/bench_devices.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "backend/probe.h"
#include "common/error.h"

namespace mixcl::bench {

bool needs_opencl(const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [](const std::string& n) { return n != "host"; });
}

std::vector<backend::Device*> select_devices(const std::vector<std::unique_ptr<backend::Device>>& devices,
                                             const std::vector<std::string>& names) {
  std::vector<std::string> available;
  for (const auto& d : devices) available.push_back(d->name());
  const bool all = names.empty() || std::find(names.begin(), names.end(), "all") != names.end();
  for (const auto& n : names)
    if (n != "all" && std::find(available.begin(), available.end(), n) == available.end())
      fail("--device: no device named '{}' (available: {}, all; `mixcl devices` lists them)", n,
           fmt::join(available, ", "));
  std::vector<backend::Device*> out;
  for (const auto& d : devices)
    if (all || std::find(names.begin(), names.end(), d->name()) != names.end()) out.push_back(d.get());
  return out;
}

DeviceFigures device_figures(backend::Device& device, bool reprobe) {
  DeviceFigures f;
  if (auto cached = reprobe ? std::nullopt : backend::load_probe_result(backend::probe_device_id(device))) {
    f.read_gbps = cached->read_gbps;
    f.fp32_gflops = cached->fp32_gflops;
    f.source = fmt::format("cache ({}, measured {})", backend::probe_cache_path(), cached->measured_at);
    return f;
  }
  if (!reprobe)
    spdlog::info("{}: no cached probe results in {}: probing now (`mixcl devices --probe` does this ahead of time)",
                 device.name(), backend::probe_cache_path());
  const backend::ProbeResult r = backend::probe_device(device);
  const std::string path = backend::save_probe_results({r});
  f.read_gbps = r.read_gbps;
  f.fp32_gflops = r.fp32_gflops;
  f.source = fmt::format("measured now (saved to {})", path);
  return f;
}

}  // namespace mixcl::bench
