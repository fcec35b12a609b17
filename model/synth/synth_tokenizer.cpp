#include "model/synth/synth_tokenizer.h"

#include <fmt/format.h>

#include <map>
#include <mutex>

#include "common/error.h"
#include "model/synth/synth_corpus.h"
#include "model/tokenizer/bpe_trainer.h"

namespace mixcl::synth {

namespace {

// Training is deterministic and not free, so each merge count is trained once per process.
tokenizer::TokenizerData trained(size_t n_merges) {
  static std::mutex mutex;
  static std::map<size_t, tokenizer::TokenizerData> cache;
  const std::lock_guard lock(mutex);
  auto it = cache.find(n_merges);
  if (it == cache.end())
    it = cache.emplace(n_merges, tokenizer::train_byte_level_bpe(builtin_corpus(), n_merges,
                                                                 {kBosText, kEosText, kPadText}, "deepseek-v3"))
             .first;
  return it->second;
}

}  // namespace

tokenizer::TokenizerData synth_tokenizer(size_t n_merges, uint32_t vocab) {
  using tokenizer::TokenType;
  tokenizer::TokenizerData t = trained(n_merges);
  t.bos_id = t.find_token(kBosText);
  t.eos_id = t.find_token(kEosText);
  t.pad_id = t.find_token(kPadText);
  if (!t.bos_id || !t.eos_id || !t.pad_id) fail("synth: the trained tokenizer lacks its bos/eos/pad tokens");
  t.add_bos = true;  // DeepSeek chat models prepend BOS
  t.add_eos = false;
  if (vocab == 0) return t;
  if (t.tokens.size() > vocab)
    fail("synth: the trained tokenizer has {} tokens, more than the requested vocabulary of {}", t.tokens.size(),
         vocab);
  if (t.token_types.empty()) t.token_types.assign(t.tokens.size(), TokenType::kNormal);
  for (size_t id = t.tokens.size(); id < vocab; ++id) {
    t.tokens.push_back(fmt::format("<｜synth_unused_{}｜>", id));
    t.token_types.push_back(TokenType::kUnused);
  }
  return t;
}

}  // namespace mixcl::synth
