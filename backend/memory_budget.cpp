#include "backend/memory_budget.h"

namespace mixcl::backend {

void MemoryBudget::reserve(uint64_t bytes, std::string_view what) {
  uint64_t used = used_.load();
  do {
    if (bytes > budget_ || used > budget_ - bytes) {
      const uint64_t left = used > budget_ ? 0 : budget_ - used;
      throw OutOfBudget(fmt::format(
          "device {}: out of memory budget{}{}: asked {} ({} bytes), {} left of {} ({} in use); "
          "raise the device's budget in the profile or place less on it",
          device_, what.empty() ? "" : " for ", what, format_bytes(bytes), bytes, format_bytes(left),
          format_bytes(budget_), format_bytes(used)));
    }
  } while (!used_.compare_exchange_weak(used, used + bytes));
  uint64_t peak = peak_.load();
  while (used + bytes > peak && !peak_.compare_exchange_weak(peak, used + bytes)) {
  }
}

void MemoryBudget::release(uint64_t bytes) { used_.fetch_sub(bytes); }

uint64_t MemoryBudget::available() const {
  const uint64_t used = used_.load();
  return used >= budget_ ? 0 : budget_ - used;
}

}  // namespace mixcl::backend
