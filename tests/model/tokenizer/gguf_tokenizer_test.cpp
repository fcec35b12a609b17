// Reading tokenizer.ggml.* keys from a GGUF image, and the errors for missing or ill-typed keys.
#include "model/tokenizer/gguf_tokenizer.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "model/gguf/gguf_encoder.h"
#include "model/tokenizer/tokenizer.h"
#include "test_support.h"

namespace mixcl::tokenizer {
namespace {

using gguf::GgufValue;
using Kvs = std::vector<std::pair<std::string, GgufValue>>;

gguf::GgufFile image(const Kvs& kvs) {
  gguf::GgufEncoder enc;
  enc.header(3, 0, kvs.size() + 1);
  enc.kv("general.architecture", GgufValue::str("deepseek2"));
  for (const auto& [key, value] : kvs) enc.kv(key, value);
  enc.pad_to(gguf::kDefaultAlignment);
  return gguf::GgufFile::from_bytes(std::move(enc.bytes), "test.gguf");
}

Kvs replaced(Kvs kvs, const std::string& key, std::optional<GgufValue> value) {
  std::erase_if(kvs, [&](const auto& kv) { return kv.first == key; });
  if (value) kvs.emplace_back(key, *value);
  return kvs;
}

std::string error_reading(const Kvs& kvs) {
  try {
    tokenizer_data_from_gguf(image(kvs));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GgufTokenizer, RoundTripsThroughMetadata) {
  TokenizerData d = test::trained_vocab("deepseek-v3", 100);
  d.add_bos = true;
  d.pad_id = 5;
  d.chat_template = "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}";
  const TokenizerData got = tokenizer_data_from_gguf(image(tokenizer_gguf_kvs(d)));
  EXPECT_EQ(got.model, "gpt2");
  EXPECT_EQ(got.pre, "deepseek-v3");
  EXPECT_EQ(got.tokens, d.tokens);
  EXPECT_EQ(got.merges, d.merges);
  EXPECT_EQ(got.token_types, d.token_types);
  EXPECT_EQ(got.bos_id, d.bos_id);
  EXPECT_EQ(got.eos_id, d.eos_id);
  EXPECT_EQ(got.pad_id, std::optional<int32_t>(5));
  EXPECT_TRUE(got.add_bos);
  EXPECT_FALSE(got.add_eos);
  EXPECT_EQ(got.chat_template, d.chat_template);
  Tokenizer a(d), b(got);
  const std::string text = "The fox 我喜欢 1234567 <|eos|>";
  EXPECT_EQ(a.encode(text, true, true), b.encode(text, true, true));
}

TEST(GgufTokenizer, OptionalKeysHaveDefaults) {
  const TokenizerData d = test::trained_vocab("deepseek-v3", 20);
  Kvs kvs = tokenizer_gguf_kvs(d);
  for (const char* key : {"tokenizer.ggml.pre", "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id",
                          "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token"}) {
    kvs = replaced(kvs, key, std::nullopt);
  }
  kvs = replaced(kvs, "tokenizer.ggml.padding_token_id", GgufValue::u32(0xFFFFFFFFu));
  const TokenizerData got = tokenizer_data_from_gguf(image(kvs));
  EXPECT_EQ(got.pre, "default");
  EXPECT_TRUE(got.token_types.empty());
  EXPECT_FALSE(got.bos_id.has_value());
  EXPECT_FALSE(got.pad_id.has_value());
  EXPECT_FALSE(got.add_bos);
}

TEST(GgufTokenizer, MissingOrIllTypedKeysNameTheKey) {
  const Kvs good = tokenizer_gguf_kvs(test::trained_vocab("deepseek-v3", 20));
  auto expect_error = [&](const Kvs& kvs, const std::string& key, const std::string& what) {
    const std::string msg = error_reading(kvs);
    EXPECT_NE(msg.find(key), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_NE(msg.find("test.gguf"), std::string::npos) << msg;
  };
  expect_error(replaced(good, "tokenizer.ggml.tokens", std::nullopt), "tokenizer.ggml.tokens", "missing");
  expect_error(replaced(good, "tokenizer.ggml.merges", std::nullopt), "tokenizer.ggml.merges", "missing");
  expect_error(replaced(good, "tokenizer.ggml.model", std::nullopt), "tokenizer.ggml.model", "missing");
  expect_error(replaced(good, "tokenizer.ggml.tokens", GgufValue::u32(3)), "tokenizer.ggml.tokens",
               "array of strings");
  expect_error(replaced(good, "tokenizer.ggml.merges", GgufValue::i32_array({1, 2})), "tokenizer.ggml.merges",
               "array of strings");
  expect_error(replaced(good, "tokenizer.ggml.model", GgufValue::str("llama")), "tokenizer.ggml.model", "gpt2");
  expect_error(replaced(good, "tokenizer.ggml.pre", GgufValue::u8(1)), "tokenizer.ggml.pre", "string");
  expect_error(replaced(good, "tokenizer.ggml.bos_token_id", GgufValue::str("0")), "bos_token_id", "integer");
  expect_error(replaced(good, "tokenizer.ggml.add_bos_token", GgufValue::u32(1)), "add_bos_token", "bool");
  expect_error(replaced(good, "tokenizer.ggml.token_type", GgufValue::i32_array({1, 1})), "token_type",
               "entries");
  expect_error(replaced(good, "tokenizer.ggml.token_type", GgufValue::f32_array({1.0f})), "token_type",
               "array of integers");
  expect_error(replaced(good, "tokenizer.chat_template", GgufValue::i32(0)), "tokenizer.chat_template", "string");
}

}  // namespace
}  // namespace mixcl::tokenizer
