#include "model/tokenizer/tokenizer_data.h"

namespace mixcl::tokenizer {

std::optional<int32_t> TokenizerData::find_token(const std::string& text) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == text) return static_cast<int32_t>(i);
  }
  return std::nullopt;
}

}  // namespace mixcl::tokenizer
