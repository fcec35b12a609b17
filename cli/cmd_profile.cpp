// `mixcl profile check|show|list`: validates a hardware profile, prints it resolved (after extends:), lists
// the shipped ones.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "scheduler/profile.h"

namespace mixcl::cli {
namespace {

using scheduler::Profile;

nlohmann::json speeds_json(const scheduler::DeviceSpeeds& s) {
  nlohmann::json j = nlohmann::json::object();
  if (s.read_gbps > 0) j["read_gbps"] = s.read_gbps;
  if (s.fp32_gflops > 0) j["fp32_gflops"] = s.fp32_gflops;
  if (s.h2d_gbps > 0) j["h2d_gbps"] = s.h2d_gbps;
  if (s.d2h_gbps > 0) j["d2h_gbps"] = s.d2h_gbps;
  if (s.op_overhead_us > 0) j["op_overhead_us"] = s.op_overhead_us;
  if (s.copy_latency_us > 0) j["copy_latency_us"] = s.copy_latency_us;
  return j;
}

nlohmann::json type_json(const std::optional<DType>& t) {
  return t ? nlohmann::json(std::string(dtype_name(*t))) : nlohmann::json(nullptr);
}

// Sizes are bytes in JSON (0 = unlimited / all), so scripts need no unit parser.
nlohmann::json profile_json(const Profile& p) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : p.devices) {
    nlohmann::json match = nlohmann::json::object();
    if (!d.match.platform.empty()) match["platform"] = d.match.platform;
    if (!d.match.vendor.empty()) match["vendor"] = d.match.vendor;
    if (!d.match.name.empty()) match["name"] = d.match.name;
    if (!d.match.type.empty()) match["type"] = d.match.type;
    if (d.match.index) match["index"] = *d.match.index;
    nlohmann::json kernels = nlohmann::json::object();
    for (const auto& [op, k] : d.kernels) kernels[op] = {{"variant", k.variant}, {"macros", k.macros}};
    devices.push_back({{"id", d.id},
                       {"match", match},
                       {"memory_budget", d.memory_budget},
                       {"unified_memory", d.unified_memory},
                       {"speeds", speeds_json(d.speeds)},
                       {"kernels", kernels}});
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : p.placement) rules.push_back({{"pattern", r.pattern}, {"target", r.target}, {"where", r.where}});
  const auto& q = p.quant;
  return {{"name", p.name},
          {"description", p.description},
          {"sources", p.sources},
          {"host",
           {{"dram_budget", p.host.dram_budget},
            {"threads", p.host.threads},
            {"isa", p.host.isa},
            {"weight_memory", std::string(scheduler::host_weight_memory_name(p.host.weight_memory))},
            {"speeds", speeds_json(p.host.speeds)}}},
          {"devices", devices},
          {"quant",
           {{"attention", type_json(q.attention)},
            {"shared_experts", type_json(q.shared_experts)},
            {"dense_ffn", type_json(q.dense_ffn)},
            {"routed_experts", type_json(q.routed_experts)},
            {"embedding", type_json(q.embedding)},
            {"output", type_json(q.output)},
            {"kv_cache", std::string(dtype_name(q.kv_cache))}}},
          {"placement", rules},
          {"scheduling",
           {{"stream_experts_min_batch", p.scheduling.stream_experts_min_batch},
            {"overlap_host_experts", p.scheduling.overlap_host_experts},
            {"scratch_reserve", p.scheduling.scratch_reserve}}}};
}

std::string budget_text(uint64_t bytes, const char* unlimited) {
  return bytes ? format_bytes(bytes) : std::string(unlimited);
}

std::string summary(const Profile& p, const std::string& path) {
  std::vector<std::string> devices;
  for (const auto& d : p.devices) devices.push_back(fmt::format("{} {}", d.id, budget_text(d.memory_budget, "all")));
  return fmt::format("OK {}: profile '{}': host DRAM {}, {} device(s){}, {} placement rule(s){}", path, p.name,
                     budget_text(p.host.dram_budget, "all"), p.devices.size(),
                     devices.empty() ? std::string() : fmt::format(" ({})", fmt::join(devices, ", ")),
                     p.placement.size(),
                     p.sources.size() > 1 ? fmt::format(", extends {}", fmt::join(p.sources.begin(), p.sources.end() - 1, " <- "))
                                          : std::string());
}

}  // namespace

void add_profile_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Check, show or list hardware profiles (profiles/README.md)");
  cmd->require_subcommand(1);

  auto check_path = std::make_shared<std::string>();
  auto* check = cmd->add_subcommand("check", "Validate a profile: prints a one-line summary, or the error and exits 1");
  check->add_option("profile", *check_path, "Profile file or shipped profile name (cpu, pocl-2dev, templates/...)")
      ->required();
  check->callback([check_path] {
    const auto path = scheduler::find_profile(*check_path);
    fmt::print("{}\n", summary(scheduler::load_profile(path), path.string()));
  });

  auto show_path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* show = cmd->add_subcommand("show", "Print the resolved profile (after extends:) as YAML or JSON");
  show->add_option("profile", *show_path, "Profile file or shipped profile name")->required();
  show->add_flag("--json", *as_json, "Print JSON (sizes in bytes, 0 = all) instead of YAML");
  show->callback([show_path, as_json] {
    const Profile p = scheduler::load_profile(scheduler::find_profile(*show_path));
    if (*as_json)
      fmt::print("{}\n", profile_json(p).dump(2));
    else
      fmt::print("{}", scheduler::dump_profile(p));
  });

  auto* list = cmd->add_subcommand("list", "List the shipped profiles and the folders searched");
  list->callback([] {
    for (const auto& name : scheduler::shipped_profiles()) fmt::print("{}\n", name);
    for (const auto& dir : scheduler::profile_search_dirs()) fmt::print(stderr, "searched: {}\n", dir.string());
  });
}

}  // namespace mixcl::cli
