#pragma once
// Where the weights that stay in host DRAM live (profile key host.weight_memory, flag --weight-memory).
#include <cstdint>
#include <optional>
#include <string_view>

namespace mixcl::scheduler {

/// How host-resident weights are held.
enum class HostWeightMemory : uint8_t {
  kMapped,     // used in place from the memory-mapped file: no copy, not charged to the host budget
  kHugePages,  // copied once into 2 MiB pages (fewer TLB misses: faster decode), charged to the host budget;
               // the file's pages are dropped as each tensor is copied, so one copy stays resident
};

/// "mapped" or "huge_pages" (the profile's spelling).
constexpr std::string_view host_weight_memory_name(HostWeightMemory m) {
  return m == HostWeightMemory::kHugePages ? "huge_pages" : "mapped";
}

/// The mode spelled `text`, or nullopt.
constexpr std::optional<HostWeightMemory> parse_host_weight_memory(std::string_view text) {
  if (text == "mapped") return HostWeightMemory::kMapped;
  if (text == "huge_pages") return HostWeightMemory::kHugePages;
  return std::nullopt;
}

}  // namespace mixcl::scheduler
