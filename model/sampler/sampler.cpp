#include "model/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "common/error.h"

namespace mixcl::sampler {
namespace {

// Sort order of candidates: larger logit first, lower id among equals (makes every filter deterministic).
bool before(const Candidate& a, const Candidate& b) { return a.logit != b.logit ? a.logit > b.logit : a.id < b.id; }

}  // namespace

void check_logits(std::span<const float> logits) {
  if (logits.empty()) fail("sampler: empty logits row (the model returned no vocabulary)");
  bool any_finite = false;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float v = logits[i];
    if (std::isnan(v)) fail("sampler: the logit of token {} is NaN (the forward pass produced invalid values)", i);
    if (v == std::numeric_limits<float>::infinity())
      fail("sampler: the logit of token {} is +inf (the forward pass overflowed)", i);
    any_finite = any_finite || v != -std::numeric_limits<float>::infinity();
  }
  if (!any_finite) fail("sampler: every one of the {} logits is -inf: no token can be chosen", logits.size());
}

int32_t argmax(std::span<const float> logits) {
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = i;  // strict: ties keep the lower id
  return static_cast<int32_t>(best);
}

std::vector<Candidate> sorted_candidates(std::span<const float> logits, int32_t top_k) {
  std::vector<Candidate> c;
  c.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    if (std::isfinite(logits[i])) c.push_back({static_cast<int32_t>(i), logits[i], 0.0});
  if (top_k > 0 && static_cast<size_t>(top_k) < c.size()) {
    std::partial_sort(c.begin(), c.begin() + top_k, c.end(), before);
    c.resize(static_cast<size_t>(top_k));
  } else {
    std::sort(c.begin(), c.end(), before);
  }
  return c;
}

void apply_top_k(std::vector<Candidate>& c, int32_t k) {
  if (k > 0 && static_cast<size_t>(k) < c.size()) c.resize(static_cast<size_t>(k));
}

void apply_top_p(std::vector<Candidate>& c, float p) {
  if (p >= 1.0f || c.empty()) return;
  const double max_logit = c.front().logit;
  double total = 0.0;
  for (const Candidate& x : c) total += std::exp(static_cast<double>(x.logit) - max_logit);
  double cum = 0.0;
  for (size_t i = 0; i < c.size(); ++i) {
    cum += std::exp(static_cast<double>(c[i].logit) - max_logit) / total;
    if (cum >= p) {
      c.resize(i + 1);  // the token that crosses p stays; at least one always does
      return;
    }
  }
}

void apply_min_p(std::vector<Candidate>& c, float min_p) {
  if (min_p <= 0.0f || c.empty()) return;
  const double max_logit = c.front().logit;
  size_t keep = 1;  // the maximum always stays
  while (keep < c.size() && std::exp(static_cast<double>(c[keep].logit) - max_logit) >= min_p) ++keep;
  c.resize(keep);
}

void apply_temperature(std::vector<Candidate>& c, float temperature) {
  if (c.empty()) return;
  const double max_logit = c.front().logit;
  double total = 0.0;
  for (Candidate& x : c) {
    x.p = std::exp((static_cast<double>(x.logit) - max_logit) / temperature);
    total += x.p;
  }
  for (Candidate& x : c) x.p /= total;
}

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) {
  const auto finite = [](float v, const char* name) {
    if (!std::isfinite(v)) fail("sampler: {} must be a finite number", name);
  };
  finite(params.temperature, "temperature");
  finite(params.top_p, "top-p");
  finite(params.min_p, "min-p");
  finite(params.repeat_penalty, "repeat penalty");
  if (params.top_p <= 0.0f) fail("sampler: top-p {} must be in (0, 1] (1 turns it off)", params.top_p);
  if (params.min_p >= 1.0f)
    fail("sampler: min-p {} must be below 1 (0 turns it off; 1 would keep only exact ties of the maximum)",
         params.min_p);
  if (params.repeat_penalty <= 0.0f)
    fail("sampler: repeat penalty {} must be positive (1 turns it off)", params.repeat_penalty);
  if (params.repeat_last_n < -1) fail("sampler: repeat-last-n {} must be -1 (all), 0 (off) or more", params.repeat_last_n);
}

void Sampler::accept(int32_t id) {
  if (params_.repeat_last_n == 0 || params_.repeat_penalty == 1.0f) return;
  history_.push_back(id);
  if (params_.repeat_last_n > 0 && history_.size() > static_cast<size_t>(params_.repeat_last_n)) history_.pop_front();
}

std::vector<float> Sampler::penalized(std::span<const float> logits) const {
  std::vector<float> out(logits.begin(), logits.end());
  const std::unordered_set<int32_t> seen(history_.begin(), history_.end());
  for (int32_t id : seen) {
    if (id < 0 || static_cast<size_t>(id) >= out.size()) continue;
    float& v = out[static_cast<size_t>(id)];
    v = v > 0.0f ? v / params_.repeat_penalty : v * params_.repeat_penalty;
  }
  return out;
}

std::vector<Candidate> Sampler::distribution(std::span<const float> logits) const {
  check_logits(logits);
  std::vector<float> storage;
  if (!history_.empty()) {
    storage = penalized(logits);
    logits = storage;
  }
  if (params_.temperature <= 0.0f) {
    const int32_t id = argmax(logits);
    return {Candidate{id, logits[static_cast<size_t>(id)], 1.0}};
  }
  std::vector<Candidate> c = sorted_candidates(logits, params_.top_k);
  apply_top_k(c, params_.top_k);
  apply_top_p(c, params_.top_p);
  apply_min_p(c, params_.min_p);
  apply_temperature(c, params_.temperature);
  return c;
}

int32_t Sampler::sample(std::span<const float> logits) {
  const std::vector<Candidate> c = distribution(logits);
  if (c.size() == 1) return c.front().id;  // greedy or a single survivor: no draw, the RNG stays put
  const double u = rng_.next();
  double cum = 0.0;
  for (const Candidate& x : c) {
    cum += x.p;
    if (u < cum) return x.id;
  }
  return c.back().id;  // u within rounding of 1
}

}  // namespace mixcl::sampler
