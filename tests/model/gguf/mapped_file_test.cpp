// MappedFile::release_pages: dropped pages leave the process's resident memory, their bytes stay readable,
// and in-memory images (which have no file behind them) are left alone.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>

#include "model/gguf/mapped_file.h"
#include "temp_dir.h"

namespace mixcl::gguf::test {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Resident bytes of this process (file-backed pages included), from /proc/self/status.
uint64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

uint64_t checksum(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i) s = s * 31 + p[i];
  return s;
}

TEST(MappedFile, ReleasedPagesLeaveMemoryAndStayReadable) {
  TempDir dir;
  const size_t n = 48u << 20;
  const auto bytes = random_bytes(n, 5);
  std::ofstream(dir / "w.bin", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), n);
  const MappedFile f = MappedFile::open(dir / "w.bin");
  ASSERT_EQ(f.size(), n);
  const uint64_t want = checksum(bytes.data(), n);
  EXPECT_EQ(checksum(f.data(), n), want);  // touches every page
  const uint64_t touched = resident_bytes();
  f.release_pages(f.data() + 1, n - 1);  // an unaligned start: the partial first page stays
  const uint64_t released = resident_bytes();
  EXPECT_GT(touched, released + (40u << 20)) << "about 48 MiB of mapped pages should have left";
  EXPECT_EQ(checksum(f.data(), n), want) << "released pages fault back in from the file";
  // Ranges outside the mapping are ignored.
  f.release_pages(bytes.data(), n);
  EXPECT_EQ(checksum(bytes.data(), n), want);
}

TEST(MappedFile, InMemoryImagesAreNotReleased) {
  const auto bytes = random_bytes(1u << 20, 9);
  const MappedFile f = MappedFile::from_bytes(bytes);
  f.release_pages(f.data(), f.size());
  EXPECT_EQ(checksum(f.data(), f.size()), checksum(bytes.data(), bytes.size()));
}

}  // namespace
}  // namespace mixcl::gguf::test
