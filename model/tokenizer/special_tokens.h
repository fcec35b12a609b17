#pragma once
// Finds special tokens (control and user-defined) written literally inside text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mixcl::tokenizer {

/// A stretch of input: either plain text (token < 0) or one matched special token.
struct Segment {
  std::string_view text;
  int32_t token = -1;
};

/// Leftmost-longest matcher over the raw texts of the special tokens.
class SpecialTokenMatcher {
 public:
  /// Adds a special token; `always` = matched even when the caller does not ask to parse special tokens
  /// (user-defined tokens), otherwise only with parse_special (control tokens). Empty texts are ignored.
  void add(std::string text, int32_t id, bool always);

  /// Cuts `text` into plain-text and special-token segments: scanning left to right, at each position the
  /// longest eligible special token starting there is taken. Adjacent plain text forms one segment.
  std::vector<Segment> split(std::string_view text, bool parse_special) const;

 private:
  struct Entry {
    std::string text;
    int32_t id;
    bool always;
  };
  std::vector<Entry> by_first_byte_[256];  // each bucket sorted by decreasing length
};

}  // namespace mixcl::tokenizer
