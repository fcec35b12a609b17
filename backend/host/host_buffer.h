#pragma once
// Host memory for the native device: 64-byte aligned, huge-page advised when large.
#include <cstdint>

#include "backend/device.h"

namespace mixcl::backend {

/// One aligned host allocation, charged to the host device's budget while it lives.
class HostBuffer final : public Buffer {
 public:
  HostBuffer(MemoryBudget& budget, uint64_t bytes);
  /// Wraps `bytes` of memory owned elsewhere (e.g. a memory-mapped GGUF) without copying or charging a
  /// budget; the memory must outlive the buffer and, being read-only, may only be used as op input.
  HostBuffer(const void* external, uint64_t bytes);
  ~HostBuffer() override;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  uint64_t size() const override { return bytes_; }
  size_t chunk_count() const override { return 1; }
  std::pair<uint64_t, uint64_t> chunk_range(size_t) const override { return {0, bytes_}; }
  uint8_t* data() const { return data_; }
  /// True for a wrapper made by the external-memory constructor.
  bool external() const { return budget_ == nullptr; }

 private:
  MemoryBudget* budget_;  // null for external memory
  uint64_t bytes_;
  uint8_t* data_ = nullptr;
};

/// The host address of a view on a HostBuffer (throws for other buffer kinds).
uint8_t* host_ptr(View view);
/// Same, typed.
template <class T>
T* host_ptr_as(View view) {
  return reinterpret_cast<T*>(host_ptr(view));
}

}  // namespace mixcl::backend
