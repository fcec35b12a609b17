#pragma once
// The merge step of byte-level BPE: rank table of adjacent symbol pairs and the O(n log n) merge of one piece.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mixcl::tokenizer {

/// Merge tables built from a vocabulary (byte-level token texts) and its ranked merges.
class BpeModel {
 public:
  /// `tokens[i]` is the byte-level text of token i (only normal tokens should be passed as mergeable; others
  /// as empty strings so they never take part). `merges[r]` is "A B" with rank r. Throws mixcl::Error for a
  /// merge without a separating space (naming its rank).
  BpeModel(const std::vector<std::string>& tokens, const std::vector<std::string>& merges);

  /// Appends the token ids of one pre-tokenized piece of raw bytes to `out`: start from one symbol per byte,
  /// apply the lowest-rank adjacent pair (leftmost first on ties) until none applies, then emit each symbol's
  /// token; a symbol that is not a vocabulary token is emitted as its byte tokens. Throws mixcl::Error when a
  /// needed byte token is missing from the vocabulary.
  void encode_piece(std::string_view bytes, std::vector<int32_t>& out) const;

  /// Number of merges in the table.
  size_t merge_count() const { return n_merges_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;  // symbol id of the merged pair
  };

  int32_t intern(const std::string& text);  // symbol id of a byte-level text (vocab id or a new virtual id)
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  void emit_symbol(int32_t symbol, std::vector<int32_t>& out) const;

  int32_t vocab_size_ = 0;
  size_t n_merges_ = 0;
  std::unordered_map<std::string, int32_t> symbol_ids_;  // byte-level text -> symbol id (first id wins)
  std::vector<std::string> virtual_bytes_;              // raw bytes of symbols vocab_size_ + i
  std::array<int32_t, 256> byte_symbol_{};              // initial symbol of each byte
  std::array<int32_t, 256> byte_token_{};               // vocab token of each byte, or -1
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace mixcl::tokenizer
