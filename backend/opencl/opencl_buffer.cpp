#include "backend/opencl/opencl_buffer.h"

#include <algorithm>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/opencl_device.h"

namespace mixcl::backend {

OpenCLBuffer::OpenCLBuffer(OpenCLDevice& device, uint64_t bytes, uint64_t granule, uint64_t max_chunk)
    : device_(device), bytes_(bytes) {
  if (granule == 0) granule = 1;
  if (bytes > max_chunk && granule > max_chunk)
    fail("device {}: cannot allocate {} in pieces of {} bytes: one piece is larger than the device's largest "
         "allocation ({}); use a smaller granule or another device",
         device.name(), format_bytes(bytes), granule, format_bytes(max_chunk));
  // One cl_mem when it fits; else pieces of whole granules.
  const uint64_t chunk_bytes = bytes <= max_chunk ? std::max<uint64_t>(bytes, 1) : max_chunk / granule * granule;
  device_.memory().reserve(bytes, "OpenCL buffer");
  const uint64_t count = bytes == 0 ? 1 : (bytes + chunk_bytes - 1) / chunk_bytes;
  try {
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t begin = i * chunk_bytes, end = std::min(bytes, begin + chunk_bytes);
      starts_.push_back(begin);
      // A zero-byte buffer still gets a (tiny) cl_mem so that views on it are uniform.
      const uint64_t size = std::max<uint64_t>(end - begin, 4);
      try {
        chunks_.emplace_back(device_.context(), CL_MEM_READ_WRITE, size);
      } catch (const cl::Error& e) {
        throw cl_failure(device.name(),
                         fmt::format("clCreateBuffer (chunk {} of {}, {})", i + 1, count, format_bytes(size)),
                         e.err(),
                         "the device cannot hold this buffer now; lower the device's budget in the profile or "
                         "place less on it");
      }
    }
  } catch (...) {
    device_.memory().release(bytes);
    throw;
  }
}

OpenCLBuffer::~OpenCLBuffer() { device_.memory().release(bytes_); }

std::pair<uint64_t, uint64_t> OpenCLBuffer::chunk_range(size_t i) const {
  if (i >= chunks_.size()) fail("buffer on {}: chunk {} asked of {}", device_.name(), i, chunks_.size());
  return {starts_[i], i + 1 < starts_.size() ? starts_[i + 1] : bytes_};
}

const cl::Buffer& OpenCLBuffer::chunk(size_t i) const {
  if (i >= chunks_.size()) fail("buffer on {}: chunk {} asked of {}", device_.name(), i, chunks_.size());
  return chunks_[i];
}

size_t OpenCLBuffer::chunk_of(uint64_t offset, uint64_t bytes, std::string_view what) const {
  if (offset > bytes_ || bytes > bytes_ - offset)
    fail("device {}: {}: bytes [{}, {}) are outside the {}-byte buffer", device_.name(), what, offset,
         offset + bytes, bytes_);
  // Last chunk starting at or before offset.
  const size_t i = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin()) - 1;
  const auto [begin, end] = chunk_range(i);
  if (offset + bytes > end)
    fail("device {}: {}: bytes [{}, {}) cross the boundary at byte {} between chunks {} and {} of the buffer; "
         "a view must lie inside one chunk (allocate with a granule that is a multiple of the row size)",
         device_.name(), what, offset, offset + bytes, end, i, i + 1);
  (void)begin;
  return i;
}

const cl::Buffer& cl_chunk(const Buffer& buffer, size_t i) {
  const auto* b = dynamic_cast<const OpenCLBuffer*>(&buffer);
  if (!b) fail("cl_chunk: the buffer was not made by an OpenCL device");
  return b->chunk(i);
}

}  // namespace mixcl::backend
