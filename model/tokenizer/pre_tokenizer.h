#pragma once
// Pre-tokenizers: the regex splits (PCRE2, UTF + UCP mode) that cut text into pieces before BPE merging.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mixcl::tokenizer {

/// A named sequence of regular expressions. Each expression is applied to every current piece: every match
/// becomes a piece and the text between matches is kept as pieces too. Invalid UTF-8 never matches, so it
/// ends up in the between-match pieces.
class PreTokenizer {
 public:
  /// Builds the pre-tokenizer called `name` (tokenizer.ggml.pre); throws mixcl::Error for an unknown name.
  explicit PreTokenizer(std::string_view name);

  /// Builds a pre-tokenizer from explicit PCRE2 expressions (for tests and custom vocabularies).
  PreTokenizer(std::string name, const std::vector<std::string>& expressions);

  /// Splits `text` into pieces (views into `text`, in order, none empty, together covering all of it).
  std::vector<std::string_view> split(std::string_view text) const;

  /// The name this pre-tokenizer was built from.
  const std::string& name() const { return name_; }

  /// The pre-tokenizer names this build knows.
  static std::vector<std::string> known_names();

  /// The expressions (PCRE2 syntax) of the pre-tokenizer called `name`; throws for an unknown name.
  static std::vector<std::string> expressions_for(std::string_view name);

 private:
  struct Regex;
  std::string name_;
  std::vector<std::shared_ptr<const Regex>> regexes_;
};

}  // namespace mixcl::tokenizer
