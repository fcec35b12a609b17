#include "tests/model/gguf/gguf_corpus.h"

#include <fmt/format.h>

#include <cstring>
#include <functional>

#include "model/gguf/gguf_encoder.h"

namespace mixcl::gguf::test {
namespace {

// One metadata entry to encode: key, declared type id, and a payload writer (so cases can lie about types).
struct KvSpec {
  std::string key;
  uint32_t type;
  std::function<void(GgufEncoder&)> payload;
};

// One tensor-info entry to encode, plus how many data bytes it owns (for laying out the data section).
struct TiSpec {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type;
  uint64_t offset;
  uint64_t nbytes;
};

struct Layout {
  uint32_t version = 3;
  std::vector<KvSpec> kvs;
  std::vector<TiSpec> tis;
  uint32_t alignment = 32;
  int64_t tensor_count = -1;  // -1: the real count
  int64_t kv_count = -1;
};

// The encoded file and where each piece starts.
struct Built {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> kv_pos, val_pos, ti_pos;
  uint64_t infos_end = 0, data_start = 0;
};

KvSpec value_kv(std::string key, const GgufValue& v) {
  return {std::move(key), static_cast<uint32_t>(v.type()), [v](GgufEncoder& e) { e.value_payload(v); }};
}

Built build(const Layout& l) {
  Built b;
  GgufEncoder e;
  e.header(l.version, l.tensor_count < 0 ? l.tis.size() : static_cast<uint64_t>(l.tensor_count),
           l.kv_count < 0 ? l.kvs.size() : static_cast<uint64_t>(l.kv_count));
  for (const auto& kv : l.kvs) {
    b.kv_pos.push_back(e.size());
    e.str(kv.key).u32(kv.type);
    b.val_pos.push_back(e.size());
    kv.payload(e);
  }
  uint64_t data_end = 0;
  for (const auto& t : l.tis) {
    b.ti_pos.push_back(e.size());
    e.tensor_info(t.name, t.dims, t.type, t.offset);
    data_end = std::max(data_end, t.offset + t.nbytes);
  }
  b.infos_end = e.size();
  e.pad_to(l.alignment);
  b.data_start = e.size();
  for (uint64_t i = 0; i < data_end; ++i) e.u8(static_cast<uint8_t>(i * 7 + 1));
  e.pad_to(l.alignment);
  b.bytes = std::move(e.bytes);
  return b;
}

// The standard valid file every damaged case starts from.
Layout standard() {
  Layout l;
  l.kvs = {
      value_kv("general.architecture", GgufValue::str("deepseek2")),
      value_kv("deepseek2.block_count", GgufValue::u32(1)),
      value_kv("tokenizer.ggml.tokens", GgufValue::string_array({"a", "bb", "ccc", "dddd"})),
      value_kv("deepseek2.expert_weights_norm", GgufValue::boolean(true)),
      value_kv("deepseek2.rope.freq_base", GgufValue::f32(10000.0f)),
  };
  l.tis = {
      {"a", {8}, 0, 0, 32},       // F32, 8 elements
      {"b", {32, 2}, 8, 32, 68},  // Q8_0, 2 rows of 34 bytes
  };
  return l;
}

std::vector<uint8_t> cut(std::vector<uint8_t> bytes, uint64_t size) {
  bytes.resize(size);
  return bytes;
}

// Byte offsets inside the standard tensor-info entry of a tensor with a 1-byte name.
constexpr uint64_t kTiNdims = 8 + 1;       // after the name
constexpr uint64_t kTiNe0 = kTiNdims + 4;  // first dimension

}  // namespace

std::vector<DamagedCase> damaged_cases() {
  std::vector<DamagedCase> cases;
  const auto add = [&](std::string name, std::vector<uint8_t> bytes, std::string expected) {
    cases.push_back({std::move(name) + ".gguf", std::move(bytes), std::move(expected)});
  };
  const Built base = build(standard());
  const auto& kp = base.kv_pos;
  const auto& vp = base.val_pos;
  const auto& tp = base.ti_pos;

  // --- header ---
  add("empty", {}, "magic at byte 0: file ends after 0 bytes");
  add("trunc_magic", cut(base.bytes, 3), "magic at byte 0: file ends after 3 bytes");
  add("trunc_version", cut(base.bytes, 6), "version at byte 4: file ends after 6 bytes");
  add("trunc_tensor_count", cut(base.bytes, 12), "tensor_count at byte 8: file ends after 12 bytes");
  add("trunc_kv_count", cut(base.bytes, 20), "kv_count at byte 16: file ends after 20 bytes");
  {
    auto b = base.bytes;
    b[2] = 'M';
    b[3] = 'L';
    add("bad_magic", b, "magic at byte 0: bytes 47 47 4d 4c are not \"GGUF\"");
  }
  {
    Layout l = standard();
    l.version = 1;
    add("version1", build(l).bytes, "version at byte 4: GGUF v1 (32-bit counts) is obsolete");
  }
  {
    Layout l = standard();
    l.version = 0x03000000u;  // what a big-endian v3 file's version reads as
    add("byteswapped", build(l).bytes, "version at byte 4: value 0x03000000 looks byte-swapped");
  }
  {
    Layout l = standard();
    l.version = 4;
    add("version4", build(l).bytes, "version at byte 4: unsupported GGUF version 4");
  }
  {
    Layout l = standard();
    l.kv_count = int64_t{1} << 40;
    add("huge_kv_count", build(l).bytes, "kv_count at byte 16: 1099511627776 metadata entries cannot fit");
  }
  {
    Layout l = standard();
    l.tensor_count = INT64_MAX;
    add("huge_tensor_count", build(l).bytes, "tensor_count at byte 8: 9223372036854775807 tensor infos cannot fit");
  }

  // --- metadata keys and values ---
  add("trunc_key_length", cut(base.bytes, kp[0] + 5), fmt::format("key of metadata entry 0 at byte {}: file ends", kp[0]));
  add("trunc_key", cut(base.bytes, kp[1] + 8 + 4),
      fmt::format("key of metadata entry 1 at byte {}: string length 21 exceeds the 4 bytes left", kp[1]));
  add("trunc_value_type", cut(base.bytes, vp[1] - 2),
      fmt::format("value type of 'deepseek2.block_count' at byte {}: file ends", vp[1] - 4));
  add("trunc_value", cut(base.bytes, vp[1] + 3),
      fmt::format("value of 'deepseek2.block_count' at byte {}: file ends after {} bytes", vp[1], vp[1] + 3));
  add("trunc_string_value", cut(base.bytes, vp[0] + 8 + 4),
      fmt::format("value of 'general.architecture' at byte {}: string length 9 exceeds the 4 bytes left", vp[0]));
  add("trunc_array_header", cut(base.bytes, vp[2] + 6),
      fmt::format("array count of 'tokenizer.ggml.tokens' at byte {}: file ends", vp[2] + 4));
  // Elements: "a" at +12, "bb" at +21, "ccc" at +31, "dddd" at +42; cut inside the last (the count check
  // passes: 4 strings need at least 32 bytes and 39 are left).
  add("trunc_array", cut(base.bytes, vp[2] + 42 + 8 + 1),
      fmt::format("element 3 of 'tokenizer.ggml.tokens' at byte {}: string length 4 exceeds the 1 bytes left",
                  vp[2] + 42));
  add("trunc_bool", cut(base.bytes, vp[3]), fmt::format("value of 'deepseek2.expert_weights_norm' at byte {}: file ends", vp[3]));
  {
    Layout l = standard();
    l.kvs[2].payload = [](GgufEncoder& e) { e.u32(8).u64(uint64_t{1} << 60); };
    add("huge_array_count", build(l).bytes,
        fmt::format("array count of 'tokenizer.ggml.tokens' at byte {}: 1152921504606846976 elements of type string "
                    "cannot fit", vp[2] + 4));
  }
  {
    Layout l = standard();
    l.kvs[0].payload = [](GgufEncoder& e) { e.u64(uint64_t{1} << 63).raw("deepseek2", 9); };
    add("huge_string_length", build(l).bytes,
        fmt::format("value of 'general.architecture' at byte {}: string length 9223372036854775808 exceeds", vp[0]));
  }
  {
    auto b = base.bytes;
    b[kp[1] + 2] = 0x01;  // third byte of the key length: 21 -> 65557
    add("bad_key_length", b, fmt::format("key of metadata entry 1 at byte {}: string length 65557 exceeds", kp[1]));
  }
  {
    Layout l = standard();
    l.kvs[1].type = 13;
    add("bad_value_type", build(l).bytes,
        fmt::format("value type of 'deepseek2.block_count' at byte {}: unknown value type id 13", vp[1] - 4));
  }
  {
    Layout l = standard();
    l.kvs[2].payload = [](GgufEncoder& e) { e.u32(99).u64(1).u8(0); };
    add("bad_array_elem_type", build(l).bytes,
        fmt::format("array element type of 'tokenizer.ggml.tokens' at byte {}: unknown element type id 99", vp[2]));
  }
  {
    Layout l = standard();
    l.kvs[3].payload = [](GgufEncoder& e) { e.u8(2); };
    add("bad_bool", build(l).bytes,
        fmt::format("value of 'deepseek2.expert_weights_norm' at byte {}: bool byte is 2, must be 0 or 1", vp[3]));
  }
  {
    Layout l = standard();
    l.kvs[3] = {"deepseek2.flags", 9, [](GgufEncoder& e) { e.u32(7).u64(3).u8(1).u8(7).u8(0); }};
    const Built b = build(l);
    add("bad_bool_array", b.bytes,
        fmt::format("element 1 of 'deepseek2.flags' at byte {}: bool byte is 7", b.val_pos[3] + 12 + 1));
  }
  {
    Layout l = standard();
    l.kvs[1].key = "";
    add("empty_key", build(l).bytes, fmt::format("key of metadata entry 1 at byte {}: key is empty", kp[1]));
  }
  {
    Layout l = standard();
    l.kvs[1].key = std::string("deepseek2.block\0count", 21);
    add("key_with_nul", build(l).bytes,
        fmt::format("key of metadata entry 1 at byte {}: key \"deepseek2.block\\x00count\" has byte 0x00 at index 15",
                    kp[1]));
  }
  {
    Layout l = standard();
    l.kvs[4] = value_kv("deepseek2.block_count", GgufValue::u32(2));
    add("duplicate_key", build(l).bytes,
        fmt::format("key of metadata entry 4 at byte {}: duplicate key 'deepseek2.block_count' (first defined at "
                    "byte {})", kp[4], kp[1]));
  }
  {
    Layout l = standard();
    l.kvs[4] = {"deepseek2.deep", 9, [](GgufEncoder& e) {
                  for (int i = 0; i < 9; ++i) e.u32(9).u64(1);
                  e.u32(4).u64(0);
                }};
    const Built b = build(l);
    add("nested_too_deep", b.bytes,
        fmt::format("array element type of 'deepseek2.deep[0][0][0][0][0][0][0]' at byte {}: arrays nested deeper "
                    "than 8 levels", b.val_pos[4] + 7 * 12));
  }
  {
    Layout l = standard();
    l.kvs[4] = {"deepseek2.nested", 9, [](GgufEncoder& e) { e.u32(9).u64(2).u32(4).u64(1).u32(7).u32(4).u64(5); }};
    const Built b = build(l);
    const uint64_t inner = b.val_pos[4] + 12 + 16;  // the second inner array
    add("trunc_nested_array", cut(b.bytes, inner + 12 + 6),
        fmt::format("array count of 'deepseek2.nested[1]' at byte {}: 5 elements of type u32 cannot fit in the 6 "
                    "bytes left", inner + 4));
  }
  {
    Layout l = standard();
    l.kvs.push_back(value_kv("general.alignment", GgufValue::u32(48)));
    const Built b = build(l);
    add("bad_alignment", b.bytes, fmt::format("general.alignment at byte {}: 48 is not a power of two", b.kv_pos[5]));
  }
  {
    Layout l = standard();
    l.kvs.push_back(value_kv("general.alignment", GgufValue::u32(0)));
    const Built b = build(l);
    add("zero_alignment", b.bytes, fmt::format("general.alignment at byte {}: 0 is not a power of two", b.kv_pos[5]));
  }
  {
    Layout l = standard();
    l.kvs.push_back(value_kv("general.alignment", GgufValue::str("32")));
    const Built b = build(l);
    add("alignment_string", b.bytes,
        fmt::format("general.alignment at byte {}: has type string \"32\", must be an unsigned integer", b.kv_pos[5]));
  }

  // --- tensor infos ---
  add("trunc_tensor_name", cut(base.bytes, tp[0] + 3),
      fmt::format("name of tensor-info 0 at byte {}: file ends", tp[0]));
  add("trunc_tensor_ndims", cut(base.bytes, tp[1] + kTiNdims + 2),
      fmt::format("n_dims of tensor 'b' at byte {}: file ends", tp[1] + kTiNdims));
  add("trunc_tensor_dims", cut(base.bytes, tp[1] + kTiNe0 + 12),
      fmt::format("ne[1] of tensor 'b' at byte {}: file ends", tp[1] + kTiNe0 + 8));
  add("trunc_tensor_type", cut(base.bytes, tp[1] + kTiNe0 + 16 + 1),
      fmt::format("type of tensor 'b' at byte {}: file ends", tp[1] + kTiNe0 + 16));
  add("trunc_tensor_offset", cut(base.bytes, tp[1] + kTiNe0 + 20 + 7),
      fmt::format("offset of tensor 'b' at byte {}: file ends", tp[1] + kTiNe0 + 20));
  {
    Layout l = standard();
    l.tis[0].name = "";
    add("empty_tensor_name", build(l).bytes, fmt::format("name of tensor-info 0 at byte {}: tensor name is empty", tp[0]));
  }
  {
    Layout l = standard();
    l.tis[1].name = std::string(1, 'a');  // a literal here trips a GCC 12 -Wrestrict false positive
    add("duplicate_tensor", build(l).bytes,
        fmt::format("name of tensor-info 1 at byte {}: duplicate tensor name 'a' (first listed at byte {})", tp[1],
                    tp[0]));
  }
  {
    Layout l = standard();
    l.tis[0].dims = {};
    add("zero_ndims", build(l).bytes, fmt::format("n_dims of tensor 'a' at byte {}: 0 is out of range 1..4", tp[0] + kTiNdims));
  }
  {
    Layout l = standard();
    l.tis[0].dims = {8, 1, 1, 1, 1};
    add("five_dims", build(l).bytes, fmt::format("n_dims of tensor 'a' at byte {}: 5 is out of range 1..4", tp[0] + kTiNdims));
  }
  {
    Layout l = standard();
    l.tis[1].dims = {32, ~uint64_t{0}};
    add("negative_dim", build(l).bytes, fmt::format("ne[1] of tensor 'b' at byte {}: -1 is negative as int64", tp[1] + kTiNe0 + 8));
  }
  {
    Layout l = standard();
    l.tis[1].dims = {32, 0};
    add("zero_dim", build(l).bytes, fmt::format("ne[1] of tensor 'b' at byte {}: dimension is 0", tp[1] + kTiNe0 + 8));
  }
  {
    Layout l = standard();
    l.tis[1].dims = {32, uint64_t{1} << 32, uint64_t{1} << 32};
    add("overflow_elements", build(l).bytes,
        fmt::format("ne[2] of tensor 'b' at byte {}: element count overflows int64", tp[1] + kTiNe0 + 16));
  }
  {
    Layout l = standard();
    l.tis[0].type = 28;  // F64: 2^62 elements fit in int64, 2^65 bytes do not
    l.tis[0].dims = {uint64_t{1} << 31, uint64_t{1} << 31};
    add("overflow_bytes", build(l).bytes,
        fmt::format("dims of tensor 'a' at byte {}: byte size overflows", tp[0] + kTiNdims));
  }
  {
    Layout l = standard();
    l.tis[0].type = 4;
    add("removed_type", build(l).bytes,
        fmt::format("type of tensor 'a' at byte {}: ggml type id 4 (Q4_2) was removed", tp[0] + kTiNe0 + 8));
  }
  {
    Layout l = standard();
    l.tis[0].type = 99;
    add("unknown_type", build(l).bytes, fmt::format("type of tensor 'a' at byte {}: unknown ggml type id 99", tp[0] + kTiNe0 + 8));
  }
  {
    Layout l = standard();
    l.tis[1].dims = {33, 2};
    add("ne0_not_block_multiple", build(l).bytes,
        fmt::format("ne[0] of tensor 'b' at byte {}: 33 is not a multiple of the 32-element Q8_0 block", tp[1] + kTiNe0));
  }
  {
    Layout l = standard();
    l.tis[1].offset = 40;
    add("misaligned_offset", build(l).bytes,
        fmt::format("offset of tensor 'b' at byte {}: 40 is not a multiple of the alignment 32", tp[1] + kTiNe0 + 20));
  }
  {
    Layout l = standard();
    l.kvs.push_back(value_kv("general.alignment", GgufValue::u32(64)));
    const Built b = build(l);  // offset 32 of tensor 'b' is fine for 32 but not for 64
    add("misaligned_for_64", b.bytes,
        fmt::format("offset of tensor 'b' at byte {}: 32 is not a multiple of the alignment 64", b.ti_pos[1] + kTiNe0 + 20));
  }
  {
    Built b = base;
    const uint64_t off_pos = tp[1] + kTiNe0 + 20;
    const uint64_t bad = uint64_t{1} << 40;
    std::memcpy(b.bytes.data() + off_pos, &bad, 8);
    add("offset_past_end", b.bytes,
        fmt::format("offset of tensor 'b' at byte {}: data offset 1099511627776 points past the end", off_pos));
  }
  {
    Built b = base;
    const uint64_t off_pos = tp[1] + kTiNe0 + 20;
    const uint64_t bad = ~uint64_t{31};  // aligned, and data_start + offset overflows u64
    std::memcpy(b.bytes.data() + off_pos, &bad, 8);
    add("offset_wraps", b.bytes, fmt::format("offset of tensor 'b' at byte {}: data offset {} points past the end",
                                             off_pos, bad));
  }
  {
    Layout l = standard();
    l.tis[1].offset = 0;
    const Built b = build(l);
    add("overlapping_data", b.bytes,
        fmt::format("data of tensor 'b' at byte {}: overlaps the data of tensor 'a'", b.data_start));
  }

  // --- padding and data ---
  add("trunc_padding", cut(base.bytes, base.infos_end + 1),
      fmt::format("padding before the data section at byte {}: file ends after {} bytes", base.infos_end,
                  base.infos_end + 1));
  add("trunc_data", cut(base.bytes, base.data_start + 32 + 40),
      fmt::format("data of tensor 'b' at byte {}: 68 bytes of data run past the end", base.data_start + 32));
  add("trunc_first_data", cut(base.bytes, base.data_start + 8),
      fmt::format("data of tensor 'a' at byte {}: 32 bytes of data run past the end", base.data_start));
  return cases;
}

std::vector<std::pair<std::string, std::vector<uint8_t>>> valid_seed_files() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  out.emplace_back("valid_standard.gguf", build(standard()).bytes);
  Layout l = standard();
  l.version = 2;
  l.kvs.push_back(value_kv("general.alignment", GgufValue::u32(64)));
  l.alignment = 64;
  l.kvs.push_back(value_kv("deepseek2.nested", GgufValue::nested_array({GgufValue::i32_array({1, -2}),
                                                                       GgufValue::f64_array({0.5})})));
  l.tis[1].offset = 64;
  out.emplace_back("valid_v2_align64.gguf", build(l).bytes);
  Layout empty;
  empty.kvs = {value_kv("general.architecture", GgufValue::str("deepseek2"))};
  out.emplace_back("valid_no_tensors.gguf", build(empty).bytes);
  return out;
}

std::string damaged_manifest(const std::vector<DamagedCase>& cases) {
  std::string out =
      "# Damaged GGUF corpus: <file>\\t<substring the reader's error must contain>. Generated by\n"
      "# tests/model/gguf/gguf_corpus.cpp (MIXCL_REGEN_GGUF_CORPUS=1 mixcl_test_model_gguf rewrites it).\n";
  for (const auto& c : cases) out += c.name + "\t" + c.expected + "\n";
  return out;
}

}  // namespace mixcl::gguf::test
