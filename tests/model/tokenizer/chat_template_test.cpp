// Chat templates: family recognition (template markers, then special tokens, then the fallback), the exact
// text each family produces, stop tokens, the prefix property multi-turn chat relies on, and BOS handling.
#include "model/tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "test_support.h"

namespace mixcl::tokenizer {
namespace {

const std::string kEos = "<｜end▁of▁sentence｜>";

// A vocabulary with a few plain tokens, eos, and the given special tokens (format/detect need no merges).
TokenizerData vocab(std::vector<std::string> specials, std::string chat_template = "") {
  TokenizerData d;
  d.tokens = {"a", "b", "<｜begin▁of▁sentence｜>", kEos};
  d.bos_id = 2;
  d.eos_id = 3;
  for (auto& s : specials) d.tokens.push_back(std::move(s));
  d.chat_template = std::move(chat_template);
  return d;
}

// Abbreviated templates carrying the markers of the real ones.
const std::string kV2Jinja =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + "
    "message['content'] + '\\n\\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + "
    "message['content'] + eos_token }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}"
    "{% endif %}";
const std::string kV3Jinja =
    "{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}"
    "{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' %}"
    "{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}"
    "{% if add_generation_prompt %}{{'<｜Assistant｜>'}}{% endif %}";
const std::string kR1Jinja = "{{'<｜User｜>' + message['content']}}{% if add_generation_prompt %}"
                             "{{'<｜Assistant｜><think>\\n'}}{% endif %}";
const std::string kKimiJinja =
    "{%- if loop.first and messages[0]['role'] != 'system' -%}<|im_system|>system<|im_middle|>You are Kimi, an "
    "AI assistant created by Moonshot AI.<|im_end|>{% endif %}{%- if message['role'] == 'user' -%}"
    "<|im_user|>{{role_name}}<|im_middle|>{%- elif message['role'] == 'assistant' -%}"
    "<|im_assistant|>{{role_name}}<|im_middle|>{%- endif -%}";

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "2+2?"}};

TEST(ChatTemplate, DeepseekV2Format) {
  const ChatTemplate t = ChatTemplate::detect(vocab({}, kV2Jinja));
  EXPECT_EQ(t.family(), ChatFamily::kDeepseekV2);
  EXPECT_EQ(t.name(), "deepseek-v2");
  EXPECT_NE(t.reason().find("tokenizer.chat_template"), std::string::npos);
  EXPECT_EQ(t.format(kConversation, true),
            "Be brief.\n\nUser: Hi\n\nAssistant: Hello!" + kEos + "User: 2+2?\n\nAssistant:");
  EXPECT_EQ(t.format(kConversation, false),
            "Be brief.\n\nUser: Hi\n\nAssistant: Hello!" + kEos + "User: 2+2?\n\n");
  EXPECT_EQ(t.stop_ids(), std::vector<int32_t>{3});
  EXPECT_EQ(t.assistant_end(), kEos);
}

TEST(ChatTemplate, DeepseekV3Format) {
  const ChatTemplate t = ChatTemplate::detect(vocab({"<｜User｜>", "<｜Assistant｜>"}, kV3Jinja));
  EXPECT_EQ(t.family(), ChatFamily::kDeepseekV3);
  EXPECT_EQ(t.format(kConversation, true),
            "Be brief.<｜User｜>Hi<｜Assistant｜>Hello!" + kEos + "<｜User｜>2+2?<｜Assistant｜>");
  // Several system messages are gathered at the start, joined by a blank line.
  const std::vector<ChatMessage> two_sys = {{"system", "A"}, {"user", "u"}, {"system", "B"}};
  EXPECT_EQ(t.format(two_sys, false), "A\n\nB<｜User｜>u");
  EXPECT_EQ(t.stop_ids(), std::vector<int32_t>{3});
}

TEST(ChatTemplate, R1OpensAReasoningBlock) {
  const ChatTemplate t = ChatTemplate::detect(vocab({}, kR1Jinja));
  EXPECT_EQ(t.family(), ChatFamily::kDeepseekV3);
  const std::vector<ChatMessage> m = {{"user", "Why?"}};
  EXPECT_EQ(t.format(m, true), "<｜User｜>Why?<｜Assistant｜><think>\n");
  EXPECT_EQ(t.format(m, false), "<｜User｜>Why?");
}

TEST(ChatTemplate, KimiFormatWithItsDefaultSystemPrompt) {
  const ChatTemplate t =
      ChatTemplate::detect(vocab({"<|im_user|>", "<|im_assistant|>", "<|im_middle|>", "<|im_end|>"}, kKimiJinja));
  EXPECT_EQ(t.family(), ChatFamily::kKimi);
  EXPECT_EQ(t.default_system(), "You are Kimi, an AI assistant created by Moonshot AI.");
  const std::vector<ChatMessage> m = {{"user", "Hi"}, {"assistant", "Hey"}, {"user", "Bye"}};
  EXPECT_EQ(t.format(m, true),
            "<|im_system|>system<|im_middle|>You are Kimi, an AI assistant created by Moonshot AI.<|im_end|>"
            "<|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|>Hey<|im_end|>"
            "<|im_user|>user<|im_middle|>Bye<|im_end|><|im_assistant|>assistant<|im_middle|>");
  // A given system message replaces the default.
  const std::vector<ChatMessage> s = {{"system", "S"}, {"user", "U"}};
  EXPECT_EQ(t.format(s, false),
            "<|im_system|>system<|im_middle|>S<|im_end|><|im_user|>user<|im_middle|>U<|im_end|>");
  EXPECT_EQ(t.assistant_end(), "<|im_end|>");
  EXPECT_EQ(t.stop_ids(), (std::vector<int32_t>{3, 7}));  // eos, then <|im_end|>
}

TEST(ChatTemplate, SpecialTokensDecideWithoutATemplate) {
  const ChatTemplate v3 = ChatTemplate::detect(vocab({"<｜User｜>", "<｜Assistant｜>"}));
  EXPECT_EQ(v3.family(), ChatFamily::kDeepseekV3);
  EXPECT_NE(v3.reason().find("no tokenizer.chat_template"), std::string::npos);
  const ChatTemplate kimi = ChatTemplate::detect(vocab({"<|im_user|>", "<|im_assistant|>", "<|im_middle|>"}));
  EXPECT_EQ(kimi.family(), ChatFamily::kKimi);
  EXPECT_EQ(kimi.default_system(), "");  // nothing to take it from
  // An unrecognised template falls back to the vocabulary too.
  const ChatTemplate other = ChatTemplate::detect(vocab({"<｜User｜>", "<｜Assistant｜>"}, "{{ '<s>[INST]' }}"));
  EXPECT_EQ(other.family(), ChatFamily::kDeepseekV3);
  EXPECT_NE(other.reason().find("not recognised"), std::string::npos);
}

TEST(ChatTemplate, FallbackIsPlainTextDeepseekV2) {
  const ChatTemplate t = ChatTemplate::detect(vocab({}));
  EXPECT_EQ(t.family(), ChatFamily::kDeepseekV2);
  EXPECT_NE(t.reason().find("fallback"), std::string::npos);
  const std::vector<ChatMessage> m = {{"user", "Hi"}};
  EXPECT_EQ(t.format(m, true), "User: Hi\n\nAssistant:");
  // No eos at all: nothing stops generation but -n, and the history still closes with the DeepSeek eos text.
  TokenizerData no_eos = vocab({});
  no_eos.eos_id.reset();
  EXPECT_TRUE(ChatTemplate::detect(no_eos).stop_ids().empty());
  EXPECT_EQ(ChatTemplate::detect(no_eos).assistant_end(), kEos);
}

TEST(ChatTemplate, EachTurnExtendsThePreviousText) {
  // Multi-turn chat keeps the KV cache: the text of the history (with the reply closed) must be a prefix of
  // the text with the next user message and the generation prompt.
  const TokenizerData data = vocab({"<｜User｜>", "<｜Assistant｜>", "<|im_user|>", "<|im_assistant|>",
                                    "<|im_middle|>", "<|im_end|>"},
                                   kKimiJinja);
  for (ChatFamily f : {ChatFamily::kDeepseekV2, ChatFamily::kDeepseekV3, ChatFamily::kKimi}) {
    const ChatTemplate t = f == ChatFamily::kKimi ? ChatTemplate::detect(data) : ChatTemplate::of_family(f, data);
    std::vector<ChatMessage> history = {{"system", "S"}};
    for (const std::string turn : {"0", "1", "2"}) {
      const std::string before = t.format(history, false);
      history.push_back({"user", "q" + turn});
      const std::string prompt = t.format(history, true);
      ASSERT_EQ(prompt.compare(0, before.size(), before), 0) << t.name() << " turn " << turn;
      history.push_back({"assistant", "a" + turn});
      // The closed reply is the prompt, the reply text and assistant_end(); V2's prompt "Assistant:" is
      // followed by the reply's own leading space.
      const std::string reply = f == ChatFamily::kDeepseekV2 ? " a" + turn : "a" + turn;
      EXPECT_EQ(t.format(history, false), prompt + reply + t.assistant_end()) << t.name();
    }
  }
}

TEST(ChatTemplate, UnknownRoleIsAnError) {
  const ChatTemplate t = ChatTemplate::detect(vocab({}));
  const std::vector<ChatMessage> m = {{"tool", "x"}};
  try {
    t.format(m, true);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("role 'tool'"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, EncodePromptAddsBosOnlyAtTheStartAndNeverEos) {
  TokenizerData data = test::trained_vocab("deepseek-v3");
  data.add_bos = true;
  data.add_eos = true;  // must not leak into prompts
  const Tokenizer tok(data);
  const std::vector<int32_t> body = tok.encode("Hello <|eos|> world", false, true);
  ASSERT_NE(std::find(body.begin(), body.end(), *tok.eos_id()), body.end());  // specials in the text are matched
  std::vector<int32_t> with_bos = {*tok.bos_id()};
  with_bos.insert(with_bos.end(), body.begin(), body.end());
  EXPECT_EQ(encode_prompt(tok, "Hello <|eos|> world", true), with_bos);
  EXPECT_EQ(encode_prompt(tok, "Hello <|eos|> world", false), body);
  data.add_bos = false;
  const Tokenizer no_bos(data);
  EXPECT_EQ(encode_prompt(no_bos, "Hello <|eos|> world", true), body);
}

}  // namespace
}  // namespace mixcl::tokenizer
