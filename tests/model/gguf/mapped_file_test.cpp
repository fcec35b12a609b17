// MappedFile::release_pages: dropped pages leave the process's resident memory, their bytes stay readable,
// and in-memory images (which have no file behind them) are left alone.
#include <gtest/gtest.h>

#include <fstream>

#include "model/gguf/mapped_file.h"
#include "temp_dir.h"
#include "tests/support/test_data.h"

namespace mixcl::gguf::test {
namespace {

using ::mixcl::test::random_bytes;
using ::mixcl::test::resident_bytes;

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
