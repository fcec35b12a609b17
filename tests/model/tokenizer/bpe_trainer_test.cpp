// The small BPE trainer: layout of the vocabulary it builds and the merges it learns.
#include "model/tokenizer/bpe_trainer.h"

#include <gtest/gtest.h>

#include "model/tokenizer/tokenizer.h"
#include "test_support.h"

namespace mixcl::tokenizer {
namespace {

TEST(BpeTrainer, LearnsMostFrequentPairsInOrder) {
  // Corpus "ab ab ab cd": pieces "ab", " ab", " ab", " cd".
  // Pair counts: (a,b)=3, (Ġ,a)=2, (Ġ,c)=1, (c,d)=1 -> merge 1 = "a b".
  // Then pieces: [ab], [Ġ ab] x2, [Ġ c d]: (Ġ,ab)=2 -> merge 2 = "Ġ ab".
  // Then (Ġ,c)=1 and (c,d)=1 tie; the smaller ids win: Ġ is byte 0x20 = id 32 < c = id 99 -> "Ġ c".
  const TokenizerData d = train_byte_level_bpe("ab ab ab cd", 3, {"<s>"}, "default");
  ASSERT_EQ(d.merges.size(), 3u);
  EXPECT_EQ(d.merges[0], "a b");
  EXPECT_EQ(d.merges[1], "\u0120 ab");
  EXPECT_EQ(d.merges[2], "\u0120 c");
  ASSERT_EQ(d.tokens.size(), 256u + 3u + 1u);
  EXPECT_EQ(d.tokens[256], "ab");
  EXPECT_EQ(d.tokens[257], "\u0120ab");
  EXPECT_EQ(d.tokens[258], "\u0120c");
  EXPECT_EQ(d.tokens[259], "<s>");
  EXPECT_EQ(d.token_types[259], TokenType::kControl);
  EXPECT_EQ(d.token_types[0], TokenType::kNormal);
  EXPECT_EQ(d.pre, "default");
  EXPECT_EQ(d.find_token("<s>"), std::optional<int32_t>(259));

  Tokenizer tok(d);
  EXPECT_EQ(tok.encode("ab ab cd", false, false), (std::vector<int32_t>{256, 257, 258, 'd'}));
}

TEST(BpeTrainer, StopsWhenNothingIsLeftToMerge) {
  const TokenizerData d = train_byte_level_bpe("abc", 100, {}, "default");
  // (a,b) and (b,c) tie at one; the smaller ids (97, 98) win. Then only (ab, c) is left.
  EXPECT_EQ(d.merges, (std::vector<std::string>{"a b", "ab c"}));
  EXPECT_EQ(d.tokens.back(), "abc");
}

TEST(BpeTrainer, TrainedVocabularyRoundTrips) {
  const TokenizerData d = test::trained_vocab("deepseek-llm", 300);
  EXPECT_EQ(d.merges.size(), 300u);
  Tokenizer tok(d);
  const std::string corpus = test::training_corpus();
  const auto ids = tok.encode(corpus, false, false);
  EXPECT_EQ(tok.decode(ids), corpus);
  // The merges compress the text they were learned on.
  EXPECT_LT(ids.size() * 2, corpus.size());
}

}  // namespace
}  // namespace mixcl::tokenizer
