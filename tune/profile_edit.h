#pragma once
// Edits a profile's YAML text in place: replaces or inserts one key's block (e.g. `devices.cl0.kernels`) and
// leaves every other line as written, comments included (yaml-cpp would drop them on a load/emit round trip).
#include <string>
#include <vector>

namespace mixcl::tune {

/// Sets `key` inside the map at `path` (keys from the root, e.g. {"devices", "cl0"}) to `value_lines` (the
/// value's YAML, one entry a line, unindented; one line goes after the key: `key: value`; empty: the key alone). An existing key's lines (its
/// value and any comment lines indented under it) are replaced; a missing key is added after the map's last
/// entry; missing maps on the path are created. `source` names the text in errors. Throws mixcl::Error when
/// the text is not YAML, or a map on the path is written in flow style ({...}) or holds a non-map value.
std::string set_yaml_block(const std::string& text, const std::vector<std::string>& path, const std::string& key,
                           const std::vector<std::string>& value_lines, const std::string& source);

/// Removes `key` (its line and the lines indented under it) from the map at `path`; unchanged when absent.
std::string remove_yaml_block(const std::string& text, const std::vector<std::string>& path, const std::string& key,
                              const std::string& source);

/// Writes `text` to `path` through a temporary file in the same folder and a rename (never half-written).
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace mixcl::tune
