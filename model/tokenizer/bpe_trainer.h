#pragma once
// A small byte-level BPE trainer: builds a real (tiny) vocabulary from a text, for tests and synthetic models.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer/tokenizer_data.h"

namespace mixcl::tokenizer {

/// Learns up to `n_merges` merges from `corpus` (pre-tokenized with the `pre` pre-tokenizer, so no merge
/// crosses a piece boundary). Layout of the result: ids 0..255 are the byte tokens (id b = byte b, in GPT-2
/// byte-to-unicode form, type normal), then one token per learned merge in merge order (a merge whose result
/// text already exists reuses that id), then `special_tokens` in the given order (type control, raw text).
/// Each step merges the most frequent adjacent pair; ties go to the pair with the smaller (left, right) ids.
/// Training stops early when no adjacent pair is left. bos/eos/pad are left unset: callers pick them, e.g.
/// `data.bos_id = data.find_token("<|bos|>")`. `pre` is stored in the result.
TokenizerData train_byte_level_bpe(std::string_view corpus, size_t n_merges,
                                   std::vector<std::string> special_tokens,
                                   std::string_view pre = "deepseek-v3");

}  // namespace mixcl::tokenizer
