#include "backend/host/host_buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace mixcl::backend {
namespace {
constexpr uint64_t kHugePage = 2ull << 20;
}

HostBuffer::HostBuffer(MemoryBudget& budget, uint64_t bytes) : budget_(&budget), bytes_(bytes) {
  budget_->reserve(bytes, "host buffer");
  const uint64_t align = bytes >= kHugePage ? kHugePage : 64;
  const uint64_t rounded = (std::max<uint64_t>(bytes, 1) + align - 1) / align * align;
  data_ = static_cast<uint8_t*>(std::aligned_alloc(align, rounded));
  if (!data_) {
    budget_->release(bytes);
    fail("host: allocating {} failed (the system is out of memory); lower the host budget in the profile",
         format_bytes(bytes));
  }
  if (align == kHugePage) madvise(data_, rounded, MADV_HUGEPAGE);
}

HostBuffer::HostBuffer(const void* external, uint64_t bytes)
    : budget_(nullptr), bytes_(bytes), data_(static_cast<uint8_t*>(const_cast<void*>(external))) {}

HostBuffer::~HostBuffer() {
  if (!budget_) return;  // external memory: not ours to free
  std::free(data_);
  budget_->release(bytes_);
}

uint8_t* host_ptr(View view) {
  auto* buffer = dynamic_cast<HostBuffer*>(view.buffer);
  if (!buffer) fail("host op given a buffer that does not belong to the host device");
  if (view.offset > buffer->size())
    fail("host op: offset {} is past the end of a {}-byte buffer", view.offset, buffer->size());
  return buffer->data() + view.offset;
}

}  // namespace mixcl::backend
