#pragma once
// Byte-level BPE tokenizer (the "gpt2" model of GGUF) with named pre-tokenizers and special tokens.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/tokenizer/bpe_model.h"
#include "model/tokenizer/pre_tokenizer.h"
#include "model/tokenizer/special_tokens.h"
#include "model/tokenizer/tokenizer_data.h"

namespace mixcl::tokenizer {

/// Text <-> token ids for one vocabulary. Immutable after construction; encode/decode are thread-safe.
class Tokenizer {
 public:
  /// Validates `data` and builds the tables; throws mixcl::Error naming the offending field.
  explicit Tokenizer(TokenizerData data);

  /// Token ids of `text`. add_special: prepend bos / append eos as the add_bos / add_eos flags say.
  /// parse_special: also match control tokens written in the text (user-defined tokens always match).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  /// Raw bytes of the concatenated tokens (may be invalid UTF-8 when the ids split a character).
  /// render_special = false drops control tokens from the output.
  std::string decode(std::span<const int32_t> ids, bool render_special = true) const;

  /// Raw bytes of one token: byte-decoded text for normal tokens, the stored text for the others.
  const std::string& token_to_piece(int32_t id) const;

  /// The stored text of a token (byte-level form for normal tokens).
  const std::string& token_text(int32_t id) const;

  /// Type of a token.
  TokenType token_type(int32_t id) const;

  /// Id of the token whose stored text is `text`, or nullopt.
  std::optional<int32_t> token_id(std::string_view text) const;

  /// Number of tokens.
  size_t vocab_size() const { return data_.tokens.size(); }

  std::optional<int32_t> bos_id() const { return data_.bos_id; }  ///< beginning-of-sequence token
  std::optional<int32_t> eos_id() const { return data_.eos_id; }  ///< end-of-sequence token
  std::optional<int32_t> pad_id() const { return data_.pad_id; }  ///< padding token

  /// The data this tokenizer was built from.
  const TokenizerData& data() const { return data_; }

  /// The pre-tokenizer in use.
  const PreTokenizer& pre_tokenizer() const { return pre_; }

  /// Appends the BPE tokens of one already pre-tokenized piece of raw bytes (no special-token matching).
  void encode_piece(std::string_view bytes, std::vector<int32_t>& out) const { bpe_.encode_piece(bytes, out); }

 private:
  void check_id(int32_t id) const;

  TokenizerData data_;
  PreTokenizer pre_;
  BpeModel bpe_;
  SpecialTokenMatcher specials_;
  std::vector<std::string> pieces_;                          // raw bytes of each token
  std::unordered_map<std::string, int32_t> text_ids_;  // stored text -> id (first id wins)
};

}  // namespace mixcl::tokenizer
