// BPE merge order on a tiny hand-made vocabulary, and the merge code against a naive reference.
#include "model/tokenizer/bpe_model.h"

#include <gtest/gtest.h>

#include <random>

#include "common/error.h"
#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/tokenizer.h"
#include "test_support.h"

namespace mixcl::tokenizer {
namespace {

// 256 byte tokens (id = byte) and a few merged tokens:
// 256 "ab", 257 "bc", 258 "abc", 259 "aa", 260 "xyz", 261 "Ġa" (space + a).
TokenizerData tiny_vocab() {
  TokenizerData d;
  for (int b = 0; b < 256; ++b) d.tokens.push_back(byte_to_symbol(static_cast<uint8_t>(b)));
  d.tokens.insert(d.tokens.end(), {"ab", "bc", "abc", "aa", "xyz", "\u0120a"});
  d.merges = {
      "b c",       // rank 0
      "a b",       // rank 1
      "a bc",      // rank 2
      "a a",       // rank 3
      "x y",       // rank 4: "xy" is no token
      "xy z",      // rank 5
      "\u0120 a",  // rank 6
  };
  return d;
}

std::vector<int32_t> piece(const BpeModel& bpe, std::string_view bytes) {
  std::vector<int32_t> out;
  bpe.encode_piece(bytes, out);
  return out;
}

TEST(Bpe, ByteMapMatchesGpt2Rule) {
  EXPECT_EQ(byte_to_symbol(' '), "\u0120");
  EXPECT_EQ(byte_to_symbol('\n'), "\u010A");
  EXPECT_EQ(byte_to_symbol(0x00), "\u0100");
  EXPECT_EQ(byte_to_symbol(0x7F), "\u0121");   // 0x00-0x20 take U+0100..U+0120, so DEL is next
  EXPECT_EQ(byte_to_symbol(0xAD), "\u0143");   // the last of the 68 remapped bytes
  EXPECT_EQ(byte_to_symbol('A'), "A");
  EXPECT_EQ(byte_to_symbol(0xE9), "\u00E9");
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(symbols_to_bytes(byte_to_symbol(static_cast<uint8_t>(b))), std::string(1, static_cast<char>(b)));
  }
}

TEST(Bpe, LowestRankMergesFirst) {
  TokenizerData d = tiny_vocab();
  BpeModel bpe(d.tokens, d.merges);
  // (b,c) has rank 0 and wins over (a,b) rank 1; then (a,bc) makes abc.
  EXPECT_EQ(piece(bpe, "abc"), (std::vector<int32_t>{258}));
  EXPECT_EQ(piece(bpe, "abab"), (std::vector<int32_t>{256, 256}));
  // "abcab": bc first, then a+bc, then the second a+b.
  EXPECT_EQ(piece(bpe, "abcab"), (std::vector<int32_t>{258, 256}));
  // "cab": only (a,b) applies.
  EXPECT_EQ(piece(bpe, "cab"), (std::vector<int32_t>{'c', 256}));
  EXPECT_EQ(piece(bpe, " a"), (std::vector<int32_t>{261}));
  EXPECT_EQ(piece(bpe, "q"), (std::vector<int32_t>{'q'}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  TokenizerData d = tiny_vocab();
  BpeModel bpe(d.tokens, d.merges);
  EXPECT_EQ(piece(bpe, "aaa"), (std::vector<int32_t>{259, 'a'}));
  EXPECT_EQ(piece(bpe, "aaaa"), (std::vector<int32_t>{259, 259}));
  EXPECT_EQ(piece(bpe, "aaaaa"), (std::vector<int32_t>{259, 259, 'a'}));
}

TEST(Bpe, SymbolOutsideVocabFallsBackToBytes) {
  TokenizerData d = tiny_vocab();
  BpeModel bpe(d.tokens, d.merges);
  // "xy" is merged but is not a token: emitted as its byte tokens.
  EXPECT_EQ(piece(bpe, "xy"), (std::vector<int32_t>{'x', 'y'}));
  // ... yet it can still merge further into a real token.
  EXPECT_EQ(piece(bpe, "xyz"), (std::vector<int32_t>{260}));
  EXPECT_EQ(piece(bpe, "xyxyz"), (std::vector<int32_t>{'x', 'y', 260}));
}

TEST(Bpe, MissingByteTokenIsAClearError) {
  TokenizerData d = tiny_vocab();
  d.tokens['q'] = "qq-not-a-byte";
  BpeModel bpe(d.tokens, d.merges);
  EXPECT_EQ(piece(bpe, "ab"), (std::vector<int32_t>{256}));
  try {
    piece(bpe, "aqa");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0x71"), std::string::npos) << e.what();
  }
}

TEST(Bpe, MalformedMergeIsAClearError) {
  TokenizerData d = tiny_vocab();
  d.merges.push_back("nospace");
  try {
    BpeModel bpe(d.tokens, d.merges);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("merges[7]"), std::string::npos) << e.what();
  }
}

TEST(Bpe, MatchesNaiveReferenceOnTrainedVocab) {
  const TokenizerData d = test::trained_vocab("deepseek-v3");
  Tokenizer tok(d);
  std::mt19937 rng(1234);
  const std::string alphabet = "aeiou thrsdlnbcfgkmpqwxyz.,;!?\n\t0123456789TQHD\xC3\xA9\xE4\xB8\x80";
  const std::string corpus = test::training_corpus();
  for (int trial = 0; trial < 300; ++trial) {
    std::string s;
    if (trial % 2 == 0) {
      // A random slice of the training text (many merges apply).
      const size_t len = 1 + rng() % 60;
      s = corpus.substr(rng() % (corpus.size() - len), len);
    } else {
      const size_t len = 1 + rng() % 40;
      for (size_t i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
    }
    std::vector<int32_t> got;
    tok.encode_piece(s, got);
    std::vector<int32_t> want;
    for (const std::string& sym : test::naive_bpe(d.merges, s)) {
      auto id = tok.token_id(sym);
      ASSERT_TRUE(id.has_value()) << "trained merges always produce tokens: " << sym;
      want.push_back(*id);
    }
    ASSERT_EQ(got, want) << "piece: " << s;
  }
}

TEST(Bpe, LongPieceIsNotQuadratic) {
  const TokenizerData d = test::trained_vocab("deepseek-v3");
  Tokenizer tok(d);
  // One ~1 MiB piece: a priority-queue merge handles this in well under a second.
  std::string big;
  while (big.size() < (1u << 20)) big += "the";
  std::vector<int32_t> ids;
  tok.encode_piece(big, ids);
  EXPECT_EQ(tok.decode(ids), big);
  EXPECT_LT(ids.size(), big.size());
}

}  // namespace
}  // namespace mixcl::tokenizer
