// Streaming detokenization: multi-byte characters split over tokens, invalid bytes, flushing.
#include "model/tokenizer/stream_decoder.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace mixcl::tokenizer {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

class StreamDecoderTest : public ::testing::Test {
 protected:
  Tokenizer tok_{test::trained_vocab("deepseek-v3")};
};

TEST_F(StreamDecoderTest, HoldsBackSplitCharacters) {
  StreamDecoder dec(tok_);
  // Byte tokens have id = byte value in the trained vocabulary. "€" is E2 82 AC.
  EXPECT_EQ(dec.push(0xE2), "");
  EXPECT_EQ(dec.pending(), 1u);
  EXPECT_EQ(dec.push(0x82), "");
  EXPECT_EQ(dec.push(0xAC), "\u20AC");
  EXPECT_EQ(dec.pending(), 0u);
  // A 4-byte emoji: F0 9F 91 8D, with ASCII before it in the same token.
  EXPECT_EQ(dec.push('a'), "a");
  EXPECT_EQ(dec.push(0xF0), "");
  EXPECT_EQ(dec.push(0x9F), "");
  EXPECT_EQ(dec.push(0x91), "");
  EXPECT_EQ(dec.push(0x8D), "\U0001F44D");
  EXPECT_EQ(dec.finish(), "");
}

TEST_F(StreamDecoderTest, InvalidBytesBecomeReplacementCharacters) {
  StreamDecoder dec(tok_);
  EXPECT_EQ(dec.push(0xFF), kFffd);                 // can never start a character
  EXPECT_EQ(dec.push(0xE2), "");
  EXPECT_EQ(dec.push('a'), kFffd + "a");            // E2 followed by ASCII: E2 was a maximal subpart
  EXPECT_EQ(dec.push(0xED), "");
  EXPECT_EQ(dec.push(0xA0), kFffd + kFffd);         // ED A0 would be a surrogate: two subparts
  EXPECT_EQ(dec.push(0xC0), kFffd);                 // overlong lead
  EXPECT_EQ(dec.push(0xF0), "");
  EXPECT_EQ(dec.push(0x9F), "");
  EXPECT_EQ(dec.finish(), kFffd);                   // incomplete at the end: one replacement
  EXPECT_EQ(dec.pending(), 0u);
  EXPECT_EQ(dec.finish(), "");
}

TEST_F(StreamDecoderTest, StreamEqualsWholeDecodeOnValidText) {
  for (const std::string& s : test::hard_strings()) {
    if (s.find('\xFF') != std::string::npos) continue;  // the one invalid string is checked below
    const std::vector<int32_t> ids = tok_.encode(s, false, false);
    StreamDecoder dec(tok_);
    std::string streamed;
    for (int32_t id : ids) {
      std::string part = dec.push(id);
      // Every emitted part is complete, valid UTF-8 on its own.
      StreamDecoder check(tok_);
      EXPECT_EQ(check.push_bytes(part), part);
      EXPECT_EQ(check.pending(), 0u);
      streamed += part;
    }
    streamed += dec.finish();
    EXPECT_EQ(streamed, s);
  }
}

TEST_F(StreamDecoderTest, ByteByByteOverInvalidInput) {
  const std::string s = "ok \xC3 \xE2\x82 x\xF0\x9F\x98\x80y";
  StreamDecoder dec(tok_);
  std::string out;
  for (int32_t id : tok_.encode(s, false, false)) out += dec.push(id);
  out += dec.finish();
  EXPECT_EQ(out, "ok " + kFffd + " " + kFffd + " x\U0001F600y");
}

TEST_F(StreamDecoderTest, ControlTokensCanBeHidden) {
  StreamDecoder shown(tok_);
  StreamDecoder hidden(tok_, false);
  EXPECT_EQ(shown.push(*tok_.eos_id()), "<|eos|>");
  EXPECT_EQ(hidden.push(*tok_.eos_id()), "");
}

}  // namespace
}  // namespace mixcl::tokenizer
