#include "model/tokenizer/bpe_trainer.h"

#include <cstdint>
#include <map>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/pre_tokenizer.h"

namespace mixcl::tokenizer {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
int32_t key_left(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t key_right(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

// A distinct piece of the corpus as current token ids, with how often it occurs.
struct Word {
  std::vector<int32_t> ids;
  int64_t count;
};

// Heap entry: a pair and the count it had when pushed (stale when the count has changed since).
struct Entry {
  int64_t count;
  uint64_t key;
};
// Max-heap on count; ties go to the smaller (left, right) ids, i.e. the smaller key.
bool lower_priority(const Entry& a, const Entry& b) { return a.count != b.count ? a.count < b.count : a.key > b.key; }

// Pair counts over all words, the words holding each pair, and a lazy heap of the best pair.
class PairStats {
 public:
  void add_word(const Word& w, uint32_t index, int64_t sign) {
    for (size_t i = 0; i + 1 < w.ids.size(); ++i) {
      const uint64_t key = pair_key(w.ids[i], w.ids[i + 1]);
      counts_[key] += sign * w.count;
      changed_.insert(key);
      if (sign > 0) words_[key].push_back(index);
    }
  }
  // Pushes the new counts of the pairs touched since the last call.
  void publish() {
    for (uint64_t key : changed_) {
      const int64_t c = counts_[key];
      if (c > 0) heap_.push(Entry{c, key});
    }
    changed_.clear();
  }
  // Best pair with a positive count, or false when none is left.
  bool best(uint64_t& key) {
    while (!heap_.empty()) {
      const Entry e = heap_.top();
      auto it = counts_.find(e.key);
      if (it != counts_.end() && it->second == e.count) {
        key = e.key;
        return true;
      }
      heap_.pop();
    }
    return false;
  }
  // Word indices that held `key` at some point (may repeat, may be stale); taken out of the table.
  std::vector<uint32_t> take_words(uint64_t key) {
    auto it = words_.find(key);
    if (it == words_.end()) return {};
    std::vector<uint32_t> out = std::move(it->second);
    words_.erase(it);
    return out;
  }

 private:
  std::unordered_map<uint64_t, int64_t> counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> words_;
  std::unordered_set<uint64_t> changed_;
  std::priority_queue<Entry, std::vector<Entry>, decltype(&lower_priority)> heap_{&lower_priority};
};

}  // namespace

TokenizerData train_byte_level_bpe(std::string_view corpus, size_t n_merges,
                                   std::vector<std::string> special_tokens, std::string_view pre) {
  TokenizerData data;
  data.pre = std::string(pre);
  for (int b = 0; b < 256; ++b) data.tokens.push_back(byte_to_symbol(static_cast<uint8_t>(b)));

  // Distinct pieces with their counts (ordered map: deterministic word order).
  std::map<std::string_view, int64_t> piece_counts;
  for (std::string_view piece : PreTokenizer(pre).split(corpus)) ++piece_counts[piece];
  std::vector<Word> words;
  words.reserve(piece_counts.size());
  for (const auto& [piece, count] : piece_counts) {
    Word w{{}, count};
    for (unsigned char c : piece) w.ids.push_back(c);
    words.push_back(std::move(w));
  }
  PairStats stats;
  for (uint32_t i = 0; i < words.size(); ++i) stats.add_word(words[i], i, +1);
  stats.publish();

  std::unordered_map<std::string, int32_t> ids_by_text;
  for (int32_t id = 0; id < 256; ++id) ids_by_text.emplace(data.tokens[id], id);
  std::vector<size_t> merged_at_step(words.size(), SIZE_MAX);

  for (size_t step = 0; step < n_merges; ++step) {
    uint64_t key = 0;
    if (!stats.best(key)) break;  // no adjacent pair left anywhere
    const int32_t left = key_left(key);
    const int32_t right = key_right(key);
    const std::string merged = data.tokens[left] + data.tokens[right];
    data.merges.push_back(data.tokens[left] + " " + data.tokens[right]);
    auto [slot, is_new] = ids_by_text.emplace(merged, static_cast<int32_t>(data.tokens.size()));
    if (is_new) data.tokens.push_back(merged);
    const int32_t result = slot->second;
    // Re-count only the words that hold the pair: take their pairs out, merge left to right, put them back.
    for (uint32_t wi : stats.take_words(key)) {
      if (merged_at_step[wi] == step) continue;
      merged_at_step[wi] = step;
      Word& w = words[wi];
      bool has_pair = false;
      for (size_t i = 0; i + 1 < w.ids.size() && !has_pair; ++i) has_pair = w.ids[i] == left && w.ids[i + 1] == right;
      if (!has_pair) continue;
      stats.add_word(w, wi, -1);
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
      stats.add_word(w, wi, +1);
    }
    stats.publish();
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
