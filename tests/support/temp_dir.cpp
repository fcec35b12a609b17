#include "tests/support/temp_dir.h"

#include <unistd.h>

#include <atomic>
#include <random>

namespace mixcl::test {

TempDir::TempDir(const std::string& tag) {
  // pid + a process-wide counter + a random word: unique across threads, processes and stale leftovers.
  static std::atomic<uint64_t> counter{0};
  const uint64_t salt = std::random_device{}();
  path_ = std::filesystem::temp_directory_path() /
          ("mixcl_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
           std::to_string(salt));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace mixcl::test
