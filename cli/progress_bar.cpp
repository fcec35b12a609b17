#include "cli/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace mixcl::cli {

ProgressBar::ProgressBar(std::string label, uint64_t min_total)
    : label_(std::move(label)), min_total_(min_total), tty_(isatty(fileno(stderr)) != 0), start_(Clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (total < min_total_ || total == 0) return;
  const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const auto now = Clock::now();
  const double secs = std::max(1e-3, std::chrono::duration<double>(now - start_).count());
  if (tty_) {
    if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    fmt::print(stderr, "\r{}: [{}{}] {:5.1f}%  {:.2f}/{:.2f} GB  {:.0f} MB/s ", label_, std::string(filled, '#'),
               std::string(kWidth - filled, '.'), 100 * frac, done / 1e9, total / 1e9, done / 1e6 / secs);
    drawn_ = true;
  } else {
    const int quarter = static_cast<int>(frac * 4);
    if (quarter <= last_quarter_) return;
    last_quarter_ = quarter;
    fmt::print(stderr, "mixcl: {}: {:3.0f}% ({:.2f} of {:.2f} GB, {:.0f} MB/s)\n", label_, 25.0 * quarter,
               done / 1e9, total / 1e9, done / 1e6 / secs);
  }
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (drawn_) fmt::print(stderr, "\n");
  drawn_ = false;
}

}  // namespace mixcl::cli
