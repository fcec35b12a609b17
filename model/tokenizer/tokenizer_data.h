#pragma once
// The plain, format-independent description of a byte-level BPE vocabulary (what GGUF's tokenizer.ggml.* keys
// hold), from which a Tokenizer is built.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mixcl::tokenizer {

/// Token kinds as numbered by tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

/// Everything needed to build a Tokenizer: the GGUF tokenizer keys, without any file format attached.
struct TokenizerData {
  std::string model = "gpt2";            // tokenizer.ggml.model; only "gpt2" (byte-level BPE) is supported
  std::string pre = "default";           // tokenizer.ggml.pre: pre-tokenizer name
  std::vector<std::string> tokens;       // index = id; normal tokens in GPT-2 byte-to-unicode form
  std::vector<std::string> merges;       // "A B"; index = rank (lower merges first)
  std::vector<TokenType> token_types;    // empty = every token normal; else one per token
  std::optional<int32_t> bos_id;         // tokenizer.ggml.bos_token_id
  std::optional<int32_t> eos_id;         // tokenizer.ggml.eos_token_id
  std::optional<int32_t> pad_id;         // tokenizer.ggml.padding_token_id
  bool add_bos = false;                  // prepend bos when encoding with add_special
  bool add_eos = false;                  // append eos when encoding with add_special
  std::string chat_template;             // tokenizer.chat_template, empty when absent

  /// Id of the token whose stored text is exactly `text`, or nullopt (linear scan; for setup code and tests).
  std::optional<int32_t> find_token(const std::string& text) const;
};

}  // namespace mixcl::tokenizer
