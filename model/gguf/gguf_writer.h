#pragma once
// Streaming GGUF v3 writer: metadata and tensor infos first, then each tensor's data produced in bounded
// slabs by a caller-supplied fill function, so writing a huge model needs little memory.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/dtype.h"
#include "model/gguf/gguf_value.h"

namespace mixcl::gguf {

/// Writes rows [first_row, first_row + n_rows) of a tensor into dst (n_rows * row_bytes bytes). A row is
/// ne0 elements of the tensor's type; rows run over all higher dims in order (ne1 fastest).
using GgufFill = std::function<void(uint64_t first_row, uint64_t n_rows, uint8_t* dst)>;
/// Progress callback: bytes written so far, total bytes of the file.
using GgufProgress = std::function<void(uint64_t done, uint64_t total)>;

/// Writes one GGUF file. Nothing touches `path` until finish(); the data goes to `path`.tmp, which is
/// renamed over `path` only when complete. An unfinished or failed write removes the temp file.
class GgufWriter {
 public:
  /// `alignment` must be a power of two >= 8; when it is not 32 the writer records general.alignment.
  explicit GgufWriter(std::filesystem::path path, uint32_t alignment = 32);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  /// Sets a metadata entry; entries are written in first-insertion order, setting a key again replaces it.
  void set(const std::string& key, GgufValue value);
  /// Declares a tensor (dims ne0 first, 1..4 of them); `fill` is called in row order during finish(), in
  /// slabs of at most ~64 MiB (at least one row).
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, DType type, GgufFill fill);
  /// Declares a tensor whose bytes are already in memory (size must equal the tensor's nbytes).
  void add_tensor_bytes(const std::string& name, std::vector<uint64_t> dims, DType type,
                        std::vector<uint8_t> bytes);
  /// GGUF version to write (3 by default; 2 has the same layout and is for compatibility tests).
  void set_version(uint32_t version) { version_ = version; }
  /// Slab size limit for fill calls (tests use a small one to exercise slabbing).
  void set_slab_bytes(uint64_t bytes) { slab_bytes_ = bytes; }

  /// Writes everything to `path`.tmp, then renames it to `path`. Throws mixcl::Error on any failure
  /// (and leaves no file behind). May be called once.
  void finish(GgufProgress progress = {});

  /// Total file size the writer will produce with the entries declared so far.
  uint64_t planned_file_size() const;

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    DType type;
    uint64_t row_bytes;
    uint64_t n_rows;
    uint64_t nbytes;
    GgufFill fill;
  };
  std::vector<uint8_t> encode_header(std::vector<uint64_t>* offsets) const;
  void write_all(const std::filesystem::path& tmp, const GgufProgress& progress);

  std::filesystem::path path_;
  uint32_t alignment_;
  uint32_t version_ = 3;
  uint64_t slab_bytes_ = 64ull << 20;
  std::vector<std::pair<std::string, GgufValue>> kvs_;
  std::vector<Tensor> tensors_;
  bool finished_ = false;
};

}  // namespace mixcl::gguf
