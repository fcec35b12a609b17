#pragma once
// Text generation on an executor: feeds a prompt, samples tokens until a stop token or a limit, streams the
// text, keeps the cache consistent across calls (chat turns), and times prefill and decode.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/sampler/sampler.h"
#include "model/tokenizer/stream_decoder.h"
#include "model/tokenizer/tokenizer.h"
#include "scheduler/executor.h"

namespace mixcl::cli {

/// Timings summed over every generate() call.
struct GenerationStats {
  uint64_t prompt_tokens = 0;  // tokens fed before sampling (prompts, and tokens carried over between turns)
  double prompt_seconds = 0;
  uint64_t generated = 0;      // tokens sampled (a stop token included)
  uint64_t decode_steps = 0;   // single-token forwards
  double decode_seconds = 0;
  double first_token_seconds = -1;  // from the first prompt's start to the first sampled token; -1: none yet
};

/// What one generate() call produced.
struct Reply {
  std::vector<int32_t> ids;  // generated tokens, the stop token excluded
  std::string text;          // their text as streamed
  bool stopped = false;      // a stop token ended the reply (else the token limit did)
};

/// Drives an executor for generation. Not thread-safe.
class Generator {
 public:
  /// `stop_ids` end a reply; sampling only considers ids below min(n_vocab, tokenizer size).
  Generator(scheduler::Executor& executor, const tokenizer::Tokenizer& tokenizer, sampler::Sampler& sampler,
            std::vector<int32_t> stop_ids);

  /// Feeds `prompt` (after any token still owed to the cache from the previous call) and samples up to
  /// `n_predict` tokens (< 0: until a stop token or the context is full), passing text pieces to `out`.
  /// Throws mixcl::Error when the prompt or a generated token does not fit the context.
  Reply generate(std::span<const int32_t> prompt, int n_predict, const std::function<void(std::string_view)>& out);

  const GenerationStats& stats() const { return stats_; }

 private:
  scheduler::ForwardResult forward(std::span<const int32_t> tokens, bool decode);

  scheduler::Executor& executor_;
  const tokenizer::Tokenizer& tokenizer_;
  sampler::Sampler& sampler_;
  std::vector<int32_t> stop_ids_;
  size_t sample_vocab_;
  std::vector<int32_t> owed_;  // sampled but not yet in the KV cache (the last token of the previous reply)
  GenerationStats stats_;
};

}  // namespace mixcl::cli
