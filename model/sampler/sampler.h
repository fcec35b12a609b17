#pragma once
// Picks the next token from a row of logits: repetition penalty, then llama.cpp's usual filter order
// (top-k, top-p, min-p, temperature), then a seeded draw that gives the same ids on every platform.
#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace mixcl::sampler {

/// Sampling settings; every filter has a neutral value that turns it off.
struct SamplerParams {
  float temperature = 0.8f;     // <= 0: greedy (argmax, ties to the lowest id)
  int32_t top_k = 40;           // <= 0: off; else keep the k largest logits
  float top_p = 0.95f;          // >= 1: off; else keep the smallest prefix whose probability reaches p
  float min_p = 0.05f;          // <= 0: off; else keep tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;  // 1: off; else logits of recent tokens: > 0 divided, <= 0 multiplied
  int32_t repeat_last_n = 64;   // how many accepted tokens the penalty looks back; -1: all of them
  uint64_t seed = 0;            // seed of the draw
};

/// One token still in the running, with its probability once the distribution is final.
struct Candidate {
  int32_t id = 0;
  float logit = 0.0f;
  double p = 0.0;
};

/// Uniform doubles in [0, 1) from std::mt19937_64 (whose output sequence the standard fixes), using the top
/// 53 bits: unlike std::uniform_real_distribution, identical on every standard library.
class UniformRng {
 public:
  explicit UniformRng(uint64_t seed) : engine_(seed) {}
  /// The next value in [0, 1).
  double next() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

 private:
  std::mt19937_64 engine_;
};

/// Throws mixcl::Error when `logits` is empty, holds a NaN or +inf, or is -inf everywhere.
void check_logits(std::span<const float> logits);
/// The id of the largest logit, the lowest id among equal ones (logits must pass check_logits).
int32_t argmax(std::span<const float> logits);
/// Every token with a finite logit, sorted by decreasing logit then increasing id; when 0 < top_k < n only
/// the first top_k are sorted and returned.
std::vector<Candidate> sorted_candidates(std::span<const float> logits, int32_t top_k = 0);
/// Keeps the first k candidates (list sorted as sorted_candidates makes it); k <= 0 keeps all.
void apply_top_k(std::vector<Candidate>& c, int32_t k);
/// Keeps the shortest prefix whose softmax mass (of the list's logits, no temperature) reaches p; p >= 1: all.
void apply_top_p(std::vector<Candidate>& c, float p);
/// Keeps candidates with exp(logit - max logit) >= min_p; min_p <= 0: all.
void apply_min_p(std::vector<Candidate>& c, float min_p);
/// Sets each candidate's p to softmax(logit / temperature) over the list (temperature > 0).
void apply_temperature(std::vector<Candidate>& c, float temperature);

/// A sampler with its RNG and the history the repetition penalty looks at. Not thread-safe.
class Sampler {
 public:
  /// Validates `params` (throws mixcl::Error naming the bad setting).
  explicit Sampler(SamplerParams params);

  /// Draws a token id from `logits` (one row, n_vocab long). Throws on NaN/+inf/empty/all -inf input.
  int32_t sample(std::span<const float> logits);
  /// Records a token that joined the sequence (prompt or generated) for the repetition penalty.
  void accept(int32_t id);
  /// Forgets the history (the RNG keeps going).
  void reset_history() { history_.clear(); }

  /// The kept candidates with their final probabilities (sorted as sorted_candidates), what sample() draws
  /// from; greedy settings give the single argmax with p = 1.
  std::vector<Candidate> distribution(std::span<const float> logits) const;

  const SamplerParams& params() const { return params_; }

 private:
  std::vector<float> penalized(std::span<const float> logits) const;

  SamplerParams params_;
  UniformRng rng_;
  std::deque<int32_t> history_;
};

}  // namespace mixcl::sampler
