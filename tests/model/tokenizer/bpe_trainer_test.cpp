// The small BPE trainer: layout of the vocabulary it builds and the merges it learns.
#include "model/tokenizer/bpe_trainer.h"

#include <gtest/gtest.h>

#include <map>

#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/pre_tokenizer.h"

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

// Plain re-count-everything trainer with the same rules, to check the incremental one against.
std::vector<std::string> naive_train(std::string_view corpus, size_t n_merges, const std::string& pre) {
  std::map<std::string_view, int64_t> counts;
  for (std::string_view p : PreTokenizer(pre).split(corpus)) ++counts[p];
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  for (const auto& [p, c] : counts) {
    std::vector<std::string> syms;
    for (unsigned char ch : p) syms.push_back(byte_to_symbol(ch));
    words.emplace_back(std::move(syms), c);
  }
  std::map<std::string, int32_t> ids;  // symbol text -> token id, for the id tie-break
  for (int b = 0; b < 256; ++b) ids[byte_to_symbol(static_cast<uint8_t>(b))] = b;
  std::vector<std::string> merges;
  for (size_t step = 0; step < n_merges; ++step) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pairs;
    for (const auto& [syms, c] : words) {
      for (size_t i = 0; i + 1 < syms.size(); ++i) pairs[{ids.at(syms[i]), ids.at(syms[i + 1])}] += c;
    }
    if (pairs.empty()) break;
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (it->second > best->second) best = it;
    }
    std::string l, r;
    for (const auto& [text, id] : ids) {
      if (id == best->first.first) l = text;
      if (id == best->first.second) r = text;
    }
    merges.push_back(l + " " + r);
    ids.emplace(l + r, static_cast<int32_t>(256 + ids.size() - 256));
    for (auto& [syms, c] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < syms.size(); ++i) {
        if (i + 1 < syms.size() && syms[i] == l && syms[i + 1] == r) {
          out.push_back(l + r);
          ++i;
        } else {
          out.push_back(syms[i]);
        }
      }
      syms = std::move(out);
    }
  }
  return merges;
}

TEST(BpeTrainer, IncrementalCountsMatchNaiveTrainer) {
  for (const char* pre : {"deepseek-v3", "default"}) {
    const std::string corpus = test::training_corpus();
    const TokenizerData d = train_byte_level_bpe(corpus, 250, {}, pre);
    EXPECT_EQ(d.merges, naive_train(corpus, 250, pre)) << pre;
  }
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
