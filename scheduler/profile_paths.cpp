// Where shipped profiles are found: $MIXCL_PROFILE_PATH, the installed share folder, the source tree.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "common/error.h"
#include "scheduler/profile.h"

#ifndef MIXCL_PROFILES_DIR
#define MIXCL_PROFILES_DIR ""
#endif

namespace mixcl::scheduler {
namespace fs = std::filesystem;

std::vector<fs::path> profile_search_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("MIXCL_PROFILE_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const std::string_view part = rest.substr(0, colon);
      if (!part.empty()) dirs.emplace_back(part);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  std::error_code ec;
  // An installed binary (prefix/bin/mixcl) finds prefix/share/mixcl/profiles.
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path share = exe.parent_path().parent_path() / "share" / "mixcl" / "profiles";
    if (fs::is_directory(share, ec)) dirs.push_back(share);
  }
  if (std::string_view(MIXCL_PROFILES_DIR).size() > 0) dirs.emplace_back(MIXCL_PROFILES_DIR);
  return dirs;
}

std::vector<std::string> shipped_profiles() {
  std::set<std::string> names;
  for (const auto& dir : profile_search_dirs()) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->path().extension() != ".yaml") continue;
      fs::path rel = it->path().lexically_relative(dir);
      rel.replace_extension();
      names.insert(rel.generic_string());
    }
  }
  return {names.begin(), names.end()};
}

fs::path find_profile(const std::string& name_or_path) {
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  std::vector<std::string> looked;
  const fs::path given(name_or_path);
  if (!given.is_absolute()) {
    for (const auto& dir : profile_search_dirs()) {
      for (const fs::path& p : {dir / given, dir / (name_or_path + ".yaml")})
        if (fs::is_regular_file(p, ec)) return p;
      looked.push_back(dir.string());
    }
  }
  const auto names = shipped_profiles();
  fail("profile '{}' not found: it is not a file{}; shipped profiles: {}", name_or_path,
       looked.empty() ? std::string() : fmt::format(", nor a profile in {}", fmt::join(looked, ", ")),
       names.empty() ? std::string("(none found; set MIXCL_PROFILE_PATH)") : fmt::format("{}", fmt::join(names, ", ")));
}

}  // namespace mixcl::scheduler
