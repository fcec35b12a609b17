#pragma once
// Shared plumbing of the OpenCL ops: views resolved to (cl_mem, element offset), launch helpers and errors.
#include <CL/opencl.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/opencl_buffer.h"
#include "backend/opencl/opencl_device.h"
#include "common/error.h"

namespace mixcl::backend::clops {

/// A view resolved to the chunk that holds it.
struct ClView {
  cl::Buffer buffer;
  cl_ulong offset = 0;  // in elements of `elem` bytes from the chunk's start
};

/// The OpenCLBuffer behind a view, checked to belong to `dev`.
inline const OpenCLBuffer& own(const OpenCLDevice& dev, const Buffer* buffer, std::string_view op,
                               std::string_view arg) {
  const auto* b = dynamic_cast<const OpenCLBuffer*>(buffer);
  if (!b) fail("device {}: {}: argument '{}' is not a buffer of an OpenCL device", dev.name(), op, arg);
  if (&b->owner() != &dev)
    fail("device {}: {}: argument '{}' lives on device {}; copy it here first", dev.name(), op, arg,
         b->owner().name());
  return *b;
}

/// Resolves `bytes` bytes at view `v` (elements of `elem` bytes, the offset a multiple of it) to one chunk.
inline ClView resolve(const OpenCLDevice& dev, View v, uint64_t bytes, uint64_t elem, std::string_view op,
                      std::string_view arg) {
  const OpenCLBuffer& b = own(dev, v.buffer, op, arg);
  if (v.offset % elem != 0)
    fail("device {}: {}: argument '{}' starts at byte {}, which is not a multiple of {} (its element size)",
         dev.name(), op, arg, v.offset, elem);
  const size_t chunk = b.chunk_of(v.offset, std::max<uint64_t>(bytes, 1), fmt::format("{} argument '{}'", op, arg));
  return {b.chunk(chunk), (v.offset - b.chunk_range(chunk).first) / elem};
}

/// Float vector width for the vector shape: the device's preference, kept within 4..16.
inline int vector_width(const OpenCLDevice& dev) {
  const uint32_t w = dev.caps().preferred_vector_width.float_w;
  return w >= 16 ? 16 : w >= 8 ? 8 : 4;
}

/// Largest power of two <= min(want, the kernel's and the device's work-group limits).
inline size_t local_size(const OpenCLDevice& dev, const cl::Kernel& k, size_t want) {
  size_t v = std::min(want, dev.caps().max_work_group_size);
  v = std::min(v, k.getWorkGroupInfo<CL_KERNEL_WORK_GROUP_SIZE>(dev.cl_device()));
  return std::bit_floor(std::max<size_t>(v, 1));
}

/// Rounds n up to a multiple of m.
inline uint64_t round_up(uint64_t n, uint64_t m) { return (n + m - 1) / m * m; }

/// Enqueues a 1-D kernel on the compute queue, turning OpenCL errors into mixcl errors naming the op.
inline void launch(OpenCLDevice& dev, cl::Kernel& k, uint64_t global, uint64_t local, std::string_view op) {
  if (global == 0) return;
  try {
    dev.compute_queue().enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(global),
                                             local ? cl::NDRange(local) : cl::NullRange);
  } catch (const cl::Error& e) {
    throw cl_failure(dev.name(), fmt::format("{} (clEnqueueNDRangeKernel, {} items)", op, global), e.err());
  }
}

/// Sets kernel arguments in order.
template <class... Args>
void set_args(cl::Kernel& k, const Args&... args) {
  cl_uint i = 0;
  (k.setArg(i++, args), ...);
}

}  // namespace mixcl::backend::clops
