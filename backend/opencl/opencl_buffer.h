#pragma once
// A logical buffer on an OpenCL device, backed by one cl_mem per chunk when it exceeds the max allocation.
#include <CL/opencl.hpp>
#include <string>
#include <vector>

#include "backend/device.h"

namespace mixcl::backend {

class OpenCLDevice;

/// Chunks of at most `max_chunk` bytes, split at multiples of the granule, charged to the device budget.
class OpenCLBuffer final : public Buffer {
 public:
  OpenCLBuffer(OpenCLDevice& device, uint64_t bytes, uint64_t granule, uint64_t max_chunk);
  ~OpenCLBuffer() override;
  OpenCLBuffer(const OpenCLBuffer&) = delete;
  OpenCLBuffer& operator=(const OpenCLBuffer&) = delete;

  uint64_t size() const override { return bytes_; }
  size_t chunk_count() const override { return chunks_.size(); }
  std::pair<uint64_t, uint64_t> chunk_range(size_t i) const override;
  /// The cl_mem of chunk i.
  const cl::Buffer& chunk(size_t i) const;
  /// The device that made this buffer.
  OpenCLDevice& owner() const { return device_; }
  /// The chunk holding all of [offset, offset + bytes); an error naming `what` when the range leaves the
  /// buffer or crosses a chunk boundary.
  size_t chunk_of(uint64_t offset, uint64_t bytes, std::string_view what) const;

 private:
  OpenCLDevice& device_;
  uint64_t bytes_;
  std::vector<cl::Buffer> chunks_;
  std::vector<uint64_t> starts_;  // byte offset of each chunk; chunk i ends where i + 1 starts
};

}  // namespace mixcl::backend
