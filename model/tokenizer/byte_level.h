#pragma once
// GPT-2 byte-level mapping (every byte <-> one printable code point) and small UTF-8 helpers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mixcl::tokenizer {

/// UTF-8 text of the code point that byte `b` maps to (0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF map to themselves, the
/// other 68 bytes in increasing order to U+0100, U+0101, ...).
const std::string& byte_to_symbol(uint8_t b);

/// The byte that code point `cp` stands for, or -1 when `cp` is not in the GPT-2 map.
int symbol_to_byte(uint32_t cp);

/// Converts raw bytes to their byte-level symbol text (each byte becomes one code point).
std::string bytes_to_symbols(std::string_view bytes);

/// Converts byte-level symbol text back to raw bytes. Code points outside the map (and invalid UTF-8) are
/// copied through unchanged; `all_mapped` (optional) is set to false when that happened.
std::string symbols_to_bytes(std::string_view symbols, bool* all_mapped = nullptr);

/// Decodes one UTF-8 character at `pos`: returns its length (1-4) and sets `cp`, or 0 when the bytes at `pos`
/// do not start a valid, complete, shortest-form UTF-8 character.
size_t decode_utf8(std::string_view text, size_t pos, uint32_t& cp);

/// Appends the UTF-8 encoding of code point `cp` to `out`.
void append_utf8(uint32_t cp, std::string& out);

}  // namespace mixcl::tokenizer
