// Writer -> reader round trips: every value type, several tensor types, alignments, versions, slabbing.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "common/error.h"
#include "model/gguf/gguf_encoder.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"
#include "tests/model/gguf/temp_dir.h"
#include "tests/support/test_data.h"

namespace mixcl::gguf::test {
namespace {

using ::mixcl::test::random_bytes;

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every value type, arrays of every element type, empty and nested arrays.
std::vector<std::pair<std::string, GgufValue>> all_values() {
  return {
      {"general.architecture", GgufValue::str("deepseek2")},
      {"t.u8", GgufValue::u8(250)},
      {"t.i8", GgufValue::i8(-120)},
      {"t.u16", GgufValue::u16(65000)},
      {"t.i16", GgufValue::i16(-32000)},
      {"t.u32", GgufValue::u32(4000000000u)},
      {"t.i32", GgufValue::i32(-2000000000)},
      {"t.f32", GgufValue::f32(1e-6f)},
      {"t.bool", GgufValue::boolean(true)},
      {"t.bool_false", GgufValue::boolean(false)},
      {"t.string", GgufValue::str("héllo \"world\"\n")},
      {"t.empty_string", GgufValue::str("")},
      {"t.u64", GgufValue::u64(18000000000000000000ull)},
      {"t.i64", GgufValue::i64(-9000000000000000000ll)},
      {"t.f64", GgufValue::f64(3.141592653589793)},
      {"t.a_u8", GgufValue::u8_array({0, 1, 255})},
      {"t.a_i8", GgufValue::i8_array({-128, 0, 127})},
      {"t.a_u16", GgufValue::u16_array({1, 65535})},
      {"t.a_i16", GgufValue::i16_array({-32768, 32767})},
      {"t.a_u32", GgufValue::u32_array({7, 4294967295u})},
      {"t.a_i32", GgufValue::i32_array({1, -1, 2, -2, 3})},
      {"t.a_f32", GgufValue::f32_array({0.5f, -1.25f, 3e38f})},
      {"t.a_bool", GgufValue::bool_array({true, false, true})},
      {"t.a_string", GgufValue::string_array({"a", "", "Ġthe", std::string("nul\0in", 6)})},
      {"t.a_u64", GgufValue::u64_array({0, ~uint64_t{0}})},
      {"t.a_i64", GgufValue::i64_array({INT64_MIN, INT64_MAX})},
      {"t.a_f64", GgufValue::f64_array({1e300, -0.0})},
      {"t.a_empty", GgufValue::empty_array(GgufType::F32)},
      {"t.a_empty_strings", GgufValue::string_array({})},
      {"t.a_nested", GgufValue::nested_array({GgufValue::i32_array({1, 2}), GgufValue::string_array({"x"}),
                                              GgufValue::nested_array({GgufValue::u8_array({9})})})},
  };
}

struct TensorCase {
  std::string name;
  std::vector<uint64_t> dims;
  DType type;
};

const std::vector<TensorCase> kTensors = {
    {"token_embd.weight", {5, 3}, DType::F32},   {"blk.0.attn_norm.weight", {7}, DType::F16},
    {"blk.0.attn_q.weight", {64, 3}, DType::Q8_0}, {"blk.0.ffn_up_exps.weight", {256, 2, 3}, DType::Q4_K},
    {"blk.0.ids", {3}, DType::I32},              {"blk.0.bf", {2, 3, 2, 2}, DType::BF16},
    {"blk.0.mx", {96, 1, 1}, DType::MXFP4},      {"blk.0.iq", {32, 5}, DType::IQ4_NL},
};

uint64_t tensor_bytes(const TensorCase& t) {
  uint64_t rows = 1;
  for (size_t i = 1; i < t.dims.size(); ++i) rows *= t.dims[i];
  return row_bytes(t.type, t.dims[0]) * rows;
}

class RoundTrip : public ::testing::TestWithParam<std::tuple<uint32_t, uint32_t>> {};

TEST_P(RoundTrip, EveryValueTypeAndTensorBytes) {
  const auto [alignment, version] = GetParam();
  TempDir dir;
  const auto path = dir / "m.gguf";
  std::vector<std::vector<uint8_t>> data;
  {
    GgufWriter w(path, alignment);
    w.set_version(version);
    for (auto& [k, v] : all_values()) w.set(k, v);
    for (size_t i = 0; i < kTensors.size(); ++i) {
      data.push_back(random_bytes(tensor_bytes(kTensors[i]), static_cast<uint32_t>(i + 1)));
      w.add_tensor_bytes(kTensors[i].name, kTensors[i].dims, kTensors[i].type, data.back());
    }
    w.finish();
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.version(), version);
  EXPECT_EQ(f.alignment(), alignment);
  EXPECT_EQ(f.architecture(), "deepseek2");
  const auto expected = all_values();
  const size_t extra = alignment == 32 ? 0 : 1;  // the writer records general.alignment when not 32
  ASSERT_EQ(f.kvs().size(), expected.size() + extra);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(f.kvs()[i].key, expected[i].first);
    EXPECT_EQ(f.kvs()[i].value, expected[i].second) << expected[i].first << ": " << f.kvs()[i].value.summary();
    EXPECT_EQ(f.kvs()[i].value.type(), expected[i].second.type()) << expected[i].first;
  }
  if (extra) {
    EXPECT_EQ(f.get_u32("general.alignment"), alignment);
  }
  ASSERT_EQ(f.tensors().size(), kTensors.size());
  const uint8_t* base = f.tensors()[0].data - f.tensors()[0].file_offset;
  uint64_t expected_offset = f.tensors()[0].file_offset;
  for (size_t i = 0; i < kTensors.size(); ++i) {
    const GgufTensor& t = f.tensor(kTensors[i].name);
    EXPECT_EQ(t.name, kTensors[i].name);
    EXPECT_EQ(std::vector<uint64_t>(t.dims().begin(), t.dims().end()), kTensors[i].dims);
    EXPECT_EQ(t.type, kTensors[i].type);
    ASSERT_EQ(t.nbytes, data[i].size());
    EXPECT_EQ(std::memcmp(t.data, data[i].data(), t.nbytes), 0) << t.name;
    EXPECT_EQ(t.file_offset % alignment, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % alignment, 0u) << "mmap keeps the data aligned";
    EXPECT_EQ(t.data, base + t.file_offset);
    EXPECT_EQ(t.file_offset, expected_offset) << "tensors are packed in order, each padded to the alignment";
    expected_offset += (t.nbytes + alignment - 1) / alignment * alignment;
  }
  EXPECT_EQ(expected_offset, f.file_size());
}

INSTANTIATE_TEST_SUITE_P(AlignmentsAndVersions, RoundTrip,
                         ::testing::Values(std::tuple{32u, 3u}, std::tuple{8u, 3u}, std::tuple{64u, 3u},
                                           std::tuple{4096u, 3u}, std::tuple{32u, 2u}, std::tuple{64u, 2u}));

// The exact bytes of a tiny file, written out by hand from gguf.md, so the writer is checked against the spec
// and not only against the reader.
TEST(GgufWriter, BytesMatchTheSpecByHand) {
  TempDir dir;
  const auto path = dir / "tiny.gguf";
  GgufWriter w(path);
  w.set("k", GgufValue::u32(0x01020304));
  w.add_tensor_bytes("t", {2}, DType::F32, {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40});
  w.finish();
  std::vector<uint8_t> want = {
      'G', 'G', 'U', 'F', 3, 0, 0, 0,                    // magic, version 3
      1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,    // tensor_count 1, kv_count 1
      1, 0, 0, 0, 0, 0, 0, 0, 'k', 4, 0, 0, 0,           // key "k", type u32
      0x04, 0x03, 0x02, 0x01,                            // value
      1, 0, 0, 0, 0, 0, 0, 0, 't', 1, 0, 0, 0,           // name "t", n_dims 1
      2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                // ne0 = 2, type F32
      0, 0, 0, 0, 0, 0, 0, 0,                            // offset 0
  };
  want.resize(96, 0);  // 74 header bytes padded to 96
  for (uint8_t b : {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40}) want.push_back(b);
  want.resize(128, 0);  // the tensor padded to the alignment
  EXPECT_EQ(read_all(path), want);
}

TEST(GgufWriter, FillIsCalledInOrderInBoundedSlabs) {
  TempDir dir;
  const auto path = dir / "slabs.gguf";
  GgufWriter w(path);
  w.set_slab_bytes(120);  // Q8_0 rows of 64 elements are 68 bytes: one per slab; F32 rows of 12: ten per slab
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  const uint64_t row = row_bytes(DType::Q8_0, 64);
  w.add_tensor("q", {64, 3, 2}, DType::Q8_0, [&](uint64_t first, uint64_t n, uint8_t* dst) {
    calls.emplace_back(first, n);
    for (uint64_t i = 0; i < n * row; ++i) dst[i] = static_cast<uint8_t>((first * row + i) % 251);
  });
  w.add_tensor("f", {3, 25}, DType::F32, [&](uint64_t first, uint64_t n, uint8_t* dst) {
    calls.emplace_back(first, n);
    std::memset(dst, static_cast<int>(first), n * 12);
  });
  uint64_t last_done = 0;
  w.finish([&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    EXPECT_LE(done, total);
    last_done = done;
  });
  const std::vector<std::pair<uint64_t, uint64_t>> want = {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1},
                                                          {0, 10}, {10, 10}, {20, 5}};
  EXPECT_EQ(calls, want);
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(last_done, f.file_size());
  const GgufTensor& q = f.tensor("q");
  for (uint64_t i = 0; i < q.nbytes; ++i) ASSERT_EQ(q.data[i], i % 251) << i;
  const GgufTensor& t = f.tensor("f");
  for (uint64_t r = 0; r < 25; ++r) EXPECT_EQ(t.data[r * 12], (r / 10) * 10) << r;
}

TEST(GgufWriter, FailedFillLeavesNoFileAndKeepsTheOldOne) {
  TempDir dir;
  const auto path = dir / "m.gguf";
  { std::ofstream(path) << "old contents"; }
  {
    GgufWriter w(path);
    w.add_tensor("a", {4}, DType::F32, [](uint64_t, uint64_t, uint8_t*) {});
    w.add_tensor("b", {4}, DType::F32, [](uint64_t, uint64_t, uint8_t*) { throw Error("fill failed"); });
    EXPECT_THROW(w.finish(), Error);
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  }
  EXPECT_EQ(read_all(path), std::vector<uint8_t>({'o', 'l', 'd', ' ', 'c', 'o', 'n', 't', 'e', 'n', 't', 's'}));
  const auto other = dir / "never.gguf";
  {
    GgufWriter w(other);
    w.add_tensor("a", {4}, DType::F32, [](uint64_t, uint64_t, uint8_t*) { throw std::runtime_error("boom"); });
    EXPECT_THROW(w.finish(), std::runtime_error);
  }
  EXPECT_FALSE(std::filesystem::exists(other));
  EXPECT_FALSE(std::filesystem::exists(other.string() + ".tmp"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "only the old m.gguf";
}

TEST(GgufWriter, RejectsBadDeclarations) {
  TempDir dir;
  EXPECT_THROW(GgufWriter(dir / "x.gguf", 48), Error);
  EXPECT_THROW(GgufWriter(dir / "x.gguf", 4), Error);
  GgufWriter w(dir / "x.gguf");
  const auto nop = [](uint64_t, uint64_t, uint8_t*) {};
  w.add_tensor("a", {32}, DType::Q8_0, nop);
  EXPECT_THROW(w.add_tensor("a", {32}, DType::Q8_0, nop), Error);        // duplicate
  EXPECT_THROW(w.add_tensor("b", {33}, DType::Q8_0, nop), Error);        // ne0 not a block multiple
  EXPECT_THROW(w.add_tensor("c", {}, DType::F32, nop), Error);           // no dims
  EXPECT_THROW(w.add_tensor("d", {1, 1, 1, 1, 1}, DType::F32, nop), Error);
  EXPECT_THROW(w.add_tensor("e", {4, 0}, DType::F32, nop), Error);
  EXPECT_THROW(w.add_tensor("f", {4}, static_cast<DType>(4), nop), Error);  // removed type id
  EXPECT_THROW(w.add_tensor("", {4}, DType::F32, nop), Error);
  EXPECT_THROW(w.add_tensor_bytes("g", {4}, DType::F32, std::vector<uint8_t>(15)), Error);
  EXPECT_THROW(w.set("", GgufValue::u32(1)), Error);
  EXPECT_THROW(w.set("general.alignment", GgufValue::u32(64)), Error);  // disagrees with the writer's 32
  w.set("general.alignment", GgufValue::u32(32));
}

TEST(GgufFile, TypedAccessorsResolveArchitectureKeys) {
  TempDir dir;
  const auto path = dir / "m.gguf";
  GgufWriter w(path);
  w.set("general.architecture", GgufValue::str("deepseek2"));
  w.set("deepseek2.block_count", GgufValue::u8(27));
  w.set("deepseek2.context_length", GgufValue::u64(163840));
  w.set("deepseek2.expert_count", GgufValue::i32(64));
  w.set("deepseek2.too_big", GgufValue::u64(uint64_t{1} << 33));
  w.set("deepseek2.negative", GgufValue::i16(-3));
  w.set("deepseek2.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-6f));
  w.set("deepseek2.expert_weights_norm", GgufValue::boolean(true));
  w.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
  w.finish();
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.resolve_key("block_count"), "deepseek2.block_count");
  EXPECT_EQ(f.resolve_key("deepseek2.block_count"), "deepseek2.block_count");
  EXPECT_EQ(f.resolve_key("tokenizer.ggml.model"), "tokenizer.ggml.model");
  EXPECT_EQ(f.get_u32("block_count"), 27u);
  EXPECT_EQ(f.get_u32("context_length"), 163840u);
  EXPECT_EQ(f.get_u32("expert_count"), 64u);
  EXPECT_EQ(f.get_u64("too_big"), uint64_t{1} << 33);
  EXPECT_EQ(f.get_i64("negative"), -3);
  EXPECT_FLOAT_EQ(f.get_f32("attention.layer_norm_rms_epsilon"), 1e-6f);
  EXPECT_FLOAT_EQ(f.get_f32("expert_count"), 64.0f);  // integers are accepted as numbers
  EXPECT_TRUE(f.get_bool("expert_weights_norm"));
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_u32("leading_dense_block_count", 0), 0u);
  EXPECT_FLOAT_EQ(f.get_f32("rope.freq_base", 10000.0f), 10000.0f);
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre", "default"), "default");
  const auto message = [&](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { f.get_u32("too_big"); }).find("'deepseek2.too_big'"), std::string::npos);
  EXPECT_NE(message([&] { f.get_u32("negative"); }).find("'deepseek2.negative'"), std::string::npos);
  EXPECT_NE(message([&] { f.get_u32("head_count"); }).find("'deepseek2.head_count' is missing"), std::string::npos);
  EXPECT_NE(message([&] { f.get_string("block_count"); }).find("expected a string"), std::string::npos);
  EXPECT_NE(message([&] { f.get_bool("block_count"); }).find(path.string()), std::string::npos);
  EXPECT_NE(message([&] { f.tensor("nope"); }).find("tensor 'nope' is not in the file"), std::string::npos);
  EXPECT_FALSE(f.find_tensor("nope").has_value());
}

// A tolerant reader needs only aligned, in-bounds, non-overlapping offsets: gaps and a reversed order are fine.
TEST(GgufFile, AcceptsGapsAndAnyTensorOrder) {
  GgufEncoder e;
  e.header(3, 2, 1).kv("general.architecture", GgufValue::str("deepseek2"));
  e.tensor_info("late", {8}, 0, 96).tensor_info("early", {4}, 0, 0).pad_to(32);
  const size_t data_start = e.size();
  e.bytes.resize(data_start + 128, 0xAB);
  e.bytes[data_start] = 1;
  e.bytes[data_start + 96] = 2;
  const GgufFile f = GgufFile::from_bytes(e.bytes, "gap.gguf");
  EXPECT_EQ(f.tensor("early").data[0], 1);
  EXPECT_EQ(f.tensor("late").data[0], 2);
  EXPECT_EQ(f.tensor("late").file_offset, data_start + 96);
}

TEST(GgufFile, NoTensorsNeedsNoPadding) {
  GgufEncoder e;
  e.header(3, 0, 1).kv("general.architecture", GgufValue::str("x"));
  const GgufFile f = GgufFile::from_bytes(e.bytes);
  EXPECT_EQ(f.architecture(), "x");
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.get_string("general.architecture"), "x");
}

TEST(GgufFile, MissingFileNamesThePath) {
  try {
    GgufFile::open("/nonexistent/dir/model.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.gguf"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mixcl::gguf::test
