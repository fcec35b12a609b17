#include "model/tokenizer/chat_template.h"

#include "common/error.h"

namespace mixcl::tokenizer {
namespace {

constexpr std::string_view kV3User = "<｜User｜>";
constexpr std::string_view kV3Assistant = "<｜Assistant｜>";
constexpr std::string_view kV3Eos = "<｜end▁of▁sentence｜>";
constexpr std::string_view kKimiSystem = "<|im_system|>";
constexpr std::string_view kKimiUser = "<|im_user|>";
constexpr std::string_view kKimiAssistant = "<|im_assistant|>";
constexpr std::string_view kKimiMiddle = "<|im_middle|>";
constexpr std::string_view kKimiEnd = "<|im_end|>";

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

bool has_token(const TokenizerData& data, std::string_view text) {
  return data.find_token(std::string(text)).has_value();
}

// The literal default system prompt of a Kimi/Moonlight template: the text between the system opening and
// <|im_end|> when it holds no Jinja expression ("" otherwise).
std::string kimi_default_system(std::string_view tmpl) {
  const std::string opening = std::string(kKimiSystem) + "system" + std::string(kKimiMiddle);
  const size_t at = tmpl.find(opening);
  if (at == std::string_view::npos) return {};
  const size_t begin = at + opening.size();
  const size_t end = tmpl.find(kKimiEnd, begin);
  if (end == std::string_view::npos) return {};
  const std::string_view text = tmpl.substr(begin, end - begin);
  if (text.empty() || contains(text, "{") || contains(text, "}")) return {};
  return std::string(text);
}

}  // namespace

ChatTemplate::ChatTemplate(ChatFamily family, const TokenizerData& data, std::string reason)
    : family_(family), reason_(std::move(reason)) {
  if (data.eos_id && *data.eos_id >= 0 && static_cast<size_t>(*data.eos_id) < data.tokens.size()) {
    eos_text_ = data.tokens[static_cast<size_t>(*data.eos_id)];
    stop_ids_.push_back(*data.eos_id);
  }
  if (family == ChatFamily::kKimi) {
    assistant_end_ = std::string(kKimiEnd);
    if (auto id = data.find_token(assistant_end_); id && (stop_ids_.empty() || stop_ids_[0] != *id))
      stop_ids_.push_back(*id);
  } else {
    // DeepSeek templates close an assistant turn with eos_token; V3-style vocabularies always spell it so.
    assistant_end_ = !eos_text_.empty() ? eos_text_ : std::string(kV3Eos);
  }
}

ChatTemplate ChatTemplate::of_family(ChatFamily family, const TokenizerData& data) {
  return ChatTemplate(family, data, "chosen by name");
}

ChatTemplate ChatTemplate::detect(const TokenizerData& data) {
  const std::string_view tmpl = data.chat_template;
  if (!tmpl.empty()) {
    if (contains(tmpl, kKimiUser) && contains(tmpl, kKimiAssistant)) {
      ChatTemplate t(ChatFamily::kKimi, data, "tokenizer.chat_template uses <|im_user|>/<|im_assistant|>");
      t.default_system_ = kimi_default_system(tmpl);
      return t;
    }
    if (contains(tmpl, kV3User) && contains(tmpl, kV3Assistant)) {
      ChatTemplate t(ChatFamily::kDeepseekV3, data, "tokenizer.chat_template uses <｜User｜>/<｜Assistant｜>");
      // R1: the generation prompt opens a reasoning block ('<｜Assistant｜><think>\n' in the Jinja string).
      if (contains(tmpl, "<｜Assistant｜><think>\\n") || contains(tmpl, "<｜Assistant｜><think>\n"))
        t.generation_suffix_ = "<think>\n";
      return t;
    }
    if (contains(tmpl, "User: ") && contains(tmpl, "Assistant:"))
      return ChatTemplate(ChatFamily::kDeepseekV2, data, "tokenizer.chat_template uses 'User: '/'Assistant:'");
  }
  const std::string why = tmpl.empty() ? "no tokenizer.chat_template" : "tokenizer.chat_template not recognised";
  if (has_token(data, kKimiUser) && has_token(data, kKimiAssistant) && has_token(data, kKimiMiddle))
    return ChatTemplate(ChatFamily::kKimi, data, why + "; the vocabulary has <|im_user|>/<|im_assistant|>");
  if (has_token(data, kV3User) && has_token(data, kV3Assistant))
    return ChatTemplate(ChatFamily::kDeepseekV3, data, why + "; the vocabulary has <｜User｜>/<｜Assistant｜>");
  return ChatTemplate(ChatFamily::kDeepseekV2, data, why + "; fallback: plain 'User: '/'Assistant:' text");
}

std::string_view ChatTemplate::name() const {
  switch (family_) {
    case ChatFamily::kDeepseekV2: return "deepseek-v2";
    case ChatFamily::kDeepseekV3: return "deepseek-v3";
    case ChatFamily::kKimi: return "kimi";
  }
  return "?";
}

std::string ChatTemplate::format(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant")
      fail("chat: message {} has role '{}'; expected system, user or assistant", i, r);
  }
  std::string out;
  switch (family_) {
    case ChatFamily::kDeepseekV2:
      for (const ChatMessage& m : messages) {
        if (m.role == "system") out += m.content + "\n\n";
        else if (m.role == "user") out += "User: " + m.content + "\n\n";
        else out += "Assistant: " + m.content + assistant_end_;
      }
      if (add_generation_prompt) out += "Assistant:";
      break;
    case ChatFamily::kDeepseekV3: {
      // The V3 template gathers every system message (joined by a blank line) right after BOS.
      bool first_system = true;
      for (const ChatMessage& m : messages) {
        if (m.role != "system") continue;
        if (!first_system) out += "\n\n";
        out += m.content;
        first_system = false;
      }
      for (const ChatMessage& m : messages) {
        if (m.role == "user") out += std::string(kV3User) + m.content;
        else if (m.role == "assistant") out += std::string(kV3Assistant) + m.content + assistant_end_;
      }
      if (add_generation_prompt) out += std::string(kV3Assistant) + generation_suffix_;
      break;
    }
    case ChatFamily::kKimi: {
      const auto turn = [&](std::string_view tag, std::string_view role, const std::string& content) {
        out += std::string(tag) + std::string(role) + std::string(kKimiMiddle) + content + std::string(kKimiEnd);
      };
      if (!default_system_.empty() && (messages.empty() || messages[0].role != "system") &&
          (!messages.empty() || add_generation_prompt))
        turn(kKimiSystem, "system", default_system_);
      for (const ChatMessage& m : messages) {
        if (m.role == "system") turn(kKimiSystem, "system", m.content);
        else if (m.role == "user") turn(kKimiUser, "user", m.content);
        else turn(kKimiAssistant, "assistant", m.content);
      }
      if (add_generation_prompt) out += std::string(kKimiAssistant) + "assistant" + std::string(kKimiMiddle);
      break;
    }
  }
  return out;
}

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, std::string_view text, bool at_start) {
  std::vector<int32_t> ids;
  if (at_start && tokenizer.data().add_bos && tokenizer.bos_id()) ids.push_back(*tokenizer.bos_id());
  const std::vector<int32_t> body = tokenizer.encode(text, /*add_special=*/false, /*parse_special=*/true);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

}  // namespace mixcl::tokenizer
