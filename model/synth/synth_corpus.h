#pragma once
// A small built-in multilingual text that the synthetic models' tokenizer is trained on.
#include <string_view>

namespace mixcl::synth {

/// A few KB of UTF-8 text: English, German, French, Spanish, Russian, Greek, Chinese, Japanese, Korean,
/// Arabic, digits, punctuation and a little code.
std::string_view builtin_corpus();

}  // namespace mixcl::synth
