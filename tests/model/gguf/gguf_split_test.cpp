// Split (multi-file) models: opening the first shard loads every shard and merges the tensor tables.
#include <gtest/gtest.h>

#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"
#include "tests/model/gguf/temp_dir.h"
#include "tests/support/errors.h"

namespace mixcl::gguf::test {
namespace {

using ::mixcl::test::error_of;

// Writes a 3-shard model: shard k holds tensor "t<k>" of 4 floats equal to k + 1.
void write_shards(const TempDir& dir, int32_t total_tensors = 3, uint16_t count = 3) {
  for (uint16_t k = 0; k < 3; ++k) {
    GgufWriter w(dir / fmt::format("m-{:05}-of-{:05}.gguf", k + 1, 3));
    if (k == 0) {
      w.set("general.architecture", GgufValue::str("deepseek2"));
      w.set("deepseek2.block_count", GgufValue::u32(3));
    }
    w.set("split.no", GgufValue::u16(k));
    w.set("split.count", GgufValue::u16(count));
    w.set("split.tensors.count", GgufValue::i32(total_tensors));
    w.add_tensor(fmt::format("t{}", k), {4}, DType::F32, [k](uint64_t, uint64_t, uint8_t* dst) {
      const float v = static_cast<float>(k + 1);
      for (int i = 0; i < 4; ++i) std::memcpy(dst + 4 * i, &v, 4);
    });
    w.finish();
  }
}

TEST(GgufSplit, FirstShardLoadsAllShards) {
  TempDir dir;
  write_shards(dir);
  const GgufFile f = GgufFile::open(dir / "m-00001-of-00003.gguf");
  EXPECT_EQ(f.shard_count(), 3u);
  EXPECT_EQ(f.get_u32("block_count"), 3u);
  ASSERT_EQ(f.tensors().size(), 3u);
  for (uint32_t k = 0; k < 3; ++k) {
    const GgufTensor& t = f.tensor(fmt::format("t{}", k));
    EXPECT_EQ(t.shard, k);
    float v;
    std::memcpy(&v, t.data + 12, 4);
    EXPECT_EQ(v, static_cast<float>(k + 1));
  }
}

TEST(GgufSplit, ErrorsNameTheProblem) {
  TempDir dir;
  write_shards(dir);
  EXPECT_NE(error_of([&] { GgufFile::open(dir / "m-00002-of-00003.gguf"); }).find("open the first shard"),
            std::string::npos);
  std::filesystem::copy_file(dir / "m-00001-of-00003.gguf", dir / "renamed.gguf");
  EXPECT_NE(error_of([&] { GgufFile::open(dir / "renamed.gguf"); }).find("does not follow"), std::string::npos);
  std::filesystem::remove(dir / "m-00003-of-00003.gguf");
  EXPECT_NE(error_of([&] { GgufFile::open(dir / "m-00001-of-00003.gguf"); }).find("shard 3 of 3 is missing"),
            std::string::npos);
}

TEST(GgufSplit, TensorCountMustMatch) {
  TempDir dir;
  write_shards(dir, 5);
  EXPECT_NE(error_of([&] { GgufFile::open(dir / "m-00001-of-00003.gguf"); })
                .find("split.tensors.count is 5 but the 3 shards hold 3 tensors"),
            std::string::npos);
}

}  // namespace
}  // namespace mixcl::gguf::test
