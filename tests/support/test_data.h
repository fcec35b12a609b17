#pragma once
// Small helpers shared by test programs: seeded random bytes and this process's resident memory.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mixcl::test {

/// `n` pseudo-random bytes from a fixed seed (std::mt19937).
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed);

/// Resident set size of this process in bytes, file-backed pages included (/proc/self/statm).
uint64_t resident_bytes();

}  // namespace mixcl::test
