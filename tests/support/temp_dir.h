#pragma once
// A fresh temporary folder per object, removed with everything in it when the object dies.
#include <filesystem>
#include <string>

namespace mixcl::test {

/// A unique folder under the system temp dir, "mixcl_<tag>_<pid>_<n>"; removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The folder.
  const std::filesystem::path& path() const { return path_; }
  /// A path inside the folder.
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace mixcl::test
