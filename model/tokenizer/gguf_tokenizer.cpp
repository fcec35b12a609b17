#include "model/tokenizer/gguf_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "common/error.h"

namespace mixcl::tokenizer {
namespace {

using gguf::GgufFile;
using gguf::GgufType;
using gguf::GgufValue;

[[noreturn]] void bad_type(const GgufFile& file, std::string_view key, const GgufValue& v,
                           std::string_view want) {
  fail("{}: metadata key '{}' has type {} but must be {}", file.path(), key, v.summary(), want);
}

const GgufValue& required(const GgufFile& file, std::string_view key) {
  const GgufValue* v = file.find(key);
  if (!v) fail("{}: required metadata key '{}' is missing (the file has no usable tokenizer)", file.path(), key);
  return *v;
}

std::string string_value(const GgufFile& file, std::string_view key, const GgufValue& v) {
  if (v.type() != GgufType::String) bad_type(file, key, v, "a string");
  return v.as_string();
}

std::vector<std::string> string_array(const GgufFile& file, std::string_view key, const GgufValue& v) {
  if (!v.is_array() || (v.elem_type() != GgufType::String && v.array_size() > 0)) {
    bad_type(file, key, v, "an array of strings");
  }
  if (v.array_size() == 0) return {};
  return v.as_string_array();
}

std::optional<int32_t> token_id(const GgufFile& file, std::string_view key) {
  const GgufValue* v = file.find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) bad_type(file, key, *v, "an integer token id");
  const int64_t id = v->type() == GgufType::U32 || v->type() == GgufType::U64
                         ? static_cast<int64_t>(std::min<uint64_t>(v->as_u64(), INT64_MAX))
                         : v->as_i64();
  // Converters write 0xFFFFFFFF (u32 of -1) for "no such token".
  if (id == -1 || id == 0xFFFFFFFFll) return std::nullopt;
  if (id < 0 || id > INT32_MAX) fail("{}: metadata key '{}' = {} is not a valid token id", file.path(), key, id);
  return static_cast<int32_t>(id);
}

bool flag(const GgufFile& file, std::string_view key) {
  const GgufValue* v = file.find(key);
  if (!v) return false;
  if (v->type() != GgufType::Bool) bad_type(file, key, *v, "a bool");
  return v->as_bool();
}

}  // namespace

TokenizerData tokenizer_data_from_gguf(const GgufFile& file) {
  TokenizerData data;
  data.model = string_value(file, "tokenizer.ggml.model", required(file, "tokenizer.ggml.model"));
  if (data.model != "gpt2") {
    fail("{}: tokenizer.ggml.model is '{}'; mixcl supports only 'gpt2' (byte-level BPE, as DeepSeek models use)",
         file.path(), data.model);
  }
  if (const GgufValue* pre = file.find("tokenizer.ggml.pre")) {
    data.pre = string_value(file, "tokenizer.ggml.pre", *pre);
  }
  data.tokens = string_array(file, "tokenizer.ggml.tokens", required(file, "tokenizer.ggml.tokens"));
  if (data.tokens.empty()) fail("{}: tokenizer.ggml.tokens is empty", file.path());
  data.merges = string_array(file, "tokenizer.ggml.merges", required(file, "tokenizer.ggml.merges"));
  if (const GgufValue* types = file.find("tokenizer.ggml.token_type")) {
    const GgufType e = types->elem_type();
    const bool integer_elems = e == GgufType::U8 || e == GgufType::I8 || e == GgufType::U16 ||
                               e == GgufType::I16 || e == GgufType::U32 || e == GgufType::I32 ||
                               e == GgufType::U64 || e == GgufType::I64;
    if (!types->is_array() || !integer_elems) {
      bad_type(file, "tokenizer.ggml.token_type", *types, "an array of integers");
    }
    const std::vector<int64_t> values = types->as_i64_array();
    if (values.size() != data.tokens.size()) {
      fail("{}: tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}", file.path(),
           values.size(), data.tokens.size());
    }
    data.token_types.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] < 0 || values[i] > 6) {
        fail("{}: tokenizer.ggml.token_type[{}] = {} is not a known token type (0..6)", file.path(), i,
             values[i]);
      }
      data.token_types.push_back(static_cast<TokenType>(values[i]));
    }
  }
  data.bos_id = token_id(file, "tokenizer.ggml.bos_token_id");
  data.eos_id = token_id(file, "tokenizer.ggml.eos_token_id");
  data.pad_id = token_id(file, "tokenizer.ggml.padding_token_id");
  data.add_bos = flag(file, "tokenizer.ggml.add_bos_token");
  data.add_eos = flag(file, "tokenizer.ggml.add_eos_token");
  if (const GgufValue* tmpl = file.find("tokenizer.chat_template")) {
    data.chat_template = string_value(file, "tokenizer.chat_template", *tmpl);
  }
  return data;
}

std::vector<std::pair<std::string, GgufValue>> tokenizer_gguf_kvs(const TokenizerData& data) {
  std::vector<std::pair<std::string, GgufValue>> kvs;
  kvs.emplace_back("tokenizer.ggml.model", GgufValue::str(data.model));
  kvs.emplace_back("tokenizer.ggml.pre", GgufValue::str(data.pre));
  kvs.emplace_back("tokenizer.ggml.tokens", GgufValue::string_array(data.tokens));
  std::vector<int32_t> types(data.tokens.size(), static_cast<int32_t>(TokenType::kNormal));
  for (size_t i = 0; i < data.token_types.size() && i < types.size(); ++i) {
    types[i] = static_cast<int32_t>(data.token_types[i]);
  }
  kvs.emplace_back("tokenizer.ggml.token_type", GgufValue::i32_array(std::move(types)));
  kvs.emplace_back("tokenizer.ggml.merges", GgufValue::string_array(data.merges));
  const auto add_id = [&](const char* key, const std::optional<int32_t>& id) {
    if (id) kvs.emplace_back(key, GgufValue::u32(static_cast<uint32_t>(*id)));
  };
  add_id("tokenizer.ggml.bos_token_id", data.bos_id);
  add_id("tokenizer.ggml.eos_token_id", data.eos_id);
  add_id("tokenizer.ggml.padding_token_id", data.pad_id);
  kvs.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(data.add_bos));
  kvs.emplace_back("tokenizer.ggml.add_eos_token", GgufValue::boolean(data.add_eos));
  if (!data.chat_template.empty()) {
    kvs.emplace_back("tokenizer.chat_template", GgufValue::str(data.chat_template));
  }
  return kvs;
}

}  // namespace mixcl::tokenizer
