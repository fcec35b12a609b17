// `mixcl devices`: lists every device (host first) with its capabilities, as a table or as JSON; --probe adds
// measured bandwidth and compute figures and saves them for later runs.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "backend/probe.h"
#include "backend/registry.h"
#include "cli/commands.h"

namespace mixcl::cli {
namespace {

nlohmann::json caps_json(backend::Device& device) {
  const auto& c = device.caps();
  const auto& w = c.preferred_vector_width;
  nlohmann::json j = {
      {"name", device.name()},
      {"kind", c.kind == backend::DeviceKind::kHost ? "host" : "opencl"},
      {"type", c.type},
      {"vendor", c.vendor},
      {"device_name", c.name},
      {"driver_version", c.driver_version},
      {"platform_name", c.platform_name},
      {"platform_version", c.platform_version},
      {"opencl_c_versions", c.opencl_c_versions},
      {"compute_units", c.compute_units},
      {"clock_mhz", c.clock_mhz},
      {"global_mem_bytes", c.global_mem_bytes},
      {"local_mem_bytes", c.local_mem_bytes},
      {"max_alloc_bytes", c.max_alloc_bytes},
      {"max_work_group_size", c.max_work_group_size},
      {"budget_bytes", device.memory().budget()},
      {"unified_memory", c.unified_memory},
      {"preferred_vector_width",
       {{"char", w.char_w}, {"short", w.short_w}, {"int", w.int_w}, {"long", w.long_w}, {"float", w.float_w},
        {"double", w.double_w}, {"half", w.half_w}}},
      {"fp16", c.fp16},
      {"fp64", c.fp64},
      {"subgroups", c.subgroups},
      {"subgroup_sizes", c.subgroup_sizes},
      {"int_dot_extensions", c.int_dot_extensions},
      {"images", c.images},
      {"extensions", c.extensions},
  };
  if (!c.isa.empty()) j["isa"] = c.isa;
  return j;
}

nlohmann::json probe_json(const backend::ProbeResult& r) {
  return {{"device_id", r.device_id},
          {"read_gbps", r.read_gbps},
          {"read_vector_width", r.read_vector_width},
          {"fp32_gflops", r.fp32_gflops},
          {"host_to_device_gbps", r.host_to_device_gbps},
          {"device_to_host_gbps", r.device_to_host_gbps}};
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

std::string list_or_none(const std::vector<std::string>& v) { return v.empty() ? "-" : fmt::format("{}", fmt::join(v, ", ")); }

void print_block(backend::Device& device, const std::optional<backend::ProbeResult>& probe) {
  const auto& c = device.caps();
  const auto& w = c.preferred_vector_width;
  const bool is_cl = c.kind == backend::DeviceKind::kOpenCL;
  fmt::print("{}  {}\n", device.name(), c.name);
  auto row = [](std::string_view key, const std::string& value) { fmt::print("  {:<22}{}\n", key, value); };
  row("type", c.type);
  row("vendor", c.vendor);
  if (is_cl) {
    row("platform", fmt::format("{} ({})", c.platform_name, c.platform_version));
    row("driver", c.driver_version);
    row("OpenCL C", list_or_none(c.opencl_c_versions));
  } else {
    row("ISA", c.isa);
  }
  row("compute units", fmt::format("{}{}", c.compute_units, c.clock_mhz ? fmt::format(" @ {} MHz", c.clock_mhz) : ""));
  row("global memory", format_bytes(c.global_mem_bytes));
  row("budget", format_bytes(device.memory().budget()));
  row("max allocation", format_bytes(c.max_alloc_bytes));
  row("local memory", format_bytes(c.local_mem_bytes));
  if (is_cl) row("max work-group size", fmt::format("{}", c.max_work_group_size));
  row("unified memory", yes_no(c.unified_memory));
  row("vector width", fmt::format("char {} short {} int {} long {} float {} double {} half {}", w.char_w, w.short_w,
                                  w.int_w, w.long_w, w.float_w, w.double_w, w.half_w));
  row("fp16 / fp64", fmt::format("{} / {}", yes_no(c.fp16), yes_no(c.fp64)));
  if (is_cl) {
    std::string sg = yes_no(c.subgroups);
    if (!c.subgroup_sizes.empty()) sg += fmt::format(" (sizes {})", fmt::join(c.subgroup_sizes, ", "));
    row("sub-groups", sg);
    row("integer dot product", list_or_none(c.int_dot_extensions));
    row("images", yes_no(c.images));
  }
  if (probe) {
    row("read bandwidth", fmt::format("{:.1f} GB/s (float{})", probe->read_gbps, probe->read_vector_width));
    row("fp32 compute", fmt::format("{:.1f} GFLOP/s", probe->fp32_gflops));
    if (is_cl) {
      row("host -> device", fmt::format("{:.2f} GB/s", probe->host_to_device_gbps));
      row("device -> host", fmt::format("{:.2f} GB/s", probe->device_to_host_gbps));
    }
  }
  fmt::print("\n");
}

}  // namespace

void add_devices_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List every device (host and OpenCL) with its capabilities");
  static bool json = false, probe = false;
  cmd->add_flag("--json", json, "Print a JSON array (one object per device) instead of the table");
  cmd->add_flag("--probe", probe, "Measure memory bandwidth, fp32 compute and copy speed of each device and save "
                                  "the figures for later runs");
  cmd->callback([] {
    auto devices = backend::discover_devices();
    std::vector<std::optional<backend::ProbeResult>> probes(devices.size());
    if (probe) {
      std::vector<backend::ProbeResult> results;
      for (size_t i = 0; i < devices.size(); ++i) {
        probes[i] = backend::probe_device(*devices[i]);
        results.push_back(*probes[i]);
      }
      const std::string path = backend::save_probe_results(results);
      if (!json) fmt::print("probe results saved to {}\n\n", path);
    }
    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (size_t i = 0; i < devices.size(); ++i) {
        nlohmann::json j = caps_json(*devices[i]);
        if (probes[i]) j["probe"] = probe_json(*probes[i]);
        out.push_back(std::move(j));
      }
      fmt::print("{}\n", out.dump(2));
      return;
    }
    for (size_t i = 0; i < devices.size(); ++i) print_block(*devices[i], probes[i]);
  });
}

}  // namespace mixcl::cli
