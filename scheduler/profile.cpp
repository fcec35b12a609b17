// Profile entry points: load a file or text through the located tree, look devices and rules up.
#include "scheduler/profile.h"

#include "scheduler/profile_tree.h"

namespace mixcl::scheduler {

bool PlacementRule::matches(std::string_view tensor_name) const {
  // Rules built in code (not loaded) carry no compiled regex: compile it for this call.
  if (!regex) return std::regex_match(tensor_name.begin(), tensor_name.end(), std::regex(pattern));
  return std::regex_match(tensor_name.begin(), tensor_name.end(), *regex);
}

const DeviceProfile* Profile::device(const std::string& id) const {
  for (const auto& d : devices)
    if (d.id == id) return &d;
  return nullptr;
}

const PlacementRule* Profile::rule_for(std::string_view tensor_name) const {
  for (const auto& r : placement)
    if (r.matches(tensor_name)) return &r;
  return nullptr;
}

Profile load_profile(const std::filesystem::path& path) {
  return detail::profile_from_tree(detail::load_tree_file(path), path.stem().string());
}

Profile parse_profile(const std::string& yaml, const std::string& source, const std::filesystem::path& base_dir) {
  return detail::profile_from_tree(detail::load_tree_text(yaml, source, base_dir),
                                   std::filesystem::path(source).stem().string());
}

}  // namespace mixcl::scheduler
