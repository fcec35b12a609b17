#include "model/tokenizer/bpe_trainer.h"

#include <map>
#include <unordered_map>

#include "common/error.h"
#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/pre_tokenizer.h"

namespace mixcl::tokenizer {

TokenizerData train_byte_level_bpe(std::string_view corpus, size_t n_merges,
                                   std::vector<std::string> special_tokens, std::string_view pre) {
  TokenizerData data;
  data.pre = std::string(pre);
  for (int b = 0; b < 256; ++b) data.tokens.push_back(byte_to_symbol(static_cast<uint8_t>(b)));

  // Distinct pieces with their counts, each as a sequence of token ids (ordered map: deterministic).
  std::map<std::string_view, int64_t> piece_counts;
  for (std::string_view piece : PreTokenizer(pre).split(corpus)) ++piece_counts[piece];
  struct Word {
    std::vector<int32_t> ids;
    int64_t count;
  };
  std::vector<Word> words;
  words.reserve(piece_counts.size());
  for (const auto& [piece, count] : piece_counts) {
    Word w{{}, count};
    for (unsigned char c : piece) w.ids.push_back(c);
    words.push_back(std::move(w));
  }

  std::unordered_map<std::string, int32_t> ids_by_text;
  for (int32_t id = 0; id < 256; ++id) ids_by_text.emplace(data.tokens[id], id);

  for (size_t step = 0; step < n_merges; ++step) {
    // Most frequent adjacent pair; std::map order breaks ties towards smaller (left, right).
    std::map<std::pair<int32_t, int32_t>, int64_t> pair_counts;
    for (const Word& w : words) {
      for (size_t i = 0; i + 1 < w.ids.size(); ++i) pair_counts[{w.ids[i], w.ids[i + 1]}] += w.count;
    }
    if (pair_counts.empty()) break;
    auto best = pair_counts.begin();
    for (auto it = pair_counts.begin(); it != pair_counts.end(); ++it) {
      if (it->second > best->second) best = it;
    }
    const auto [left, right] = best->first;
    const std::string merged = data.tokens[left] + data.tokens[right];
    data.merges.push_back(data.tokens[left] + " " + data.tokens[right]);
    auto [slot, is_new] = ids_by_text.emplace(merged, static_cast<int32_t>(data.tokens.size()));
    if (is_new) data.tokens.push_back(merged);
    const int32_t result = slot->second;
    // Apply the merge left to right in every word.
    for (Word& w : words) {
      size_t out = 0;
      for (size_t i = 0; i < w.ids.size(); ++i) {
        if (i + 1 < w.ids.size() && w.ids[i] == left && w.ids[i + 1] == right) {
          w.ids[out++] = result;
          ++i;
        } else {
          w.ids[out++] = w.ids[i];
        }
      }
      w.ids.resize(out);
    }
  }

  data.token_types.assign(data.tokens.size(), TokenType::kNormal);
  for (std::string& special : special_tokens) {
    if (special.empty()) fail("train_byte_level_bpe: special tokens must not be empty");
    data.tokens.push_back(std::move(special));
    data.token_types.push_back(TokenType::kControl);
  }
  return data;
}

}  // namespace mixcl::tokenizer
