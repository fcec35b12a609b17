#pragma once
// A GGUF model opened for use: memory-mapped shards, validated headers, typed metadata accessors and
// tensor views pointing straight into the mapping.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/dtype.h"
#include "model/gguf/gguf_parse.h"
#include "model/gguf/gguf_value.h"
#include "model/gguf/mapped_file.h"

namespace mixcl::gguf {

/// A tensor's metadata and its bytes inside the mapping (valid while the GgufFile lives).
struct GgufTensor {
  std::string_view name;
  uint32_t n_dims = 0;
  std::array<uint64_t, 4> ne{1, 1, 1, 1};  // ne0 first; trailing dims are 1
  DType type = DType::F32;
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  uint64_t n_elements = 0;
  uint64_t file_offset = 0;  // absolute byte offset of the data in its shard file
  uint32_t shard = 0;        // index of the shard file holding the data
  /// The declared dims (n_dims entries), ne0 first.
  std::span<const uint64_t> dims() const { return {ne.data(), n_dims}; }
  /// Bytes of one ne0-long row.
  uint64_t row_bytes() const { return nbytes / (n_elements / ne[0]); }
};

/// One opened GGUF model (one file, or all shards of a split model). Move-only.
class GgufFile {
 public:
  /// Opens and validates `path`. If it is the first shard of a split model (split.count > 1), the other
  /// shards (<name>-0000K-of-0000N.gguf next to it) are opened too and their tensors merged.
  static GgufFile open(const std::filesystem::path& path);
  /// Parses an in-memory image; `name` stands in for the path in error messages.
  static GgufFile from_bytes(std::vector<uint8_t> bytes, std::string name = "<memory>");

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;

  /// Path (or name) of the first shard.
  const std::string& path() const { return shards_.front().path; }
  uint32_t version() const { return shards_.front().contents.version; }
  uint32_t alignment() const { return shards_.front().contents.alignment; }
  size_t shard_count() const { return shards_.size(); }
  /// Total bytes of all shard files.
  uint64_t file_size() const;

  /// general.architecture, or "" when absent.
  const std::string& architecture() const { return architecture_; }
  /// Metadata of the first shard, in file order.
  const std::vector<GgufKv>& kvs() const { return shards_.front().contents.kvs; }

  /// The full key for `key`: used as is when its first segment is general, tokenizer, split, adapter,
  /// quantize, imatrix or the architecture itself; otherwise "<arch>." is prepended.
  std::string resolve_key(std::string_view key) const;
  /// The value of `key` (resolved as above), or nullptr.
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed accessors. Without a default a missing key throws; with one the default is returned. Integers
  // are accepted in any width but must fit the requested type; a wrong type throws naming the key.
  uint32_t get_u32(std::string_view key) const;
  uint32_t get_u32(std::string_view key, uint32_t def) const;
  uint64_t get_u64(std::string_view key) const;
  uint64_t get_u64(std::string_view key, uint64_t def) const;
  int64_t get_i64(std::string_view key) const;
  int64_t get_i64(std::string_view key, int64_t def) const;
  float get_f32(std::string_view key) const;
  float get_f32(std::string_view key, float def) const;
  bool get_bool(std::string_view key) const;
  bool get_bool(std::string_view key, bool def) const;
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, std::string def) const;
  /// The value of a required key (throws naming the file and key when absent).
  const GgufValue& get(std::string_view key) const;

  /// All tensors, shard by shard, in file order.
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  /// The tensor called `name`, or nullopt.
  std::optional<GgufTensor> find_tensor(std::string_view name) const;
  /// The tensor called `name`; throws naming the file when absent.
  const GgufTensor& tensor(std::string_view name) const;
  /// Drops the mapped pages of bytes [p, p + n) of a shard from memory (see MappedFile::release_pages).
  void release_pages(const void* p, uint64_t n) const;

 private:
  struct Shard {
    std::string path;
    MappedFile map;
    GgufContents contents;
  };
  GgufFile() = default;
  void add_shard(std::string path, MappedFile map);
  void finish_setup();
  void load_other_shards(const std::filesystem::path& first);
  template <class T, class F>
  T typed(std::string_view key, std::string_view wanted, F convert) const;

  std::vector<Shard> shards_;
  std::string architecture_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

}  // namespace mixcl::gguf
