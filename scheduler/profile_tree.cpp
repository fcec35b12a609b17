// Profile YAML as a located tree: parsing with yaml-cpp, duplicate-key checks, `extends:` chains and merging.
#include "scheduler/profile_tree.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/error.h"
#include "scheduler/profile.h"

namespace mixcl::scheduler::detail {
namespace fs = std::filesystem;

std::string Loc::str() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

std::string Loc::file_line() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}", file, line);
}

const PNode* PNode::find(std::string_view key) const {
  for (const auto& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

std::string PNode::describe() const {
  switch (kind) {
    case Kind::kNull: return "nothing";
    case Kind::kScalar: return fmt::format("'{}'", scalar);
    case Kind::kSequence: return "a list";
    case Kind::kMap: return "a map";
  }
  return "?";
}

namespace {

Loc loc_of(const YAML::Mark& mark, const std::string& source) {
  if (mark.is_null()) return {source, 0, 0};
  return {source, mark.line + 1, mark.column + 1};
}

PNode convert(const YAML::Node& node, const std::string& source, const Loc& fallback) {
  PNode out;
  out.loc = loc_of(node.Mark(), source);
  if (out.loc.line == 0) out.loc = fallback;
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind = PNode::Kind::kNull;
      break;
    case YAML::NodeType::Scalar:
      out.kind = PNode::Kind::kScalar;
      out.scalar = node.Scalar();
      break;
    case YAML::NodeType::Sequence:
      out.kind = PNode::Kind::kSequence;
      for (const auto& item : node) out.items.push_back(convert(item, source, out.loc));
      break;
    case YAML::NodeType::Map:
      out.kind = PNode::Kind::kMap;
      for (auto it = node.begin(); it != node.end(); ++it) {
        const Loc key_loc = loc_of(it->first.Mark(), source);
        if (!it->first.IsScalar())
          fail("{}: a key must be a plain name, found {}", key_loc.str(),
               it->first.IsSequence() ? "a list" : it->first.IsMap() ? "a map" : "nothing");
        const std::string key = it->first.Scalar();
        for (const auto& e : out.entries)
          if (e.key == key)
            fail("{}: duplicate key '{}' (first written at line {}); each key may appear once in a map",
                 key_loc.str(), key, e.key_loc.line);
        out.entries.push_back({key, key_loc, convert(it->second, source, key_loc)});
      }
      break;
  }
  return out;
}

std::string read_text(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("cannot read profile '{}': it is a folder, not a YAML file", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read profile '{}': {}", path.string(), std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail("cannot read profile '{}': read error", path.string());
  return text.str();
}

std::string chain_key(const fs::path& path) {
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(path, ec);
  return ec ? path.lexically_normal().string() : canon.string();
}

/// The file an `extends:` value names: beside the extending file, then in the shipped profile folders.
fs::path resolve_extends(const std::string& value, const fs::path& base_dir, const Loc& where) {
  std::vector<fs::path> tried;
  auto try_in = [&](const fs::path& dir) -> std::optional<fs::path> {
    for (const fs::path& p : {dir / value, dir / (value + ".yaml")}) {
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p;
      tried.push_back(p);
    }
    return std::nullopt;
  };
  if (fs::path(value).is_absolute()) {
    if (auto p = try_in("")) return *p;
  } else {
    if (auto p = try_in(base_dir)) return *p;
    for (const auto& dir : profile_search_dirs())
      if (auto p = try_in(dir)) return *p;
  }
  std::vector<std::string> names;
  for (const auto& t : tried) names.push_back(t.string());
  fail("{}: extends: profile '{}' not found; looked for: {}", where.str(), value, fmt::join(names, ", "));
}

}  // namespace

PNode parse_tree(const std::string& yaml, const std::string& source) {
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    fail("{}: YAML syntax error: {}", loc_of(e.mark, source).str(), e.msg);
  }
  return convert(doc, source, Loc{source, 1, 1});
}

PNode merge_trees(PNode base, const PNode& over) {
  if (base.kind != PNode::Kind::kMap || over.kind != PNode::Kind::kMap) return over;
  for (const auto& e : over.entries) {
    auto it = std::find_if(base.entries.begin(), base.entries.end(), [&](const MapEntry& b) { return b.key == e.key; });
    if (e.value.kind == PNode::Kind::kNull) {
      if (it != base.entries.end()) base.entries.erase(it);
    } else if (it == base.entries.end()) {
      base.entries.push_back(e);
    } else {
      it->value = merge_trees(std::move(it->value), e.value);
      it->key_loc = e.key_loc;
    }
  }
  base.loc = over.loc;
  return base;
}

void drop_nulls(PNode& node) {
  std::erase_if(node.entries, [](const MapEntry& e) { return e.value.kind == PNode::Kind::kNull; });
  for (auto& e : node.entries) drop_nulls(e.value);
  for (auto& item : node.items) drop_nulls(item);
}

ResolvedTree load_tree_text(const std::string& yaml, const std::string& source, const fs::path& base_dir,
                            std::vector<std::string> chain) {
  PNode root = parse_tree(yaml, source);
  if (root.kind == PNode::Kind::kNull) fail("{}: the profile is empty; it needs at least a `host:` or `devices:` map", source);
  if (root.kind != PNode::Kind::kMap)
    fail("{}: top level: found {}, expected a map of keys (name, extends, host, devices, quant, placement, scheduling)",
         root.loc.str(), root.describe());
  ResolvedTree out;
  const PNode* extends = root.find("extends");
  if (extends && extends->kind != PNode::Kind::kNull) {
    if (extends->kind != PNode::Kind::kScalar || extends->scalar.empty())
      fail("{}: extends: found {}, expected the name or path of one profile", extends->loc.str(), extends->describe());
    const fs::path base_path = resolve_extends(extends->scalar, base_dir, extends->loc);
    const std::string key = chain_key(base_path);
    if (std::find(chain.begin(), chain.end(), key) != chain.end()) {
      std::vector<std::string> cycle(std::find(chain.begin(), chain.end(), key), chain.end());
      cycle.push_back(key);
      fail("{}: extends cycle: {}; a profile may not extend itself, directly or through others", extends->loc.str(),
           fmt::join(cycle, " -> "));
    }
    chain.push_back(key);
    ResolvedTree base = load_tree_file(base_path, chain);
    std::erase_if(root.entries, [](const MapEntry& e) { return e.key == "extends"; });
    // The name belongs to the file that states it: an unnamed derived profile is named after its own file.
    if (!root.find("name")) std::erase_if(base.root.entries, [](const MapEntry& e) { return e.key == "name"; });
    out.root = merge_trees(std::move(base.root), root);
    out.sources = std::move(base.sources);
  } else {
    std::erase_if(root.entries, [](const MapEntry& e) { return e.key == "extends"; });
    out.root = std::move(root);
  }
  out.sources.push_back(source);
  return out;
}

ResolvedTree load_tree_file(const fs::path& path, std::vector<std::string> chain) {
  const std::string key = chain_key(path);
  if (chain.empty() || chain.back() != key) chain.push_back(key);
  return load_tree_text(read_text(path), path.string(), path.parent_path(), std::move(chain));
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t subst = prev[j - 1] + (std::tolower(static_cast<unsigned char>(a[i - 1])) !=
                                          std::tolower(static_cast<unsigned char>(b[j - 1])));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(std::string_view found, const std::vector<std::string>& candidates) {
  size_t best = SIZE_MAX;
  const std::string* pick = nullptr;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(found, c);
    if (d < best) best = d, pick = &c;
  }
  // Close enough: at most a third of the longer word changed (and never more than 4 edits).
  const size_t limit = std::min<size_t>(4, std::max<size_t>(1, std::max(found.size(), pick ? pick->size() : 0) / 3));
  if (!pick || best > limit) return "";
  return fmt::format(" (did you mean '{}'?)", *pick);
}

}  // namespace mixcl::scheduler::detail
