#pragma once
// Incremental detokenization for streaming output: never emits half a UTF-8 character.
#include <cstdint>
#include <string>

#include "model/tokenizer/tokenizer.h"

namespace mixcl::tokenizer {

/// Turns a stream of token ids into valid UTF-8 text. Bytes of a character split across tokens are held back
/// until the character is complete; bytes that can never form a valid character are replaced by U+FFFD (one
/// per maximal invalid subsequence, as the WHATWG/Unicode "substitution of maximal subparts" practice).
class StreamDecoder {
 public:
  /// Decodes with `tokenizer`, which must outlive this object.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = true)
      : tokenizer_(tokenizer), render_special_(render_special) {}

  /// Adds one token; returns the text that is now complete (possibly empty).
  std::string push(int32_t id);

  /// Adds raw bytes directly (what push does after looking up the token).
  std::string push_bytes(std::string_view bytes);

  /// Ends the stream: returns what was held back, an incomplete trailing character replaced by U+FFFD.
  std::string finish();

  /// Number of bytes currently held back.
  size_t pending() const { return pending_.size(); }

 private:
  const Tokenizer& tokenizer_;
  bool render_special_;
  std::string pending_;
};

}  // namespace mixcl::tokenizer
