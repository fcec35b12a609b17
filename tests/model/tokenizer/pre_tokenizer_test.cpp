// Pre-tokenizer splits, with the expected pieces worked out by hand from the expressions.
#include "model/tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace mixcl::tokenizer {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(const PreTokenizer& pre, std::string_view text) {
  Pieces out;
  size_t total = 0;
  for (std::string_view p : pre.split(text)) {
    EXPECT_FALSE(p.empty());
    // Pieces must be consecutive views covering the input.
    EXPECT_EQ(p.data(), text.data() + total);
    total += p.size();
    out.emplace_back(p);
  }
  EXPECT_EQ(total, text.size());
  return out;
}

TEST(PreTokenizerDeepseekV3, DigitsGroupInThrees) {
  PreTokenizer pre("deepseek-v3");
  EXPECT_EQ(split(pre, "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split(pre, "2024年3月"), (Pieces{"202", "4", "年", "3", "月"}));
  // Arabic-Indic digits are \p{N} too.
  EXPECT_EQ(split(pre, "\u0661\u0662\u0663\u0664"), (Pieces{"\u0661\u0662\u0663", "\u0664"}));
}

TEST(PreTokenizerDeepseekV3, WordsAndContractions) {
  PreTokenizer pre("deepseek-v3");
  EXPECT_EQ(split(pre, "Hello world"), (Pieces{"Hello", " world"}));
  // The digit split runs first, so the space before "25" is left on its own.
  EXPECT_EQ(split(pre, "I'm 25 years old."), (Pieces{"I", "'m", " ", "25", " years", " old", "."}));
  EXPECT_EQ(split(pre, "foo.bar(baz)"), (Pieces{"foo", ".bar", "(baz", ")"}));
  EXPECT_EQ(split(pre, "end.\n\nNext"), (Pieces{"end", ".\n\n", "Next"}));
}

TEST(PreTokenizerDeepseekV3, CjkAndKanaRuns) {
  PreTokenizer pre("deepseek-v3");
  EXPECT_EQ(split(pre, "我喜欢Python编程"), (Pieces{"我喜欢", "Python", "编程"}));
  EXPECT_EQ(split(pre, "カタカナとひらがな"), (Pieces{"カタカナとひらがな"}));
  // Hangul is not in the CJK class: it is a letter run of expression 3, taking the leading space.
  EXPECT_EQ(split(pre, "hi 안녕"), (Pieces{"hi", " 안녕"}));
}

TEST(PreTokenizerDeepseekV3, Whitespace) {
  PreTokenizer pre("deepseek-v3");
  EXPECT_EQ(split(pre, "a  \n\n b\tc\r\n"), (Pieces{"a", "  \n\n", " b", "\tc", "\r\n"}));
  // \s+(?!\S) leaves the last space to the following word.
  EXPECT_EQ(split(pre, "x   y"), (Pieces{"x", "  ", " y"}));
  EXPECT_EQ(split(pre, "x   "), (Pieces{"x", "   "}));
}

TEST(PreTokenizerDeepseekV3, MarksEmojiAndInvalidBytes) {
  PreTokenizer pre("deepseek-v3");
  // e + COMBINING ACUTE ACCENT stays in one letter/mark run.
  EXPECT_EQ(split(pre, "e\u0301cole na\u00efve"), (Pieces{"e\u0301cole", " na\u00efve"}));
  // Emoji (So) with a skin-tone modifier (Sk) and "!" form one symbol/punctuation run.
  EXPECT_EQ(split(pre, "hi \U0001F44D\U0001F3FD!"), (Pieces{"hi", " \U0001F44D\U0001F3FD!"}));
  // Invalid UTF-8 never matches; it is kept as a between-match piece.
  EXPECT_EQ(split(pre, "ab\xFF" "cd"), (Pieces{"ab", "\xFF", "cd"}));
}

TEST(PreTokenizerDeepseekLlm, WordsPunctuationDigits) {
  PreTokenizer pre("deepseek-llm");
  EXPECT_EQ(split(pre, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split(pre, "I'm 25 years old."), (Pieces{"I", "'", "m", " ", "25", " years", " old", "."}));
  // Digit runs are not limited to three.
  EXPECT_EQ(split(pre, "abc12345def"), (Pieces{"abc", "12345", "def"}));
}

TEST(PreTokenizerDeepseekLlm, NewlinesAndTrailingSpace) {
  PreTokenizer pre("deepseek-llm");
  EXPECT_EQ(split(pre, "a\r\nb  \n"), (Pieces{"a", "\r", "\n", "b", "  ", "\n"}));
  EXPECT_EQ(split(pre, "a  b"), (Pieces{"a", " ", " b"}));
}

TEST(PreTokenizerDeepseekLlm, ScriptsAndFullWidthPunctuation) {
  PreTokenizer pre("deepseek-llm");
  EXPECT_EQ(split(pre, "我喜欢Python编程"), (Pieces{"我喜欢", "Python", "编程"}));
  EXPECT_EQ(split(pre, "你好，世界！"), (Pieces{"你好", "，", "世界", "！"}));
  // Cyrillic is in the cased-letter class.
  EXPECT_EQ(split(pre, "Привет мир"), (Pieces{"Привет", " мир"}));
  // Hebrew is in none of the classes (below U+0800): the whole gap stays one piece.
  EXPECT_EQ(split(pre, "hi שלום"), (Pieces{"hi", " שלום"}));
  // Devanagari (U+0800..U+4E00 run) keeps its vowel signs and virama in the run.
  EXPECT_EQ(split(pre, "नमस्ते 1"), (Pieces{"नमस्ते", " ", "1"}));
}

TEST(PreTokenizerKimiK2, Basics) {
  PreTokenizer pre("kimi-k2");
  EXPECT_EQ(split(pre, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split(pre, "我喜欢Python"), (Pieces{"我喜欢", "Python"}));
  EXPECT_EQ(split(pre, "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split(pre, "I'm"), (Pieces{"I'm"}));
  EXPECT_EQ(split(pre, "HELLOworld"), (Pieces{"HELLOworld"}));
  // U+3001 has script Common (Han only by Script_Extensions), so it prefixes the upper-case run.
  EXPECT_EQ(split(pre, "\u3001\u03A9"), (Pieces{"\u3001\u03A9"}));
  EXPECT_EQ(split(pre, "\u4F60\u597D\u3001x"), (Pieces{"\u4F60\u597D", "\u3001x"}));
}

TEST(PreTokenizerKimiK2, LongWordsFitTheRegexStack) {
  // Each letter of a word is one lookahead-group repetition; 300k of them overflow PCRE2's default JIT stack.
  const std::string word(300000, 'a');
  EXPECT_EQ(split(PreTokenizer("kimi-k2"), " " + word + " b"), (Pieces{" " + word, " b"}));
}

TEST(PreTokenizerDefault, Gpt2Split) {
  PreTokenizer pre("default");
  EXPECT_EQ(split(pre, "Hello world's 123  x"), (Pieces{"Hello", " world", "'s", " 123", " ", " x"}));
}

TEST(PreTokenizer, UnknownNameIsAClearError) {
  try {
    PreTokenizer pre("no-such-pre");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no-such-pre"), std::string::npos) << msg;
    EXPECT_NE(msg.find("deepseek-v3"), std::string::npos) << msg;
  }
}

TEST(PreTokenizer, EmptyTextGivesNoPieces) {
  EXPECT_TRUE(PreTokenizer("deepseek-v3").split("").empty());
}

}  // namespace
}  // namespace mixcl::tokenizer
