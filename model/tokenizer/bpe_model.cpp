#include "model/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdint>

#include "common/error.h"
#include "model/tokenizer/byte_level.h"

namespace mixcl::tokenizer {

BpeModel::BpeModel(const std::vector<std::string>& tokens, const std::vector<std::string>& merges)
    : vocab_size_(static_cast<int32_t>(tokens.size())), n_merges_(merges.size()) {
  symbol_ids_.reserve(tokens.size() * 2);
  for (int32_t id = 0; id < vocab_size_; ++id) {
    if (!tokens[id].empty()) symbol_ids_.emplace(tokens[id], id);
  }
  for (int b = 0; b < 256; ++b) {
    const std::string& sym = byte_to_symbol(static_cast<uint8_t>(b));
    auto it = symbol_ids_.find(sym);
    byte_token_[b] = it == symbol_ids_.end() ? -1 : it->second;
    byte_symbol_[b] = intern(sym);
  }
  merges_.reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& m = merges[rank];
    // Byte-level texts never hold a literal space, so the first space (after at least one char) separates.
    const size_t space = m.find(' ', 1);
    if (space == std::string::npos || space + 1 >= m.size()) {
      fail("tokenizer.ggml.merges[{}] = '{}' is not of the form 'A B' (two symbols separated by one space)", rank,
           m);
    }
    const std::string left = m.substr(0, space);
    const std::string right = m.substr(space + 1);
    const int32_t l = intern(left);
    const int32_t r = intern(right);
    const int32_t result = intern(left + right);
    // A pair listed twice keeps its first (lowest) rank.
    merges_.emplace(pair_key(l, r), Merge{static_cast<int32_t>(rank), result});
  }
}

int32_t BpeModel::intern(const std::string& text) {
  auto [it, inserted] = symbol_ids_.emplace(text, vocab_size_ + static_cast<int32_t>(virtual_bytes_.size()));
  if (inserted) virtual_bytes_.push_back(symbols_to_bytes(text));
  return it->second;
}

void BpeModel::emit_symbol(int32_t symbol, std::vector<int32_t>& out) const {
  if (symbol < vocab_size_) {
    out.push_back(symbol);
    return;
  }
  // Not a vocabulary token: fall back to one token per byte.
  for (unsigned char b : virtual_bytes_[symbol - vocab_size_]) {
    if (byte_token_[b] < 0) {
      fail("tokenizer: byte 0x{:02X} has no token in the vocabulary (expected a token with text '{}'); the "
           "vocabulary is not a complete byte-level BPE vocabulary",
           b, byte_to_symbol(b));
    }
    out.push_back(byte_token_[b]);
  }
}

namespace {

// A mergeable adjacent pair found during encoding.
struct Candidate {
  int32_t rank;
  int32_t left;  // position of the left symbol
  int32_t left_id;
  int32_t right_id;
  int32_t result;
};

// Heap order: lowest rank first, then leftmost position.
bool worse(const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; }

// Per-thread buffers, reused across pieces so short pieces cost no allocation.
struct Scratch {
  std::vector<int32_t> id, prev, next;
  std::vector<Candidate> heap;
};

}  // namespace

void BpeModel::encode_piece(std::string_view bytes, std::vector<int32_t>& out) const {
  const size_t n = bytes.size();
  if (n == 0) return;
  if (n == 1) {
    emit_symbol(byte_symbol_[static_cast<unsigned char>(bytes[0])], out);
    return;
  }
  if (n > static_cast<size_t>(INT32_MAX)) fail("tokenizer: a single piece of {} bytes is too long", n);
  thread_local Scratch scratch;
  // Doubly linked list of symbols over positions 0..n-1; a merged-away position gets id -1.
  std::vector<int32_t>& id = scratch.id;
  std::vector<int32_t>& prev = scratch.prev;
  std::vector<int32_t>& next = scratch.next;
  std::vector<Candidate>& heap = scratch.heap;
  id.resize(n);
  prev.resize(n);
  next.resize(n);
  heap.clear();
  for (size_t i = 0; i < n; ++i) {
    id[i] = byte_symbol_[static_cast<unsigned char>(bytes[i])];
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  const auto push_pair = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    auto it = merges_.find(pair_key(id[left], id[next[left]]));
    if (it == merges_.end()) return;
    heap.push_back(Candidate{it->second.rank, left, id[left], id[next[left]], it->second.result});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (size_t i = 0; i + 1 < n; ++i) push_pair(static_cast<int32_t>(i));

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Candidate c = heap.back();
    heap.pop_back();
    // Skip candidates made stale by earlier merges.
    if (id[c.left] != c.left_id) continue;
    const int32_t right = next[c.left];
    if (right < 0 || id[right] != c.right_id) continue;
    id[c.left] = c.result;
    id[right] = -1;
    next[c.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.left;
    push_pair(prev[c.left]);
    push_pair(c.left);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) emit_symbol(id[i], out);
}

}  // namespace mixcl::tokenizer
