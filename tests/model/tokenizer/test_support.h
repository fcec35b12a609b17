#pragma once
// Shared fixtures for the tokenizer tests: a trained vocabulary, hard strings, and a naive reference BPE.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "model/tokenizer/bpe_trainer.h"
#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/tokenizer_data.h"

namespace mixcl::tokenizer::test {

/// A small multilingual training text (repeated phrases so merges have something to learn).
inline std::string training_corpus() {
  std::string text;
  for (int i = 0; i < 4; ++i) {
    text += "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away!\n";
    text += "    def tokenize(text):\n        return [t for t in text.split() if t]\n";
    text += "我喜欢自然语言处理。今天天气很好，我们去公园散步吧！\n";
    text += "Привет, как дела? Всё хорошо, спасибо.\n";
    text += "مرحبا بالعالم، كيف حالك؟ שלום עולם! नमस्ते दुनिया।\n";
    text += "Numbers: 1234567 3.14159 2024-11-22 100%\n";
    text += "Emoji: 👍🏽 👨‍👩‍👧‍👦 🎉🎉 ❤️\n";
  }
  return text;
}

/// Strings that stress the pre-tokenizers and the byte fallback.
inline std::vector<std::string> hard_strings() {
  return {
      "",
      "a",
      "Hello, world!",
      "我喜欢Python编程，也喜欢Rust。",
      "日本語のテキストとカタカナ",
      "한국어 텍스트",
      "👍🏽👍🏿 family: 👨‍👩‍👧‍👦 flag: 🇯🇵 heart: ❤️",
      "e\u0301cole, na\u00efve, Z\u0351\u036b\u0343a\u0310l\u0352go",
      "مرحبا بالعالم، كيف حالك؟",
      "שָׁלוֹם עוֹלָם",
      "नमस्ते दुनिया, क्षत्रिय",
      "   leading and trailing   ",
      "tabs\t\tand\r\nCRLF\r\n\r\nmixed \t \n end",
      "\n\n\n",
      "1234567 12 1 0.5 1,000,000 ٣٤٥٦",
      "x" + std::string(1000, ' ') + "y",
      std::string(3000, 'a'),
      "invalid utf8: \xFF\xFE \xC3 \xE2\x82 \xF0\x9F\x98 \xC0\xAF \xED\xA0\x80 end",
      std::string("nul\0inside", 10),
      "<|eos|> is only literal text here",
  };
}

/// Trains the shared test vocabulary with `pre`, plus control tokens <|bos|>, <|eos|>.
inline TokenizerData trained_vocab(const std::string& pre, size_t n_merges = 400) {
  TokenizerData data = train_byte_level_bpe(training_corpus(), n_merges, {"<|bos|>", "<|eos|>"}, pre);
  data.bos_id = data.find_token("<|bos|>");
  data.eos_id = data.find_token("<|eos|>");
  return data;
}

/// Plain quadratic BPE on byte-level symbol strings: repeatedly merge the leftmost occurrence of the
/// lowest-rank adjacent pair. Returns the final symbol texts.
inline std::vector<std::string> naive_bpe(const std::vector<std::string>& merges, std::string_view bytes) {
  std::vector<std::string> symbols;
  for (unsigned char c : bytes) symbols.push_back(byte_to_symbol(c));
  std::map<std::pair<std::string, std::string>, size_t> ranks;
  for (size_t r = 0; r < merges.size(); ++r) {
    const size_t sp = merges[r].find(' ', 1);
    ranks.emplace(std::make_pair(merges[r].substr(0, sp), merges[r].substr(sp + 1)), r);
  }
  while (symbols.size() > 1) {
    size_t best_rank = merges.size();
    size_t best_pos = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = ranks.find({symbols[i], symbols[i + 1]});
      if (it != ranks.end() && it->second < best_rank) {  // strict: ties keep the leftmost
        best_rank = it->second;
        best_pos = i;
      }
    }
    if (best_rank == merges.size()) break;
    symbols[best_pos] += symbols[best_pos + 1];
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
  }
  return symbols;
}

}  // namespace mixcl::tokenizer::test
