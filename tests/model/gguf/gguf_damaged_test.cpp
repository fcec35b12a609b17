// The checked-in damaged-file corpus: every file must be rejected with its expected message (field and byte
// offset) and the file name; the checked-in files must match the generator. MIXCL_REGEN_GGUF_CORPUS=1
// rewrites tests/data/gguf_damaged/ and fuzz/seeds/gguf/ from the generator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "tests/model/gguf/gguf_corpus.h"
#include "tests/support/errors.h"

namespace mixcl::gguf::test {
namespace {

using ::mixcl::test::error_of;

const std::filesystem::path kCorpusDir = std::filesystem::path(MIXCL_TEST_DATA_DIR) / "gguf_damaged";
const std::filesystem::path kSeedDir = std::filesystem::path(MIXCL_SOURCE_DIR) / "fuzz" / "seeds" / "gguf";

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << p;
}

// The manifest on disk: file name -> expected substring.
std::vector<std::pair<std::string, std::string>> read_manifest() {
  std::ifstream in(kCorpusDir / "expected_errors.txt");
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}

TEST(GgufDamagedCorpus, CheckedInFilesMatchTheGenerator) {
  const auto cases = damaged_cases();
  const auto seeds = valid_seed_files();
  if (const char* regen = std::getenv("MIXCL_REGEN_GGUF_CORPUS"); regen && std::string(regen) == "1") {
    std::filesystem::remove_all(kCorpusDir);
    std::filesystem::create_directories(kCorpusDir);
    for (const auto& c : cases) write_all(kCorpusDir / c.name, c.bytes);
    std::ofstream(kCorpusDir / "expected_errors.txt") << damaged_manifest(cases);
    std::filesystem::create_directories(kSeedDir);
    for (const auto& [name, bytes] : seeds) write_all(kSeedDir / name, bytes);
  }
  std::set<std::string> names;
  for (const auto& c : cases) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    EXPECT_EQ(read_all(kCorpusDir / c.name), c.bytes)
        << c.name << " differs from the generator; run MIXCL_REGEN_GGUF_CORPUS=1 mixcl_test_model_gguf";
  }
  std::ifstream manifest(kCorpusDir / "expected_errors.txt");
  std::stringstream text;
  text << manifest.rdbuf();
  EXPECT_EQ(text.str(), damaged_manifest(cases));
  for (const auto& entry : std::filesystem::directory_iterator(kCorpusDir)) {
    const std::string name = entry.path().filename().string();
    if (name != "expected_errors.txt") {
      EXPECT_TRUE(names.count(name)) << "stray corpus file " << name;
    }
  }
  for (const auto& [name, bytes] : seeds) EXPECT_EQ(read_all(kSeedDir / name), bytes) << name;
  EXPECT_GE(cases.size(), 40u);
}

TEST(GgufDamagedCorpus, EveryFileIsRejectedWithFieldAndOffset) {
  const auto manifest = read_manifest();
  ASSERT_GE(manifest.size(), 40u);
  for (const auto& [name, expected] : manifest) {
    const auto path = kCorpusDir / name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    const std::string msg = error_of([&] { GgufFile::open(path); });
    EXPECT_NE(msg.find(expected), std::string::npos) << name << "\n  got:  " << msg << "\n  want: " << expected;
    EXPECT_EQ(msg.rfind(path.string() + ": ", 0), 0u) << "message must start with the file name: " << msg;
    EXPECT_NE(msg.find(" at byte "), std::string::npos) << msg;
    // The same bytes parsed in memory give the same message under the given name.
    const std::string mem = error_of([&] { GgufFile::from_bytes(read_all(path), name); });
    EXPECT_NE(mem.find(expected), std::string::npos) << name << ": " << mem;
  }
}

// Every prefix of a valid file is a truncated file: each must fail cleanly (never crash, never read past).
TEST(GgufDamagedCorpus, EveryTruncationOfAValidFileFailsCleanly) {
  for (const auto& [name, bytes] : valid_seed_files()) {
    const GgufContents full = parse_gguf(bytes, name);
    uint64_t data_end = 0;
    for (const auto& t : full.tensors) data_end = std::max(data_end, full.data_start + t.offset + t.nbytes);
    bool seen_accepted = false;
    for (size_t n = 0; n < bytes.size(); ++n) {
      std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      bool accepted = false;
      const std::string msg = error_of([&] {
        GgufFile::from_bytes(prefix, name);
        accepted = true;
      });
      // Only a cut after the last tensor's data (inside the final padding) may still be valid; a file without
      // tensors stays valid from the end of its metadata on.
      if (!full.tensors.empty()) {
        EXPECT_EQ(accepted, n >= data_end) << name << " cut at " << n << ": " << msg;
      }
      if (seen_accepted) {
        EXPECT_TRUE(accepted) << name << " cut at " << n << ": " << msg;
      }
      seen_accepted = seen_accepted || accepted;
      if (accepted) continue;
      EXPECT_NE(msg.find(" at byte "), std::string::npos) << name << " cut at " << n << ": " << msg;
    }
  }
}

}  // namespace
}  // namespace mixcl::gguf::test
