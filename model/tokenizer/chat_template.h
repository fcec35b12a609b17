#pragma once
// Conversation formatting for the DeepSeek-family chat templates. GGUFs carry the template as Jinja
// (tokenizer.chat_template); instead of a Jinja engine, the known families are recognised by their markers in
// that text or, without one, by the vocabulary's special tokens (docs/run.md lists the rules).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/tokenizer_data.h"

namespace mixcl::tokenizer {

/// One message of a conversation; role is "system", "user" or "assistant".
struct ChatMessage {
  std::string role;
  std::string content;
};

/// The template families mixcl formats.
enum class ChatFamily {
  kDeepseekV2,  // DeepSeek V2 / V2-Lite chat: "User: ...\n\nAssistant: ...<eos>" (also the fallback)
  kDeepseekV3,  // DeepSeek V2.5 / V3 / R1: "<｜User｜>...<｜Assistant｜>...<｜end▁of▁sentence｜>"
  kKimi,        // Kimi-K2 / Moonlight: "<|im_user|>user<|im_middle|>...<|im_end|>"
};

/// A recognised chat template: formats conversations and knows which tokens end a reply.
class ChatTemplate {
 public:
  /// Recognises the family: markers in data.chat_template first, then the vocabulary's special tokens, else
  /// the plain-text DeepSeek V2 format (which needs no special tokens).
  static ChatTemplate detect(const TokenizerData& data);
  /// The given family with `data`'s end-of-sequence token (no template text: no default system prompt).
  static ChatTemplate of_family(ChatFamily family, const TokenizerData& data);

  ChatFamily family() const { return family_; }
  /// Short name: "deepseek-v2", "deepseek-v3" or "kimi".
  std::string_view name() const;
  /// Why this family was chosen (for the log).
  const std::string& reason() const { return reason_; }

  /// The conversation as text, without BOS (encode_prompt adds it); add_generation_prompt appends the opening
  /// of the assistant's reply. Throws mixcl::Error on an unknown role.
  std::string format(std::span<const ChatMessage> messages, bool add_generation_prompt) const;
  /// Text that closes an assistant message in the history (the end-of-turn token's text).
  const std::string& assistant_end() const { return assistant_end_; }
  /// Token ids that end a reply: end-of-sequence and the family's end-of-turn token, where the vocabulary has
  /// them.
  const std::vector<int32_t>& stop_ids() const { return stop_ids_; }
  /// Default system prompt the template inserts when a conversation does not start with one ("" = none).
  const std::string& default_system() const { return default_system_; }

 private:
  ChatTemplate(ChatFamily family, const TokenizerData& data, std::string reason);

  ChatFamily family_;
  std::string reason_;
  std::string eos_text_;
  std::string assistant_end_;
  std::string generation_suffix_;  // after the assistant opening, e.g. R1's "<think>\n"
  std::string default_system_;
  std::vector<int32_t> stop_ids_;
};

/// Token ids of prompt text: BOS first when `at_start` and the vocabulary asks for it
/// (tokenizer.ggml.add_bos_token), then `text` with special tokens written in it matched; never EOS.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, std::string_view text, bool at_start);

}  // namespace mixcl::tokenizer
