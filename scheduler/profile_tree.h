#pragma once
// Internal to the profile loader: YAML documents as a tree that remembers the file, line and column of every
// key and value, merged along `extends:` chains before it is turned into a Profile.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/profile.h"

namespace mixcl::scheduler::detail {

/// Where a key or value was written (1-based line and column).
struct Loc {
  std::string file;
  int line = 0, column = 0;
  /// "file:line:column" (or just "file" when the position is unknown).
  std::string str() const;
  /// "file:line".
  std::string file_line() const;
};

struct MapEntry;

/// One YAML value with its location. Maps keep their keys in file order.
struct PNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  Loc loc;
  std::string scalar;            // kScalar: the text as written (without quotes)
  std::vector<PNode> items;      // kSequence
  std::vector<MapEntry> entries; // kMap

  /// The entry with this key, or nullptr (maps only).
  const PNode* find(std::string_view key) const;
  /// "a map", "a list", "a scalar 'x'", "nothing" for messages.
  std::string describe() const;
};

/// One key of a map with its value.
struct MapEntry {
  std::string key;
  Loc key_loc;
  PNode value;
};

/// Parses YAML text into a tree; syntax errors, duplicate keys and non-scalar keys throw with their location.
PNode parse_tree(const std::string& yaml, const std::string& source);
/// `over` merged onto `base`: maps merge key by key (recursively), anything else in `over` replaces; a null
/// value in `over` removes the key.
PNode merge_trees(PNode base, const PNode& over);
/// Drops null-valued map entries everywhere (a null means "not set" once merging is done).
void drop_nulls(PNode& node);

/// A profile tree with every `extends:` resolved (base first) and the files read, base first.
struct ResolvedTree {
  PNode root;
  std::vector<std::string> sources;
};
/// Loads a profile file and the chain it extends; `chain` holds the files already being loaded (cycles).
ResolvedTree load_tree_file(const std::filesystem::path& path, std::vector<std::string> chain = {});
/// As load_tree_file, for YAML text named `source`, resolving `extends:` from `base_dir`.
ResolvedTree load_tree_text(const std::string& yaml, const std::string& source, const std::filesystem::path& base_dir,
                            std::vector<std::string> chain = {});

/// Builds the Profile of a resolved tree, checking it against the schema; `default_name` when no `name:`.
Profile profile_from_tree(ResolvedTree tree, const std::string& default_name);

/// Levenshtein distance, for did-you-mean suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
/// " (did you mean 'x'?)" for the nearest candidate when it is close enough, else "".
std::string did_you_mean(std::string_view found, const std::vector<std::string>& candidates);

}  // namespace mixcl::scheduler::detail
