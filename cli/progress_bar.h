#pragma once
// Load progress on stderr: a bar redrawn in place on a terminal, a few log lines otherwise; silent for loads
// too small or quick to be worth showing.
#include <chrono>
#include <cstdint>
#include <string>

namespace mixcl::cli {

/// Shows the progress of one long operation (bytes done of a total). Call update() from one thread.
class ProgressBar {
 public:
  /// `label` starts each line ("loading"); `min_total` bytes: below it nothing is shown.
  explicit ProgressBar(std::string label, uint64_t min_total = 256ull << 20);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Reports `done` of `total` bytes; redraws at most every 100 ms (terminal) or logs each quarter (pipe).
  void update(uint64_t done, uint64_t total);
  /// Ends the bar's line if one was drawn.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  uint64_t min_total_;
  bool tty_;
  bool drawn_ = false;
  int last_quarter_ = 0;
  Clock::time_point start_, last_draw_;
};

}  // namespace mixcl::cli
