#include "tune/profile_edit.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/error.h"

namespace mixcl::tune {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    lines.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

int indent_of(const std::string& line) { return static_cast<int>(line.find_first_not_of(' ')); }

// One past the last line of the block that starts with a key at `line` indented by `indent`: every following
// line that is blank or indented deeper belongs to it; trailing blank lines are left outside.
size_t block_end(const std::vector<std::string>& lines, size_t line, int indent) {
  size_t last = line;
  for (size_t i = line + 1; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    if (indent_of(lines[i]) <= indent) break;
    last = i;
  }
  return last + 1;
}

// Where a key sits: its line and column (0-based).
struct KeyAt {
  size_t line = 0;
  int column = 0;
};

// The map at `path` and the key that holds it (none for the root).
struct Found {
  YAML::Node node;
  std::optional<KeyAt> key;
  size_t depth = 0;  // how many parts of the path exist
};

std::string path_text(const std::vector<std::string>& path, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "." : "") + path[i];
  return s.empty() ? "the top level" : s;
}

YAML::Node load(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail("{}:{}:{}: not valid YAML ({}); fix the file or write the profile to a new one", source, e.mark.line + 1,
         e.mark.column + 1, e.msg);
  }
}

// Walks `path` as far as it exists.
Found walk(const YAML::Node& root, const std::vector<std::string>& path, const std::string& source) {
  Found f{root, std::nullopt, 0};
  for (const auto& part : path) {
    if (!f.node.IsMap()) break;
    bool found = false;
    for (auto it = f.node.begin(); it != f.node.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == part) {
        f.key = KeyAt{static_cast<size_t>(it->first.Mark().line), it->first.Mark().column};
        f.node = it->second;
        found = true;
        break;
      }
    if (!found) break;
    ++f.depth;
  }
  if (f.node.IsDefined() && !f.node.IsNull() && !f.node.IsMap())
    fail("{}: {} holds a single value or a list where a map of keys is expected; fix it by hand", source,
         path_text(path, f.depth));
  if (f.node.IsMap() && f.node.Style() == YAML::EmitterStyle::Flow)
    fail("{}: {} is written in flow style ({{...}}); rewrite it as one key per line so that it can be edited",
         source, path_text(path, f.depth));
  return f;
}

// Lines of `key: value` at `indent`.
std::vector<std::string> key_lines(const std::string& key, const std::vector<std::string>& value_lines, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (value_lines.size() == 1) return {pad + key + ": " + value_lines.front()};  // a value that fits the key's line
  std::vector<std::string> out = {pad + key + ":"};
  for (const auto& l : value_lines) out.push_back(pad + "  " + l);
  return out;
}

// Inserts `block` into the map `f` (which exists, as a map or as a null value).
std::vector<std::string> insert_into(std::vector<std::string> lines, const Found& f, const std::string& key,
                                     const std::vector<std::string>& value_lines) {
  int indent = 0;
  size_t at = lines.size();
  if (f.node.IsMap() && f.node.size() > 0) {
    // After the last entry's block, at the entries' indentation.
    KeyAt last;
    for (auto it = f.node.begin(); it != f.node.end(); ++it)
      last = {static_cast<size_t>(it->first.Mark().line), it->first.Mark().column};
    indent = last.column;
    at = block_end(lines, last.line, last.column);
  } else if (f.key) {
    indent = f.key->column + 2;
    at = block_end(lines, f.key->line, f.key->column);
  } else {
    while (at > 0 && blank(lines[at - 1])) --at;  // an empty document: after its comments
  }
  const auto add = key_lines(key, value_lines, indent);
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), add.begin(), add.end());
  return lines;
}

}  // namespace

std::string set_yaml_block(const std::string& text, const std::vector<std::string>& path, const std::string& key,
                           const std::vector<std::string>& value_lines, const std::string& source) {
  std::string current = text;
  // Missing maps on the path are added one level at a time (each as a key with no value yet).
  for (;;) {
    const Found f = walk(load(current, source), path, source);
    if (f.depth == path.size()) break;
    current = join_lines(insert_into(split_lines(current), f, path[f.depth], {}));
  }
  const YAML::Node root = load(current, source);
  const Found f = walk(root, path, source);
  std::vector<std::string> lines = split_lines(current);
  if (f.node.IsMap())
    for (auto it = f.node.begin(); it != f.node.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == key) {
        const auto line = static_cast<size_t>(it->first.Mark().line);
        const int column = it->first.Mark().column;
        const size_t end = block_end(lines, line, column);
        const auto add = key_lines(key, value_lines, column);
        lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(line), lines.begin() + static_cast<std::ptrdiff_t>(end));
        lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(line), add.begin(), add.end());
        return join_lines(lines);
      }
  return join_lines(insert_into(std::move(lines), f, key, value_lines));
}

std::string remove_yaml_block(const std::string& text, const std::vector<std::string>& path, const std::string& key,
                              const std::string& source) {
  const Found f = walk(load(text, source), path, source);
  if (f.depth != path.size() || !f.node.IsMap()) return text;
  std::vector<std::string> lines = split_lines(text);
  for (auto it = f.node.begin(); it != f.node.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      const auto line = static_cast<size_t>(it->first.Mark().line);
      const size_t end = block_end(lines, line, it->first.Mark().column);
      lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(line), lines.begin() + static_cast<std::ptrdiff_t>(end));
      return join_lines(lines);
    }
  return text;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("cannot write {}: the folder {} does not exist; create it first", path, dir.string());
  const fs::path tmp = dir / fmt::format(".{}.tmp-{}", target.filename().string(), getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      fail("cannot write {} (writing the temporary file {} failed; is the disk full or the folder read-only?)",
           path, tmp.string());
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("cannot write {}: renaming the temporary file into place failed ({})", path, ec.message());
  }
}

}  // namespace mixcl::tune
