#include "model/tokenizer/byte_level.h"

#include <array>

namespace mixcl::tokenizer {
namespace {

// Code point of each byte, per the GPT-2 byte-to-unicode rule.
std::array<uint32_t, 256> make_byte_codepoints() {
  std::array<uint32_t, 256> cps{};
  uint32_t next = 0x100;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    cps[b] = printable ? b : next++;
  }
  return cps;
}

const std::array<uint32_t, 256>& byte_codepoints() {
  static const std::array<uint32_t, 256> cps = make_byte_codepoints();
  return cps;
}

const std::array<std::string, 256>& byte_symbols() {
  static const std::array<std::string, 256> symbols = [] {
    std::array<std::string, 256> s;
    for (int b = 0; b < 256; ++b) append_utf8(byte_codepoints()[b], s[b]);
    return s;
  }();
  return symbols;
}

}  // namespace

const std::string& byte_to_symbol(uint8_t b) { return byte_symbols()[b]; }

int symbol_to_byte(uint32_t cp) {
  // Mapped code points are all below U+0144 (0x100 + 68).
  static const std::array<int16_t, 0x144> table = [] {
    std::array<int16_t, 0x144> t;
    t.fill(-1);
    for (int b = 0; b < 256; ++b) t[byte_codepoints()[b]] = static_cast<int16_t>(b);
    return t;
  }();
  return cp < table.size() ? table[cp] : -1;
}

std::string bytes_to_symbols(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += byte_to_symbol(c);
  return out;
}

std::string symbols_to_bytes(std::string_view symbols, bool* all_mapped) {
  std::string out;
  out.reserve(symbols.size());
  bool ok = true;
  size_t pos = 0;
  while (pos < symbols.size()) {
    uint32_t cp = 0;
    const size_t len = decode_utf8(symbols, pos, cp);
    const int b = len ? symbol_to_byte(cp) : -1;
    if (b >= 0) {
      out += static_cast<char>(b);
      pos += len;
    } else {
      ok = false;
      const size_t n = len ? len : 1;
      out.append(symbols.substr(pos, n));
      pos += n;
    }
  }
  if (all_mapped) *all_mapped = ok;
  return out;
}

size_t decode_utf8(std::string_view text, size_t pos, uint32_t& cp) {
  const auto at = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t c0 = at(pos);
  if (c0 < 0x80) {
    cp = c0;
    return 1;
  }
  size_t len = 0;
  uint32_t value = 0;
  uint32_t min_value = 0;
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    len = 2, value = c0 & 0x1F, min_value = 0x80;
  } else if ((c0 & 0xF0) == 0xE0) {
    len = 3, value = c0 & 0x0F, min_value = 0x800;
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    len = 4, value = c0 & 0x07, min_value = 0x10000;
  } else {
    return 0;
  }
  if (pos + len > text.size()) return 0;
  for (size_t i = 1; i < len; ++i) {
    const uint8_t c = at(pos + i);
    if ((c & 0xC0) != 0x80) return 0;
    value = (value << 6) | (c & 0x3F);
  }
  // Reject overlong forms, UTF-16 surrogates and values past U+10FFFF.
  if (value < min_value || (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) return 0;
  cp = value;
  return len;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace mixcl::tokenizer
