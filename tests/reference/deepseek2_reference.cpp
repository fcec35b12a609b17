#include "tests/reference/deepseek2_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <stdexcept>

namespace mixcl::reference {
namespace {

using Vec = std::vector<double>;

const RefTensor& need(const RefModel& m, const std::string& name) {
  const RefTensor* t = m.tensor(name);
  if (!t) throw std::runtime_error("reference: missing tensor " + name);
  return *t;
}

// y = W x for a GGUF 2-D weight {K, N}: row n is K contiguous values.
Vec matvec(const RefTensor& w, const Vec& x) {
  const uint64_t k = w.dims.at(0), n = w.dims.at(1);
  if (x.size() != k) throw std::runtime_error("reference: matvec size mismatch");
  Vec y(n, 0.0);
  for (uint64_t r = 0; r < n; ++r) {
    double s = 0;
    for (uint64_t c = 0; c < k; ++c) s += w.data[r * k + c] * x[c];
    y[r] = s;
  }
  return y;
}

// y = W_e x for expert e of a 3-D weight {K, N, E}.
Vec expert_matvec(const RefTensor& w, int64_t e, const Vec& x, uint64_t row_begin = 0, uint64_t rows = 0) {
  const uint64_t k = w.dims.at(0), n = w.dims.at(1);
  if (rows == 0) rows = n;
  Vec y(rows, 0.0);
  const double* base = w.data.data() + static_cast<uint64_t>(e) * n * k;
  for (uint64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (uint64_t c = 0; c < k; ++c) s += base[(row_begin + r) * k + c] * x[c];
    y[r] = s;
  }
  return y;
}

Vec rmsnorm(const Vec& z, const RefTensor& w, double eps) {
  double ss = 0;
  for (double v : z) ss += v * v;
  const double r = 1.0 / std::sqrt(ss / static_cast<double>(z.size()) + eps);
  Vec y(z.size());
  for (size_t j = 0; j < z.size(); ++j) y[j] = w.data.at(j) * (z[j] * r);
  return y;
}

double silu(double z) { return z / (1.0 + std::exp(-z)); }

Vec swiglu(const Vec& gate, const Vec& up) {
  Vec h(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) h[i] = silu(gate[i]) * up[i];
  return h;
}

// Adjacent-pair RoPE on a dr-vector at position p (spec §5.5).
void rope(double* x, const Vec& inv, int64_t p) {
  for (size_t i = 0; i < inv.size(); ++i) {
    const double theta = static_cast<double>(p) * inv[i];
    const double c = std::cos(theta), s = std::sin(theta);
    const double a = x[2 * i], b = x[2 * i + 1];
    x[2 * i] = a * c - b * s;
    x[2 * i + 1] = a * s + b * c;
  }
}

struct KvEntry {
  std::vector<Vec> k;  // per head: dn + dr
  std::vector<Vec> v;  // per head: dv
};

// Key-nope and value of head i from the latent c, for either MLA layout (spec §3.4, §5.2).
void decompress(const RefModel& m, const std::string& blk, const Vec& c, int64_t head, Vec& k_nope, Vec& v) {
  const auto& hp = m.hp;
  const int64_t dn = hp.nope_dims, dv = hp.v_dims, lkv = hp.kv_lora_rank;
  k_nope.assign(dn, 0.0);
  v.assign(dv, 0.0);
  if (const RefTensor* kvb = m.tensor(blk + "attn_kv_b.weight")) {
    for (int64_t d = 0; d < dn + dv; ++d) {
      const double* row = kvb->data.data() + (head * (dn + dv) + d) * lkv;
      double s = 0;
      for (int64_t cc = 0; cc < lkv; ++cc) s += row[cc] * c[cc];
      (d < dn ? k_nope[d] : v[d - dn]) = s;
    }
    return;
  }
  const RefTensor& kb = need(m, blk + "attn_k_b.weight");  // {dn, Lkv, H}: (i*Lkv + c)*dn + d
  const RefTensor& vb = need(m, blk + "attn_v_b.weight");  // {Lkv, dv, H}: (i*dv + v)*Lkv + c
  for (int64_t cc = 0; cc < lkv; ++cc)
    for (int64_t d = 0; d < dn; ++d) k_nope[d] += kb.data[(head * lkv + cc) * dn + d] * c[cc];
  for (int64_t vv = 0; vv < dv; ++vv) {
    double s = 0;
    for (int64_t cc = 0; cc < lkv; ++cc) s += vb.data[(head * dv + vv) * lkv + cc] * c[cc];
    v[vv] = s;
  }
}

Vec attention(const RefModel& m, int64_t layer, const Vec& h, int64_t pos, std::vector<KvEntry>& cache,
              const Vec& inv, double scale) {
  const auto& hp = m.hp;
  const std::string blk = "blk." + std::to_string(layer) + ".";
  const int64_t H = hp.n_head, dn = hp.nope_dims, dr = hp.rope_dims, dv = hp.v_dims, lkv = hp.kv_lora_rank;
  Vec q;
  if (m.tensor(blk + "attn_q_a.weight")) {
    Vec cq = matvec(need(m, blk + "attn_q_a.weight"), h);
    cq = rmsnorm(cq, need(m, blk + "attn_q_a_norm.weight"), hp.eps);
    q = matvec(need(m, blk + "attn_q_b.weight"), cq);
  } else {
    q = matvec(need(m, blk + "attn_q.weight"), h);
  }
  Vec a = matvec(need(m, blk + "attn_kv_a_mqa.weight"), h);
  Vec c(a.begin(), a.begin() + lkv);
  Vec k_pe(a.begin() + lkv, a.begin() + lkv + dr);
  c = rmsnorm(c, need(m, blk + "attn_kv_a_norm.weight"), hp.eps);
  rope(k_pe.data(), inv, pos);

  KvEntry entry;
  for (int64_t i = 0; i < H; ++i) {
    Vec k_nope, v;
    decompress(m, blk, c, i, k_nope, v);
    k_nope.insert(k_nope.end(), k_pe.begin(), k_pe.end());
    entry.k.push_back(std::move(k_nope));
    entry.v.push_back(std::move(v));
  }
  cache.push_back(std::move(entry));

  Vec o(H * dv, 0.0);
  for (int64_t i = 0; i < H; ++i) {
    Vec qi(q.begin() + i * (dn + dr), q.begin() + (i + 1) * (dn + dr));
    rope(qi.data() + dn, inv, pos);
    Vec score(cache.size());
    for (size_t s = 0; s < cache.size(); ++s)
      score[s] = scale * std::inner_product(qi.begin(), qi.end(), cache[s].k[i].begin(), 0.0);
    const double mx = *std::max_element(score.begin(), score.end());
    double sum = 0;
    for (double& x : score) sum += (x = std::exp(x - mx));
    for (size_t s = 0; s < cache.size(); ++s)
      for (int64_t vv = 0; vv < dv; ++vv) o[i * dv + vv] += score[s] / sum * cache[s].v[i][vv];
  }
  return matvec(need(m, blk + "attn_output.weight"), o);
}

Vec shared_or_dense(const RefModel& m, const std::string& blk, const std::string& suffix, const Vec& h) {
  Vec g = matvec(need(m, blk + "ffn_gate" + suffix + ".weight"), h);
  Vec u = matvec(need(m, blk + "ffn_up" + suffix + ".weight"), h);
  return matvec(need(m, blk + "ffn_down" + suffix + ".weight"), swiglu(g, u));
}

Vec moe(const RefModel& m, int64_t layer, int64_t pos, const Vec& h, std::vector<int>& chosen, Vec& sel_out) {
  const auto& hp = m.hp;
  const std::string blk = "blk." + std::to_string(layer) + ".";
  const int64_t X = hp.n_expert, k = hp.n_expert_used;
  Vec z = matvec(need(m, blk + "ffn_gate_inp.weight"), h);
  Vec s(X);
  if (hp.gating == 1) {
    const double mx = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (int64_t e = 0; e < X; ++e) sum += (s[e] = std::exp(z[e] - mx));
    for (double& v : s) v /= sum;
  } else if (hp.gating == 2) {
    for (int64_t e = 0; e < X; ++e) s[e] = 1.0 / (1.0 + std::exp(-z[e]));
  } else if (hp.gating == 4) {
    for (int64_t e = 0; e < X; ++e) {
      const double sp = z[e] > 0 ? z[e] + std::log1p(std::exp(-z[e])) : std::log1p(std::exp(z[e]));
      s[e] = std::sqrt(sp);
    }
  } else {
    throw std::runtime_error("reference: unknown gating function");
  }
  Vec sel = s;
  if (const RefTensor* bias = m.tensor(blk + "exp_probs_b.bias"))
    for (int64_t e = 0; e < X; ++e) sel[e] += bias->data[e];
  sel_out = sel;
  if (hp.n_group > 1) {
    const int64_t per = X / hp.n_group;
    std::vector<std::pair<double, int64_t>> gscore;
    for (int64_t g = 0; g < hp.n_group; ++g) {
      Vec part(sel.begin() + g * per, sel.begin() + (g + 1) * per);
      std::sort(part.begin(), part.end(), std::greater<>());
      gscore.push_back({part[0] + (per > 1 ? part[1] : 0.0), g});
    }
    // Larger score first; equal scores: lower group index first.
    std::stable_sort(gscore.begin(), gscore.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (int64_t r = hp.n_group_used; r < hp.n_group; ++r)
      for (int64_t e = 0; e < per; ++e) sel[gscore[r].second * per + e] = -std::numeric_limits<double>::infinity();
  }
  std::vector<int64_t> order(X);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sel[a] > sel[b]; });
  order.resize(k);
  for (int64_t j = 0; j < k; ++j) chosen.push_back(static_cast<int>(order[j]));
  if (m.forced_experts) {
    const std::vector<int> forced = m.forced_experts(layer - hp.n_dense, pos);
    if (!forced.empty()) {
      if (static_cast<int64_t>(forced.size()) != k) throw std::runtime_error("reference: forced experts != k");
      for (int e : forced)
        if (e < 0 || e >= X) throw std::runtime_error("reference: forced expert id out of range");
      order.assign(forced.begin(), forced.end());
    }
  }
  Vec w(k);
  double wsum = 0;
  for (int64_t j = 0; j < k; ++j) wsum += (w[j] = s[order[j]]);
  if (hp.expert_weights_norm)
    for (double& v : w) v /= std::max(wsum, 6.103515625e-5);
  if (hp.expert_weights_scale != 0 && hp.expert_weights_scale != 1)
    for (double& v : w) v *= hp.expert_weights_scale;

  const RefTensor* gate_up = m.tensor(blk + "ffn_gate_up_exps.weight");
  Vec out(hp.n_embd, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    const int64_t e = order[j];
    Vec g, u;
    if (gate_up) {
      g = expert_matvec(*gate_up, e, h, 0, hp.ffn_expert);
      u = expert_matvec(*gate_up, e, h, hp.ffn_expert, hp.ffn_expert);
    } else {
      g = expert_matvec(need(m, blk + "ffn_gate_exps.weight"), e, h);
      u = expert_matvec(need(m, blk + "ffn_up_exps.weight"), e, h);
    }
    Vec y = expert_matvec(need(m, blk + "ffn_down_exps.weight"), e, swiglu(g, u));
    for (int64_t d = 0; d < hp.n_embd; ++d) out[d] += w[j] * y[d];
  }
  std::sort(chosen.begin(), chosen.end());
  if (hp.n_shared > 0) {
    Vec sh = shared_or_dense(m, blk, "_shexp", h);
    for (int64_t d = 0; d < hp.n_embd; ++d) out[d] += sh[d];
  }
  return out;
}

}  // namespace

std::vector<double> reference_rope_inv_freq(const RefHparams& hp) {
  const double d = static_cast<double>(hp.rope_dims), base = hp.rope_base;
  std::vector<double> inv(hp.rope_dims / 2);
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = std::pow(base, -2.0 * static_cast<double>(i) / d);
  if (hp.yarn) {
    auto corr = [&](double r) { return d * std::log(hp.yarn_orig_ctx / (2 * std::numbers::pi * r)) / (2 * std::log(base)); };
    const double lo = std::max(0.0, std::floor(corr(hp.yarn_beta_fast)));
    const double hi = std::min(d - 1, std::ceil(corr(hp.yarn_beta_slow)));
    for (size_t i = 0; i < inv.size(); ++i) {
      const double t = std::clamp((static_cast<double>(i) - lo) / std::max(hi - lo, 0.001), 0.0, 1.0);
      inv[i] *= (1 - t) + t / hp.yarn_factor;
    }
  }
  return inv;
}

double reference_attention_scale(const RefHparams& hp) {
  double mscale = 1.0;
  if (hp.yarn) mscale = 1.0 + 0.1 * (hp.yarn_log_multiplier / 0.1) * std::log(hp.yarn_factor);
  return mscale * mscale / std::sqrt(static_cast<double>(hp.nope_dims + hp.rope_dims));
}

RefOutput reference_forward(const RefModel& m, std::span<const int32_t> tokens) {
  const auto& hp = m.hp;
  const Vec inv = reference_rope_inv_freq(hp);
  const double scale = reference_attention_scale(hp);
  const RefTensor& embd = need(m, "token_embd.weight");
  const RefTensor* out_w = m.tensor("output.weight");
  if (!out_w) out_w = &embd;

  RefOutput result;
  result.experts.resize(hp.n_layer - hp.n_dense);
  result.sel.resize(hp.n_layer - hp.n_dense);
  std::vector<std::vector<KvEntry>> cache(hp.n_layer);
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    const int64_t t = tokens[pos];
    if (t < 0 || static_cast<uint64_t>(t) >= embd.dims.at(1)) throw std::runtime_error("reference: token out of range");
    Vec x(embd.data.begin() + t * hp.n_embd, embd.data.begin() + (t + 1) * hp.n_embd);
    for (int64_t l = 0; l < hp.n_layer; ++l) {
      const std::string blk = "blk." + std::to_string(l) + ".";
      Vec a = attention(m, l, rmsnorm(x, need(m, blk + "attn_norm.weight"), hp.eps), static_cast<int64_t>(pos),
                        cache[l], inv, scale);
      for (int64_t d = 0; d < hp.n_embd; ++d) x[d] += a[d];
      Vec h = rmsnorm(x, need(m, blk + "ffn_norm.weight"), hp.eps);
      Vec f;
      if (l < hp.n_dense) {
        f = shared_or_dense(m, blk, "", h);
      } else {
        std::vector<int> chosen;
        Vec sel;
        f = moe(m, l, static_cast<int64_t>(pos), h, chosen, sel);
        result.experts[l - hp.n_dense].push_back(std::move(chosen));
        result.sel[l - hp.n_dense].push_back(std::move(sel));
      }
      for (int64_t d = 0; d < hp.n_embd; ++d) x[d] += f[d];
    }
    result.logits.push_back(matvec(*out_w, rmsnorm(x, need(m, "output_norm.weight"), hp.eps)));
  }
  return result;
}

}  // namespace mixcl::reference
