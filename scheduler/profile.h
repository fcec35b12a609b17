#pragma once
// A hardware profile (profiles/README.md): devices and their budgets and measured speeds, the host, storage
// choices per tensor class, placement rules and scheduling knobs. Parsed once from YAML into these plain
// structs; nothing below scheduler/ sees YAML.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"
#include "scheduler/host_weight_memory.h"

namespace mixcl::scheduler {

/// Which real device a profile device stands for; every given field must match (case-insensitive
/// substring for strings, exact for type and index). An empty match matches any OpenCL device.
struct DeviceMatch {
  std::string platform, vendor, name;
  std::string type;           // "GPU", "CPU", "ACCELERATOR", "CUSTOM" or empty
  std::optional<int> index;   // n-th device (0-based) among those matching the other fields

  bool operator==(const DeviceMatch&) const = default;
};

/// Kernel choice for one op on one device: variant name and macro overrides (part of the program-cache key).
struct KernelOverride {
  std::string variant;                        // "" = chosen by capability
  std::map<std::string, std::string> macros;  // e.g. {"ROWS_PER_WG", "4"}

  bool operator==(const KernelOverride&) const = default;
};

/// Measured (or published) speeds of a device; 0 = unknown (then the probe cache or a default is used).
struct DeviceSpeeds {
  double read_gbps = 0;      // device-memory read bandwidth, GB/s
  double fp32_gflops = 0;    // peak fp32 compute
  double h2d_gbps = 0;       // host -> device copies
  double d2h_gbps = 0;       // device -> host copies
  double op_overhead_us = 0;    // fixed cost of one op the executor launches (kernel enqueue, thread fork/join), µs
  double copy_latency_us = 0;   // fixed cost of one host<->device copy, µs (accelerators only)
  /// Read bandwidth the decode mat-vec kernels achieve per weight format, GB/s (`mixcl tune` measures it);
  /// a format not listed is costed at read_gbps.
  std::map<DType, double> matvec_gbps;

  bool operator==(const DeviceSpeeds&) const = default;
};

/// One accelerator of the profile.
struct DeviceProfile {
  std::string id;                 // key under `devices:`, used by placement rules ("gpu0")
  DeviceMatch match;
  uint64_t memory_budget = 0;     // bytes this profile may use on it; 0 = all the device reports
  bool unified_memory = false;    // shares DRAM with the host (integrated GPU): weights may be zero-copy
  DeviceSpeeds speeds;
  std::map<std::string, KernelOverride> kernels;  // by op name: "matmul", "mla_attention", ...
  std::string where;              // "file:line" of its key, for messages (not compared)

  bool operator==(const DeviceProfile& o) const {
    return id == o.id && match == o.match && memory_budget == o.memory_budget &&
           unified_memory == o.unified_memory && speeds == o.speeds && kernels == o.kernels;
  }
};

/// The host CPU and its DRAM.
struct HostProfile {
  uint64_t dram_budget = 0;  // bytes; 0 = physical memory
  int threads = 0;           // 0 = all hardware threads
  std::string isa;           // "" = detect; "avx512", "avx2", "generic"
  HostWeightMemory weight_memory = HostWeightMemory::kMapped;  // host-resident weights: mapped or huge pages
  DeviceSpeeds speeds;       // read_gbps and fp32_gflops of the host

  bool operator==(const HostProfile&) const = default;
};

/// The host weight memory a command uses: `flag` ("mapped", "huge_pages") when given, else the profile's
/// (`host` may be null), else mapped. Throws naming --weight-memory for any other spelling.
HostWeightMemory choose_host_weight_memory(const std::string& flag, const HostProfile* host);

/// Storage format per tensor class; nullopt keeps the file's type.
struct QuantChoices {
  std::optional<DType> attention, shared_experts, dense_ffn, routed_experts, embedding, output;
  DType kv_cache = DType::F16;  // F32 or F16

  bool operator==(const QuantChoices&) const = default;
};

/// Tensor names matching `pattern` (ECMAScript regex, whole name) go to `target` (a device id or "host").
/// First match wins; rules override the planner.
struct PlacementRule {
  std::string pattern;
  std::string target;
  std::string where;                    // "file:line" of the rule, for messages (not compared)
  std::shared_ptr<const std::regex> regex;  // `pattern` compiled at load (not compared)

  /// True when the whole tensor name matches the pattern.
  bool matches(std::string_view tensor_name) const;
  bool operator==(const PlacementRule& o) const { return pattern == o.pattern && target == o.target; }
};

/// Planner and executor settings.
struct SchedulingKnobs {
  uint32_t stream_experts_min_batch = 0;  // prefill batches at or above this stream host experts to a device (0: planner decides)
  bool overlap_host_experts = true;       // host experts run while the accelerator computes attention
  uint64_t scratch_reserve = 0;           // bytes kept free on every device for activations

  bool operator==(const SchedulingKnobs&) const = default;
};

/// A resolved profile (after `extends:`).
struct Profile {
  std::string name;                       // `name:` key, or the file stem
  std::string description;
  std::vector<std::string> sources;       // files read, base first
  HostProfile host;
  std::vector<DeviceProfile> devices;     // in file order
  QuantChoices quant;
  std::vector<PlacementRule> placement;
  SchedulingKnobs scheduling;

  /// The device with this id, or nullptr.
  const DeviceProfile* device(const std::string& id) const;
  /// The first placement rule whose pattern matches the whole tensor name, or nullptr (planner decides).
  const PlacementRule* rule_for(std::string_view tensor_name) const;
  /// Equal content; `sources` and the `where` fields are not compared.
  bool operator==(const Profile& o) const {
    return name == o.name && description == o.description && host == o.host && devices == o.devices &&
           quant == o.quant && placement == o.placement && scheduling == o.scheduling;
  }
};

/// Loads a profile file; a relative `extends:` is resolved beside the file, then in the shipped profiles/
/// folder. Throws mixcl::Error with "file:line:column", the key, what was found and what is allowed.
Profile load_profile(const std::filesystem::path& path);
/// Parses YAML text; `source` names it in messages; `base_dir` resolves `extends:`.
Profile parse_profile(const std::string& yaml, const std::string& source, const std::filesystem::path& base_dir);
/// The resolved profile as YAML (what `mixcl profile show` prints); parse_profile of it gives it back.
std::string dump_profile(const Profile& profile);
/// Reads "24GiB", "512MB", "1.5 TiB", "4096" (bytes); throws naming `where` when it is not a size.
/// Binary units (KiB, MiB, GiB, TiB) are powers of 1024; decimal units (kB, MB, GB, TB) powers of 1000.
uint64_t parse_size(const std::string& text, const std::string& where);
/// The exact size in the largest unit that divides it ("24GiB", "1500MB", "4097"); parse_size gives it back.
std::string format_size(uint64_t bytes);

/// Folders searched for shipped profiles, in order: each entry of $MIXCL_PROFILE_PATH (':'-separated), the
/// installed share/mixcl/profiles beside the binary, then the source tree's profiles/.
std::vector<std::filesystem::path> profile_search_dirs();
/// A profile argument as a file: an existing path as given, else `name`, `name.yaml` in the search folders;
/// throws listing the folders searched and the shipped profile names.
std::filesystem::path find_profile(const std::string& name_or_path);
/// Shipped profile names ("cpu", "templates/gpu24-dram", ...) found in the search folders, sorted.
std::vector<std::string> shipped_profiles();

}  // namespace mixcl::scheduler
