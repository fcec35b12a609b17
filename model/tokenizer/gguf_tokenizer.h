#pragma once
// Bridge between GGUF metadata (tokenizer.ggml.* keys) and the format-independent TokenizerData.
#include <string>
#include <utility>
#include <vector>

#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_value.h"
#include "model/tokenizer/tokenizer_data.h"

namespace mixcl::tokenizer {

/// Reads the tokenizer keys of `file`. Required: tokenizer.ggml.model (string), tokenizer.ggml.tokens
/// (string array) and, for "gpt2", tokenizer.ggml.merges (string array). Optional: tokenizer.ggml.pre
/// (default "default"), token_type (integer array), bos/eos/padding_token_id (integer; 0xFFFFFFFF or -1 =
/// none), add_bos_token/add_eos_token (bool, default false), tokenizer.chat_template. A missing or ill-typed
/// key throws mixcl::Error naming the file and the key.
TokenizerData tokenizer_data_from_gguf(const gguf::GgufFile& file);

/// The GGUF metadata entries describing `data` (the inverse of tokenizer_data_from_gguf), for writers.
std::vector<std::pair<std::string, gguf::GgufValue>> tokenizer_gguf_kvs(const TokenizerData& data);

}  // namespace mixcl::tokenizer
