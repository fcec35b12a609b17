#pragma once
// The tokenizer of synthetic models: byte-level BPE trained on the built-in corpus, DeepSeek-style specials,
// optionally padded with unused tokens to a full-size vocabulary.
#include <cstddef>
#include <cstdint>

#include "model/tokenizer/tokenizer_data.h"

namespace mixcl::synth {

/// Text of the special tokens (DeepSeek-V3 spelling).
inline constexpr const char* kBosText = "<｜begin▁of▁sentence｜>";
inline constexpr const char* kEosText = "<｜end▁of▁sentence｜>";
inline constexpr const char* kPadText = "<｜▁pad▁｜>";

/// Trains on builtin_corpus() with `n_merges` merges, appends bos/eos/pad, and when `vocab` > 0 pads the list
/// with unique unused tokens up to `vocab` entries (throws if the trained vocabulary is already larger).
tokenizer::TokenizerData synth_tokenizer(size_t n_merges, uint32_t vocab);

}  // namespace mixcl::synth
