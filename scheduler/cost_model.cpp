#include "scheduler/cost_model.h"

#include <algorithm>
#include <cmath>

namespace mixcl::scheduler {
namespace {

constexpr double kGiga = 1e9;

// A given figure in G-units, or the default with a note of which field fell back.
double pick(double given, double fallback, const char* field, std::vector<std::string>* defaulted) {
  if (given > 0) return given * kGiga;
  if (defaulted) defaulted->push_back(field);
  return fallback * kGiga;
}

}  // namespace

Speeds resolve_speeds(const DeviceSpeeds& given, bool host, bool unified, const CostParams& params,
                      std::vector<std::string>* defaulted) {
  Speeds s;
  s.read_bps = pick(given.read_gbps, host ? params.host_read_gbps : params.accel_read_gbps, "read_gbps", defaulted);
  s.flops = pick(given.fp32_gflops, host ? params.host_gflops : params.accel_gflops, "fp32_gflops", defaulted);
  if (!host && !unified) {
    s.h2d_bps = pick(given.h2d_gbps, params.link_gbps, "h2d_gbps", defaulted);
    s.d2h_bps = pick(given.d2h_gbps, params.link_gbps, "d2h_gbps", defaulted);
  }
  s.op_overhead_s = given.op_overhead_us > 0 ? given.op_overhead_us * 1e-6
                    : host                    ? params.host_op_overhead_s
                                              : params.accel_op_overhead_s;
  s.copy_latency_s = given.copy_latency_us > 0 ? given.copy_latency_us * 1e-6 : params.transfer_latency_s;
  s.unified = unified;
  for (const auto& [type, gbps] : given.matvec_gbps)
    if (gbps > 0) s.matvec_bps[type] = gbps * kGiga;
  return s;
}

double Speeds::matvec_rate(DType type) const {
  const auto it = matvec_bps.find(type);
  return it != matvec_bps.end() ? it->second : read_bps;
}

StepTime step_time(const Work& work, const Speeds& speeds, double ops) {
  StepTime t;
  double typed = 0;
  for (const auto& [type, b] : work.by_type) {
    t.read_s += b / speeds.matvec_rate(type);
    typed += b;
  }
  t.read_s += std::max(0.0, work.bytes - typed) / speeds.read_bps;
  t.compute_s = work.flops / speeds.flops;
  t.overhead_s = ops * speeds.op_overhead_s;
  return t;
}

double transfer_time(double bytes, const Speeds* from, const Speeds* to, const CostParams& /*params: latencies are resolved into Speeds*/) {
  if (from == to) return 0;
  double t = 0;
  // Each device end crossed costs its link; a unified-memory device shares the host's memory.
  if (from != nullptr) t += from->copy_latency_s + (from->unified ? 0.0 : bytes / from->d2h_bps);
  if (to != nullptr) t += to->copy_latency_s + (to->unified ? 0.0 : bytes / to->h2d_bps);
  return t;
}

Work matmul_work(double bytes, double params, double tokens) { return Work{bytes, 2.0 * params * tokens}; }

Work attention_core_work(const arch::Deepseek2Config& c, double tokens, double positions, double read_positions,
                         double kv_elem_bytes) {
  const double lkv = c.kv_lora_rank, dr = c.rope_dim, h = c.n_head;
  Work w;
  // Per head and position: scores over Lkv + dr values, then the weighted sum over Lkv values.
  w.flops = tokens * h * positions * (2.0 * (lkv + dr) + 2.0 * lkv);
  w.bytes = read_positions * (lkv + dr) * kv_elem_bytes;
  return w;
}

double attention_ops(const arch::Deepseek2Config& c, double tokens, bool heads_as_one_op) {
  // attn_norm; q (q_a, q_a_norm, q_b with a q LoRA); kv_a, rope, two copies around kv_a_norm, the norm,
  // the cache write; rope of q, the q_pe copy; attention; output projection and the residual add.
  const double q = c.q_lora_rank > 0 ? 3 : 1;
  if (tokens <= 1 && heads_as_one_op) return 12 + q + 2;  // k_b and v_b as one matmul_heads each
  const double per_head = tokens > 1 ? 6 : 2;
  return 12 + q + per_head * c.n_head;
}

double experts_touched(uint32_t n_expert, uint32_t k, double tokens) {
  if (n_expert == 0) return 0;
  const double x = n_expert;
  return x * (1.0 - std::pow(1.0 - static_cast<double>(k) / x, tokens));
}

}  // namespace mixcl::scheduler
