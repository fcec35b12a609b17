#include "model/tokenizer/tokenizer.h"

#include <cstdint>

#include "common/error.h"
#include "model/tokenizer/byte_level.h"

namespace mixcl::tokenizer {
namespace {

// Normal-like tokens are stored in byte-level form and take part in merging; control and user-defined tokens
// are stored as raw text and only ever matched whole.
bool is_raw_text(TokenType t) { return t == TokenType::kControl || t == TokenType::kUserDefined; }

// Validates the fields of `data` that do not need the tables; returns it unchanged.
TokenizerData&& validated(TokenizerData&& data) {
  if (data.model != "gpt2") {
    fail("tokenizer.ggml.model is '{}', but only 'gpt2' (byte-level BPE) is supported", data.model);
  }
  if (data.tokens.empty()) fail("tokenizer.ggml.tokens is empty; a vocabulary needs at least the 256 byte tokens");
  if (data.tokens.size() > static_cast<size_t>(INT32_MAX)) fail("tokenizer.ggml.tokens has too many entries");
  const auto n = static_cast<int64_t>(data.tokens.size());
  if (!data.token_types.empty() && data.token_types.size() != data.tokens.size()) {
    fail("tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}; they must match",
         data.token_types.size(), data.tokens.size());
  }
  for (size_t i = 0; i < data.token_types.size(); ++i) {
    const auto t = static_cast<int32_t>(data.token_types[i]);
    if (t < 0 || t > 6) fail("tokenizer.ggml.token_type[{}] = {} is not a known token type (0..6)", i, t);
  }
  const auto check = [&](const std::optional<int32_t>& id, const char* key) {
    if (id && (*id < 0 || *id >= n)) fail("{} = {} is outside the vocabulary (0..{})", key, *id, n - 1);
  };
  check(data.bos_id, "tokenizer.ggml.bos_token_id");
  check(data.eos_id, "tokenizer.ggml.eos_token_id");
  check(data.pad_id, "tokenizer.ggml.padding_token_id");
  if (data.add_bos && !data.bos_id) {
    fail("tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is missing");
  }
  if (data.add_eos && !data.eos_id) {
    fail("tokenizer.ggml.add_eos_token is true but tokenizer.ggml.eos_token_id is missing");
  }
  return std::move(data);
}

// Byte-level texts of the tokens that may result from merging (others blanked out).
std::vector<std::string> mergeable_texts(const TokenizerData& data) {
  std::vector<std::string> texts = data.tokens;
  for (size_t i = 0; i < data.token_types.size(); ++i) {
    if (is_raw_text(data.token_types[i])) texts[i].clear();
  }
  return texts;
}

}  // namespace

Tokenizer::Tokenizer(TokenizerData data)
    : data_(validated(std::move(data))), pre_(data_.pre), bpe_(mergeable_texts(data_), data_.merges) {
  const size_t n = data_.tokens.size();
  pieces_.resize(n);
  text_ids_.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<int32_t>(i);
    const TokenType type = token_type(id);
    const std::string& text = data_.tokens[i];
    text_ids_.emplace(text, id);
    if (is_raw_text(type)) {
      pieces_[i] = text;
      specials_.add(text, id, type == TokenType::kUserDefined);
    } else {
      // Characters outside the byte map are kept as their UTF-8 text (lenient, like a raw token).
      pieces_[i] = symbols_to_bytes(text);
    }
  }
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= data_.tokens.size()) {
    fail("token id {} is outside the vocabulary (0..{})", id, data_.tokens.size() - 1);
  }
}

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(id);
  return data_.token_types.empty() ? TokenType::kNormal : data_.token_types[id];
}

const std::string& Tokenizer::token_to_piece(int32_t id) const {
  check_id(id);
  return pieces_[id];
}

const std::string& Tokenizer::token_text(int32_t id) const {
  check_id(id);
  return data_.tokens[id];
}

std::optional<int32_t> Tokenizer::token_id(std::string_view text) const {
  auto it = text_ids_.find(std::string(text));
  if (it == text_ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_special && data_.add_bos) ids.push_back(*data_.bos_id);
  for (const Segment& seg : specials_.split(text, parse_special)) {
    if (seg.token >= 0) {
      ids.push_back(seg.token);
      continue;
    }
    for (std::string_view piece : pre_.split(seg.text)) bpe_.encode_piece(piece, ids);
  }
  if (add_special && data_.add_eos) ids.push_back(*data_.eos_id);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) {
    check_id(id);
    if (!render_special && token_type(id) == TokenType::kControl) continue;
    out += pieces_[id];
  }
  return out;
}

}  // namespace mixcl::tokenizer
