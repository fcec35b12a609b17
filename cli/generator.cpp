#include "cli/generator.h"

#include <algorithm>
#include <chrono>

#include "common/error.h"

namespace mixcl::cli {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

Generator::Generator(scheduler::Executor& executor, const tokenizer::Tokenizer& tokenizer, sampler::Sampler& sampler,
                     std::vector<int32_t> stop_ids)
    : executor_(executor),
      tokenizer_(tokenizer),
      sampler_(sampler),
      stop_ids_(std::move(stop_ids)),
      sample_vocab_(std::min<size_t>(executor.config().n_vocab, tokenizer.vocab_size())) {
  if (sample_vocab_ == 0) fail("the model has an empty vocabulary");
}

scheduler::ForwardResult Generator::forward(std::span<const int32_t> tokens, bool decode) {
  const auto t = Clock::now();
  scheduler::ForwardResult r = executor_.forward(tokens);
  (decode ? stats_.decode_seconds : stats_.prompt_seconds) += since(t);
  if (decode) ++stats_.decode_steps;
  else stats_.prompt_tokens += tokens.size();
  if (r.logits.size() < sample_vocab_)
    fail("the forward pass returned {} logits, fewer than the {} of the vocabulary", r.logits.size(), sample_vocab_);
  return r;
}

Reply Generator::generate(std::span<const int32_t> prompt, int n_predict,
                          const std::function<void(std::string_view)>& out) {
  std::vector<int32_t> input = owed_;
  input.insert(input.end(), prompt.begin(), prompt.end());
  if (input.empty()) fail("empty prompt: there is nothing to generate from");
  const uint64_t used = executor_.position(), room = executor_.context() - used;
  if (input.size() > room)
    fail("context full: the prompt needs {} positions but only {} of the {} (-c {}) are left; raise -c or start "
         "over",
         input.size(), room, executor_.context(), executor_.context());
  owed_.clear();
  const auto t0 = Clock::now();
  std::vector<float> logits = forward(input, false).logits;
  for (int32_t id : prompt) sampler_.accept(id);  // owed tokens were accepted when they were sampled

  Reply reply;
  tokenizer::StreamDecoder decoder(tokenizer_, /*render_special=*/false);
  const auto emit = [&](const std::string& piece) {
    if (piece.empty()) return;
    reply.text += piece;
    out(piece);
  };
  for (int i = 0; n_predict < 0 || i < n_predict; ++i) {
    const int32_t id = sampler_.sample(std::span<const float>(logits.data(), sample_vocab_));
    ++stats_.generated;
    if (stats_.first_token_seconds < 0) stats_.first_token_seconds = since(t0);
    owed_ = {id};  // the cache does not hold it yet
    if (std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end()) {
      reply.stopped = true;
      break;
    }
    sampler_.accept(id);
    reply.ids.push_back(id);
    emit(decoder.push(id));
    if (n_predict >= 0 && i + 1 == n_predict) break;
    if (executor_.position() >= executor_.context()) {
      emit(decoder.finish());
      if (n_predict < 0) return reply;  // -n -1 runs until the context is full
      fail("context full after {} generated tokens: all {} positions (-c) are used; raise -c or lower -n",
           reply.ids.size(), executor_.context());
    }
    logits = forward(owed_, true).logits;
    owed_.clear();
  }
  emit(decoder.finish());
  return reply;
}

}  // namespace mixcl::cli
