#pragma once
// Helpers of the soak test: a watchdog that fails the program instead of letting a deadlock hang it, the
// process's resident memory, the temp folder and the synthetic tiny-v3 model.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "tests/support/test_data.h"

namespace mixcl::scheduler::test {

/// Watches for progress from another thread: when progress() has not been called for `limit`, it prints what
/// was last reached and ends the process with a failure exit code (a hung test would otherwise never report).
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  /// Marks progress; `what` names the point reached (shown if the next one never comes).
  void progress(const std::string& what);

 private:
  void loop();

  std::chrono::seconds limit_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string last_ = "start";
  std::chrono::steady_clock::time_point when_ = std::chrono::steady_clock::now();
  bool stop_ = false;
  std::thread thread_;
};

/// Resident set size of this process in bytes (tests/support).
using ::mixcl::test::resident_bytes;

/// Set once by main.
void set_temp_dir(const std::string& dir);
const std::filesystem::path& temp_dir();
/// A tiny-v3 synthetic model with the default (Q4_K_M-like) types, written once per process.
const std::filesystem::path& tiny_v3_model();

}  // namespace mixcl::scheduler::test
