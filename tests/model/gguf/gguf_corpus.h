#pragma once
// Generator of the damaged-GGUF corpus (tests/data/gguf_damaged/) and of small valid seed files: each case
// is assembled byte by byte and knows the error message (field and byte offset) the reader must give.
#include <cstdint>
#include <string>
#include <vector>

namespace mixcl::gguf::test {

/// One damaged file: its name in the corpus, its bytes and a substring the reader's error must contain.
struct DamagedCase {
  std::string name;
  std::vector<uint8_t> bytes;
  std::string expected;
};

/// Every damaged case, in a stable order.
std::vector<DamagedCase> damaged_cases();

/// Small valid files (fuzzing seeds and parse checks): {name, bytes}.
std::vector<std::pair<std::string, std::vector<uint8_t>>> valid_seed_files();

/// The manifest text: one "name<TAB>expected substring" line per case.
std::string damaged_manifest(const std::vector<DamagedCase>& cases);

}  // namespace mixcl::gguf::test
