#include "soak_util.h"

#include <cstdio>
#include <cstdlib>

#include "model/arch/deepseek2_config.h"
#include "model/synth/synth_model.h"

namespace mixcl::scheduler::test {
namespace {
std::filesystem::path g_temp;
}

Watchdog::Watchdog(std::chrono::seconds limit) : limit_(limit), thread_([this] { loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Watchdog::progress(const std::string& what) {
  std::lock_guard lock(mutex_);
  last_ = what;
  when_ = std::chrono::steady_clock::now();
}

void Watchdog::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (stop_) return;
    const auto idle = std::chrono::steady_clock::now() - when_;
    if (idle > limit_) {
      std::fprintf(stderr,
                   "soak watchdog: no progress for %lld s after \"%s\": the executor is deadlocked or hung; failing "
                   "the test instead of waiting forever\n",
                   static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(idle).count()),
                   last_.c_str());
      std::fflush(stderr);
      std::_Exit(3);  // the stuck thread cannot be unwound; end the process with a failure status
    }
  }
}

void set_temp_dir(const std::string& dir) { g_temp = dir; }
const std::filesystem::path& temp_dir() { return g_temp; }

const std::filesystem::path& tiny_v3_model() {
  static const std::filesystem::path path = [] {
    const auto p = g_temp / "tiny-v3.gguf";
    synth::SynthOptions o;
    o.config = arch::geometry("tiny-v3");
    o.seed = 13;
    synth::write_synth_model(p, o);
    return p;
  }();
  return path;
}

}  // namespace mixcl::scheduler::test
