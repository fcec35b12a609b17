#pragma once
// Bytes in use on one device, checked against its budget.
#include <atomic>
#include <cstdint>
#include <string>

#include "common/error.h"

namespace mixcl::backend {

/// Raised when an allocation would exceed a device's budget.
class OutOfBudget : public Error {
 public:
  using Error::Error;
};

/// Counts bytes charged to a device; reserve() refuses what would exceed the budget.
class MemoryBudget {
 public:
  MemoryBudget(std::string device_name, uint64_t budget) : device_(std::move(device_name)), budget_(budget) {}
  /// Charges `bytes`, or throws OutOfBudget naming the device, the bytes asked and the bytes left.
  void reserve(uint64_t bytes, std::string_view what = {});
  /// Returns `bytes` charged earlier.
  void release(uint64_t bytes);
  uint64_t budget() const { return budget_; }
  void set_budget(uint64_t budget) { budget_ = budget; }
  uint64_t used() const { return used_.load(); }
  uint64_t peak() const { return peak_.load(); }
  uint64_t available() const;

 private:
  std::string device_;
  uint64_t budget_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> peak_{0};
};

}  // namespace mixcl::backend
