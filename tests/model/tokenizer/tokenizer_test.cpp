// Whole-tokenizer behaviour: round trips on hard text, special tokens, bos/eos, decoding and input checks.
#include "model/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "common/error.h"
#include "test_support.h"
#include "tests/support/errors.h"

namespace mixcl::tokenizer {
namespace {

using ::mixcl::test::error_of;

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, DecodeOfEncodeIsIdentity) {
  Tokenizer tok(test::trained_vocab(GetParam()));
  for (const std::string& s : test::hard_strings()) {
    for (bool parse_special : {false, true}) {
      const std::vector<int32_t> ids = tok.encode(s, false, parse_special);
      EXPECT_EQ(tok.decode(ids), s) << "pre=" << GetParam() << " text=" << s;
      for (int32_t id : ids) ASSERT_LT(static_cast<size_t>(id), tok.vocab_size());
    }
  }
}

TEST_P(RoundTrip, RandomBytesRoundTrip) {
  Tokenizer tok(test::trained_vocab(GetParam()));
  std::mt19937 rng(99);
  // Fragments: ASCII, whitespace, multi-byte characters, lone lead/continuation bytes, a special token.
  const std::vector<std::string> frags = {"a", "Z", " ", "  ", "\t", "\r\n", "\n", "7", "123", ".", "'s",
                                          "\xC3\xA9", "\xE6\x88\x91", "\xF0\x9F\x91\x8D", "\xCC\x81",
                                          "\xE2\x80\x8D", "\xC3", "\x80", "\xFF", "\xF0\x9F", "<|eos|>",
                                          "<|bos", std::string(1, '\0')};
  for (int trial = 0; trial < 300; ++trial) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) s += frags[rng() % frags.size()];
    const bool parse_special = trial % 2 == 0;
    ASSERT_EQ(tok.decode(tok.encode(s, false, parse_special)), s) << "pre=" << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, RoundTrip,
                         ::testing::Values("deepseek-v3", "deepseek-llm", "kimi-k2", "default"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

TEST(Tokenizer, EncodingUsesMergesAndPreTokenizerBoundaries) {
  Tokenizer tok(test::trained_vocab("deepseek-v3"));
  // Frequent training words become single tokens.
  EXPECT_EQ(tok.encode("The", false, false), (std::vector<int32_t>{*tok.token_id("The")}));
  const auto fox = tok.encode(" fox", false, false);
  ASSERT_EQ(fox.size(), 1u);
  EXPECT_EQ(tok.token_to_piece(fox[0]), " fox");
  // Digits never merge across the 3-digit groups of deepseek-v3.
  for (int32_t id : tok.encode("1234567", false, false)) {
    EXPECT_LE(tok.token_to_piece(id).size(), 3u);
  }
  std::string joined;
  for (int32_t id : tok.encode("1234567", false, false)) joined += tok.token_to_piece(id) + "|";
  // Each group is whole: no token spans "3|4" or "6|7".
  EXPECT_EQ(joined.find("34"), std::string::npos) << joined;
  EXPECT_EQ(joined.find("67"), std::string::npos) << joined;
}

TEST(Tokenizer, ControlTokensOnlyWithParseSpecial) {
  Tokenizer tok(test::trained_vocab("deepseek-v3"));
  const int32_t eos = *tok.eos_id();
  const std::string text = "one<|eos|>two";
  const auto with = tok.encode(text, false, true);
  EXPECT_EQ(std::count(with.begin(), with.end(), eos), 1);
  EXPECT_EQ(tok.decode(with), text);
  const auto without = tok.encode(text, false, false);
  EXPECT_EQ(std::count(without.begin(), without.end(), eos), 0);
  EXPECT_GT(without.size(), with.size());
  EXPECT_EQ(tok.decode(without), text);
  // render_special = false drops control tokens.
  EXPECT_EQ(tok.decode(with, false), "onetwo");
  // Whole-text match only: a partial special is plain text.
  const auto partial = tok.encode("<|eos|", false, true);
  EXPECT_EQ(std::count(partial.begin(), partial.end(), eos), 0);
}

TEST(Tokenizer, UserDefinedTokensAlwaysMatchAndLongestWins) {
  TokenizerData d = test::trained_vocab("deepseek-v3");
  const auto add = [&](const std::string& text, TokenType type) {
    d.tokens.push_back(text);
    d.token_types.push_back(type);
    return static_cast<int32_t>(d.tokens.size() - 1);
  };
  const int32_t think = add("<think>", TokenType::kUserDefined);
  const int32_t short_ctl = add("<|ab", TokenType::kControl);
  const int32_t long_ctl = add("<|abc|>", TokenType::kControl);
  const int32_t fancy = add("<｜begin▁of▁sentence｜>", TokenType::kControl);
  Tokenizer tok(d);
  EXPECT_EQ(tok.encode("<think>", false, false), (std::vector<int32_t>{think}));
  EXPECT_EQ(tok.encode("<|abc|>", false, true), (std::vector<int32_t>{long_ctl}));
  const auto mixed = tok.encode("x<|abx<|abc|><think>", false, true);
  EXPECT_EQ(std::count(mixed.begin(), mixed.end(), short_ctl), 1);
  EXPECT_EQ(std::count(mixed.begin(), mixed.end(), long_ctl), 1);
  EXPECT_EQ(mixed.back(), think);
  EXPECT_EQ(tok.decode(mixed), "x<|abx<|abc|><think>");
  // Special token texts are raw UTF-8 (not byte-level form) in both directions.
  EXPECT_EQ(tok.encode("<｜begin▁of▁sentence｜>hi", false, true).front(), fancy);
  EXPECT_EQ(tok.token_to_piece(fancy), "<｜begin▁of▁sentence｜>");
}

TEST(Tokenizer, AddSpecialFollowsFlags) {
  TokenizerData d = test::trained_vocab("deepseek-v3");
  d.add_bos = true;
  Tokenizer bos_only(d);
  const auto ids = bos_only.encode("hi", true, false);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.front(), *d.bos_id);
  EXPECT_NE(ids.back(), *d.eos_id);
  EXPECT_EQ(bos_only.encode("", true, false), (std::vector<int32_t>{*d.bos_id}));
  EXPECT_EQ(bos_only.encode("hi", false, false).front(), bos_only.encode("hi", true, false)[1]);
  d.add_eos = true;
  Tokenizer both(d);
  EXPECT_EQ(both.encode("", true, false), (std::vector<int32_t>{*d.bos_id, *d.eos_id}));
}

TEST(Tokenizer, TokenAccessors) {
  Tokenizer tok(test::trained_vocab("deepseek-v3"));
  EXPECT_EQ(tok.vocab_size(), tok.data().tokens.size());
  EXPECT_EQ(tok.token_text(' '), "\u0120");
  EXPECT_EQ(tok.token_to_piece(' '), " ");
  EXPECT_EQ(tok.token_type(*tok.bos_id()), TokenType::kControl);
  EXPECT_EQ(tok.token_to_piece(*tok.bos_id()), "<|bos|>");
  EXPECT_EQ(tok.token_id("\u0120"), std::optional<int32_t>(' '));
  EXPECT_FALSE(tok.token_id("definitely not a token").has_value());
  EXPECT_NE(error_of([&] { tok.token_to_piece(-1); }).find("-1"), std::string::npos);
  const std::vector<int32_t> bad = {1, static_cast<int32_t>(tok.vocab_size())};
  EXPECT_NE(error_of([&] { tok.decode(bad); }).find("outside the vocabulary"), std::string::npos);
}

TEST(Tokenizer, InvalidDataIsRejectedWithTheKeyName) {
  const TokenizerData good = test::trained_vocab("deepseek-v3");
  auto with = [&](auto edit) {
    TokenizerData d = good;
    edit(d);
    return error_of([&] { Tokenizer t(d); });
  };
  EXPECT_NE(with([](TokenizerData& d) { d.pre = "mystery"; }).find("tokenizer.ggml.pre"), std::string::npos);
  EXPECT_NE(with([](TokenizerData& d) { d.model = "llama"; }).find("tokenizer.ggml.model"), std::string::npos);
  EXPECT_NE(with([](TokenizerData& d) { d.tokens.clear(); }).find("tokenizer.ggml.tokens"), std::string::npos);
  EXPECT_NE(with([](TokenizerData& d) { d.token_types.pop_back(); }).find("tokenizer.ggml.token_type"),
            std::string::npos);
  EXPECT_NE(with([](TokenizerData& d) { d.token_types[3] = static_cast<TokenType>(9); })
                .find("token_type[3]"),
            std::string::npos);
  EXPECT_NE(with([](TokenizerData& d) { d.bos_id = 1 << 30; }).find("bos_token_id"), std::string::npos);
  EXPECT_NE(with([](TokenizerData& d) {
              d.eos_id.reset();
              d.add_eos = true;
            }).find("add_eos_token"),
            std::string::npos);
  EXPECT_NE(with([](TokenizerData& d) { d.merges.push_back("x"); }).find("tokenizer.ggml.merges"),
            std::string::npos);
}

}  // namespace
}  // namespace mixcl::tokenizer
