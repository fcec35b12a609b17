#include "model/tokenizer/stream_decoder.h"

namespace mixcl::tokenizer {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Allowed range of the second byte after lead byte `lead` (the other continuation bytes are 0x80..0xBF).
void second_byte_range(uint8_t lead, uint8_t& lo, uint8_t& hi) {
  lo = 0x80, hi = 0xBF;
  if (lead == 0xE0) lo = 0xA0;        // no overlong 3-byte forms
  else if (lead == 0xED) hi = 0x9F;   // no UTF-16 surrogates
  else if (lead == 0xF0) lo = 0x90;   // no overlong 4-byte forms
  else if (lead == 0xF4) hi = 0x8F;   // nothing past U+10FFFF
}

// Length a lead byte announces, or 0 when it cannot start a character.
size_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::string StreamDecoder::push(int32_t id) {
  if (!render_special_ && tokenizer_.token_type(id) == TokenType::kControl) return {};
  return push_bytes(tokenizer_.token_to_piece(id));
}

std::string StreamDecoder::push_bytes(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t pos = 0;
  while (pos < pending_.size()) {
    const auto lead = static_cast<uint8_t>(pending_[pos]);
    const size_t len = sequence_length(lead);
    if (len == 0) {
      out += kReplacement;
      ++pos;
      continue;
    }
    // Count how many of the announced continuation bytes are present and valid.
    size_t good = 1;
    bool invalid = false;
    while (good < len && pos + good < pending_.size()) {
      const auto c = static_cast<uint8_t>(pending_[pos + good]);
      uint8_t lo = 0x80, hi = 0xBF;
      if (good == 1) second_byte_range(lead, lo, hi);
      if (c < lo || c > hi) {
        invalid = true;
        break;
      }
      ++good;
    }
    if (invalid) {
      out += kReplacement;  // the maximal subpart so far; the offending byte starts over
      pos += good;
      continue;
    }
    if (good < len) break;  // incomplete: hold back until more bytes arrive
    out.append(pending_, pos, len);
    pos += len;
  }
  pending_.erase(0, pos);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out;
  if (!pending_.empty()) out = kReplacement;  // whatever is held back is an incomplete character
  pending_.clear();
  return out;
}

}  // namespace mixcl::tokenizer
