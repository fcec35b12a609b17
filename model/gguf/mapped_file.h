#pragma once
// A read-only memory mapping of a whole file (or an owned in-memory buffer behind the same interface).
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace mixcl::gguf {

/// Read-only bytes of one file: mmap-ed from disk, or a buffer handed over by the caller. Move-only.
class MappedFile {
 public:
  MappedFile() = default;
  /// Maps `path` read-only; throws mixcl::Error naming the path if it cannot be opened or mapped.
  static MappedFile open(const std::filesystem::path& path);
  /// Wraps an in-memory image (for parsing bytes without a file).
  static MappedFile from_bytes(std::vector<uint8_t> bytes);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  /// Drops the whole pages inside [p, p + n) from this process's memory when the bytes come from the file
  /// mapping (a no-op for in-memory images and for ranges outside): they stay readable, a later read faults
  /// them back in from the file. For weights copied elsewhere, so that the copy is the only one resident.
  void release_pages(const void* p, uint64_t n) const;

 private:
  void release();
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  void* map_ = nullptr;  // non-null when data_ comes from mmap
  std::vector<uint8_t> owned_;
};

}  // namespace mixcl::gguf
