// Operands, calls and double-precision references of each kernel benchmark op (bench/lib/kernel_prepare.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "bench/lib/bench_data.h"
#include "bench/lib/kernel_prepare.h"
#include "common/error.h"
#include "common/half.h"

namespace mixcl::bench::detail {
namespace {

using backend::Buffer;
using backend::Device;
using backend::View;
using backend::WeightView;
using BufferPtr = std::shared_ptr<Buffer>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

BufferPtr put_bytes(Device& d, const void* data, uint64_t bytes, uint64_t granule = 1) {
  auto b = d.allocate(std::max<uint64_t>(1, bytes), std::max<uint64_t>(1, granule));
  if (bytes) d.upload(*b, 0, data, bytes).wait();
  return b;
}
template <class T>
BufferPtr put(Device& d, const std::vector<T>& v) {
  return put_bytes(d, v.data(), v.size() * sizeof(T));
}
template <class T>
std::vector<T> get(Device& d, const BufferPtr& b, uint64_t n) {
  d.finish();
  std::vector<T> v(n);
  if (n) d.download(*b, 0, v.data(), n * sizeof(T)).wait();
  return v;
}
View at(const BufferPtr& b) {
  return {b.get(), 0};
}

// Copies of a decode op's operand so the set of all copies exceeds the last-level cache.
uint64_t rotation_copies(uint64_t bytes, const KernelBenchOptions& o) {
  if (o.rotate_bytes == 0 || bytes == 0) return 1;
  return std::clamp<uint64_t>((o.rotate_bytes + bytes - 1) / bytes, 1, 1024);
}

bool is_float_format(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

// Normalized-error bound of a product against exact activations: quantized formats are multiplied with
// activations rounded to 8-bit blocks (~0.7% error on random data), halves may round activations too.
double product_bound(DType t) {
  if (t == DType::F32) return 1e-4;
  if (is_float_format(t)) return 1e-2;
  return 3e-2;
}

// A few spread indices in [0, n), without repeats.
std::vector<uint64_t> spread(uint64_t n, uint64_t count) {
  std::vector<uint64_t> v;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t idx = count == 1 ? 0 : std::min(n - 1, i * (n - 1) / (count - 1) + (i % 3 == 1 && n > 2 ? 1 : 0));
    if (std::find(v.begin(), v.end(), idx) == v.end()) v.push_back(idx);
  }
  return v;
}

// ---------------------------------------------------------------- matvec / prefill
PreparedCase prepare_matmul(Device& d, const KernelCase& c, const KernelBenchOptions& o) {
  PreparedCase p;
  const uint64_t rb = row_bytes(c.type, c.cols), wbytes = c.rows * rb;
  const auto w = random_weights(c.type, c.rows, c.cols, o.seed);
  p.copies = c.op == KernelOp::kMatvec ? rotation_copies(wbytes, o) : 1;
  std::vector<BufferPtr> ws;
  for (uint64_t i = 0; i < p.copies; ++i) ws.push_back(put_bytes(d, w.data(), wbytes, rb));
  const auto x = random_floats(c.m * c.cols, o.seed + 1);
  auto bx = put(d, x), by = d.allocate(c.m * c.rows * 4);
  p.call = [&d, ws, bx, by, c](uint64_t i) {
    d.matmul(WeightView{at(ws[i % ws.size()]), c.type, c.cols, c.rows}, at(bx), at(by), c.m);
  };
  const auto rows = spread(c.rows, 8), toks = spread(c.m, 3);
  for (uint64_t r : rows) {
    const auto deq = dequantize_row_double(c.type, w.data() + r * rb, c.cols);
    for (uint64_t t : toks) p.reference.push_back(dot(deq, x.data() + t * c.cols));
  }
  p.read_checked = [&d, by, c, rows, toks] {
    const auto y = get<float>(d, by, c.m * c.rows);
    const bool finite = std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v); });
    std::vector<double> got;
    for (uint64_t r : rows)
      for (uint64_t t : toks) got.push_back(finite ? y[t * c.rows + r] : kNaN);
    return got;
  };
  p.bound = product_bound(c.type);
  p.bytes_per_call = wbytes + c.m * (c.cols + c.rows) * 4;
  p.flops_per_call = 2.0 * static_cast<double>(c.rows) * static_cast<double>(c.cols) * static_cast<double>(c.m);
  p.working_set = p.copies * wbytes;
  return p;
}

// ---------------------------------------------------------------- moe_ffn (decode)
double silu(double z) {
  return z / (1.0 + std::exp(-z));
}

PreparedCase prepare_moe(Device& d, const KernelCase& c, const KernelBenchOptions& o) {
  PreparedCase p;
  const uint64_t E = c.cols, Fe = c.rows, k = c.n_used;
  const uint64_t gu_rb = row_bytes(c.type, E), dn_rb = row_bytes(c.type2, Fe);
  const uint64_t mat_gu = Fe * gu_rb, mat_dn = E * dn_rb, expert_bytes = 2 * mat_gu + mat_dn;
  // Experts held: enough that the ones a call reads come from memory, never fewer than k, at most X.
  const uint64_t X = std::clamp<uint64_t>(o.rotate_bytes ? (o.rotate_bytes + expert_bytes - 1) / expert_bytes : k, k,
                                          c.n_expert);
  const auto x = random_floats(E, o.seed + 3);
  std::vector<float> wts(k);
  FastRng rng(o.seed + 4);
  for (auto& v : wts) v = 0.5f + 0.45f * rng.uniform();
  std::vector<double> h(Fe * k);
  BufferPtr bg, bu, bd;
  {
    const auto gate = random_weights(c.type, X * Fe, E, o.seed);
    const auto up = random_weights(c.type, X * Fe, E, o.seed + 1);
    // The first call routes to experts 0..k-1: its reference needs their gate and up rows in full.
    for (uint64_t j = 0; j < k; ++j)
      for (uint64_t f = 0; f < Fe; ++f) {
        const uint64_t r = j * Fe + f;
        const double g = dot(dequantize_row_double(c.type, gate.data() + r * gu_rb, E), x.data());
        const double u = dot(dequantize_row_double(c.type, up.data() + r * gu_rb, E), x.data());
        h[j * Fe + f] = silu(g) * u;
      }
    bg = put_bytes(d, gate.data(), gate.size(), gu_rb);
    bu = put_bytes(d, up.data(), up.size(), gu_rb);
  }
  const auto outs = spread(E, 16);
  {
    const auto down = random_weights(c.type2, X * E, Fe, o.seed + 2);
    for (uint64_t oi : outs) {
      double s = 0;
      for (uint64_t j = 0; j < k; ++j) {
        const auto deq = dequantize_row_double(c.type2, down.data() + (j * E + oi) * dn_rb, Fe);
        double acc = 0;
        for (uint64_t f = 0; f < Fe; ++f) acc += deq[f] * h[j * Fe + f];
        s += wts[j] * acc;
      }
      p.reference.push_back(s);
    }
    bd = put_bytes(d, down.data(), down.size(), dn_rb);
  }
  // Call i routes to experts (i k + j) mod X: consecutive calls read different experts.
  p.copies = X;
  std::vector<BufferPtr> ids;
  for (uint64_t s = 0; s < X; ++s) {
    std::vector<int32_t> v(k);
    for (uint64_t j = 0; j < k; ++j) v[j] = static_cast<int32_t>((s * k + j) % X);
    ids.push_back(put(d, v));
  }
  auto bx = put(d, x), bw = put(d, wts), bo = put(d, std::vector<float>(E, 0.0f));
  const backend::ExpertWeights ew{WeightView{at(bg), c.type, E, Fe}, WeightView{at(bu), c.type, E, Fe},
                                  WeightView{at(bd), c.type2, Fe, E}, static_cast<uint32_t>(X)};
  p.call = [&d, ew, ids, bx, bw, bo, k, bg, bu, bd](uint64_t i) {
    d.moe_ffn(ew, at(bx), at(ids[i % ids.size()]), at(bw), at(bo), 1, k);
  };
  p.read_checked = [&d, bo, E, outs] {
    const auto y = get<float>(d, bo, E);
    std::vector<double> got;
    for (uint64_t oi : outs) got.push_back(y[oi]);
    return got;
  };
  p.bound = is_float_format(c.type) && is_float_format(c.type2) ? 1e-3 : 5e-2;
  p.bytes_per_call = k * expert_bytes + 2 * E * 4;
  p.flops_per_call = 6.0 * static_cast<double>(E) * static_cast<double>(Fe) * static_cast<double>(k);
  p.working_set = X * expert_bytes;
  return p;
}

// ---------------------------------------------------------------- mla_attention (decode)
PreparedCase prepare_attention(Device& d, const KernelCase& c, const KernelBenchOptions& o) {
  PreparedCase p;
  const uint64_t H = c.n_head, T = c.context, L = c.rows, R = c.cols, D = L + R;
  const bool f16 = c.type == DType::F16;
  if (!f16 && c.type != DType::F32) fail("bench: mla_attention cache type must be F32 or F16, not {}", dtype_name(c.type));
  auto kv = random_floats(T * D, o.seed);
  std::vector<uint16_t> kvh;
  if (f16) {
    kvh.resize(kv.size());
    for (uint64_t i = 0; i < kv.size(); ++i) {
      kvh[i] = fp32_to_fp16(kv[i]);
      kv[i] = fp16_to_fp32(kvh[i]);  // the reference sees the stored values
    }
  }
  const uint64_t kv_bytes = T * D * (f16 ? 2 : 4);
  p.copies = rotation_copies(kv_bytes, o);
  std::vector<BufferPtr> kvs;
  for (uint64_t i = 0; i < p.copies; ++i)
    kvs.push_back(f16 ? put_bytes(d, kvh.data(), kv_bytes) : put_bytes(d, kv.data(), kv_bytes));
  const auto q = random_floats(H * D, o.seed + 1, 0.3f);
  const float scale = 0.0721688f;  // 1 / sqrt(192), V2/V3's q/k head width
  auto bq = put(d, q), bo = d.allocate(H * L * 4);
  const DType type = c.type;
  p.call = [&d, kvs, bq, bo, type, T, H, L, R, scale](uint64_t i) {
    d.mla_attention(at(bq), at(kvs[i % kvs.size()]), type, at(bo), 1, T - 1, H, L, R, scale);
  };
  const auto heads = spread(H, 3);
  for (uint64_t h : heads) {
    std::vector<double> s(T);
    double mx = -INFINITY;
    for (uint64_t t = 0; t < T; ++t) {
      double a = 0;
      for (uint64_t e = 0; e < D; ++e) a += double(q[h * D + e]) * double(kv[t * D + e]);
      s[t] = a * scale;
      mx = std::max(mx, s[t]);
    }
    double sum = 0;
    for (auto& v : s) sum += (v = std::exp(v - mx));
    for (uint64_t e = 0; e < L; ++e) {
      double a = 0;
      for (uint64_t t = 0; t < T; ++t) a += s[t] * double(kv[t * D + e]);
      p.reference.push_back(a / sum);
    }
  }
  p.read_checked = [&d, bo, H, L, heads] {
    const auto y = get<float>(d, bo, H * L);
    std::vector<double> got;
    for (uint64_t h : heads)
      for (uint64_t e = 0; e < L; ++e) got.push_back(y[h * L + e]);
    return got;
  };
  p.bound = 1e-4;
  p.bytes_per_call = kv_bytes + H * (D + L) * 4;
  p.flops_per_call = static_cast<double>(H) * static_cast<double>(T) * static_cast<double>(2 * D + 2 * L);
  p.working_set = p.copies * kv_bytes;
  return p;
}

// ---------------------------------------------------------------- rmsnorm
PreparedCase prepare_rmsnorm(Device& d, const KernelCase& c, const KernelBenchOptions& o) {
  PreparedCase p;
  const uint64_t rows = c.rows, n = c.cols;
  const float eps = 1e-6f;
  const auto x = random_floats(rows * n, o.seed);
  auto w = random_floats(n, o.seed + 1, 0.1f);
  for (auto& v : w) v += 1.0f;
  auto bx = put(d, x), bw = put(d, w), bo = d.allocate(rows * n * 4);
  p.call = [&d, bx, bw, bo, rows, n, eps](uint64_t) { d.rmsnorm(at(bx), at(bw), at(bo), rows, n, eps); };
  const auto checked = spread(rows, 3);
  for (uint64_t r : checked) {
    double ss = 0;
    for (uint64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * double(x[r * n + i]);
    const double inv = 1.0 / std::sqrt(ss / double(n) + double(eps));
    for (uint64_t i = 0; i < n; ++i) p.reference.push_back(double(w[i]) * double(x[r * n + i]) * inv);
  }
  p.read_checked = [&d, bo, rows, n, checked] {
    const auto y = get<float>(d, bo, rows * n);
    std::vector<double> got;
    for (uint64_t r : checked)
      for (uint64_t i = 0; i < n; ++i) got.push_back(y[r * n + i]);
    return got;
  };
  p.bound = 1e-5;
  p.bytes_per_call = (2 * rows * n + n) * 4;
  p.working_set = p.bytes_per_call;
  return p;
}

// ---------------------------------------------------------------- rope (V3's q heads, YaRN)
PreparedCase prepare_rope(Device& d, const KernelCase& c, const KernelBenchOptions& o) {
  PreparedCase p;
  const uint64_t m = c.m, H = c.n_head, stride = c.cols, nd = c.rows, off = stride - nd;
  const backend::RopeParams rp{static_cast<uint32_t>(nd), false, 10000.0f, 40.0f, 4096, 32.0f, 1.0f};
  const auto x = random_floats(m * H * stride, o.seed);
  std::vector<int32_t> pos(m);
  for (uint64_t t = 0; t < m; ++t) pos[t] = static_cast<int32_t>(4096 - m + t);
  auto bx = put(d, x), bp = put(d, pos);
  p.call = [&d, bx, bp, m, H, stride, off, rp](uint64_t) { d.rope(at(bx), at(bp), m, H, stride, off, rp); };
  // Frequencies of deepseek2.md §5.5 in double.
  std::vector<double> inv(nd / 2);
  const double base = rp.freq_base, f = rp.yarn_factor, L0 = rp.yarn_orig_ctx;
  auto corr = [&](double r) { return double(nd) * std::log(L0 / (2 * std::numbers::pi * r)) / (2 * std::log(base)); };
  const double lo = std::max(0.0, std::floor(corr(rp.yarn_beta_fast)));
  const double hi = std::min(double(nd - 1), std::ceil(corr(rp.yarn_beta_slow)));
  for (uint64_t i = 0; i < nd / 2; ++i) {
    inv[i] = std::pow(base, -2.0 * double(i) / double(nd));
    const double t = std::clamp((double(i) - lo) / std::max(hi - lo, 0.001), 0.0, 1.0);
    inv[i] *= (1 - t) + t / f;
  }
  const auto toks = spread(m, 2);
  for (uint64_t t : toks)
    for (uint64_t h = 0; h < H; ++h)
      for (uint64_t e = 0; e < stride; ++e) {
        const float* head = x.data() + (t * H + h) * stride;
        if (e < off) {
          p.reference.push_back(head[e]);
          continue;
        }
        const uint64_t i = (e - off) / 2;
        const double th = double(pos[t]) * inv[i], x0 = head[off + 2 * i], x1 = head[off + 2 * i + 1];
        p.reference.push_back((e - off) % 2 == 0 ? x0 * std::cos(th) - x1 * std::sin(th)
                                                 : x0 * std::sin(th) + x1 * std::cos(th));
      }
  p.read_checked = [&d, bx, m, H, stride, toks] {
    const auto y = get<float>(d, bx, m * H * stride);
    std::vector<double> got;
    for (uint64_t t : toks)
      for (uint64_t i = 0; i < H * stride; ++i) got.push_back(y[t * H * stride + i]);
    return got;
  };
  p.bound = 1e-4;
  p.bytes_per_call = 2 * m * H * nd * 4 + m * 4;
  p.working_set = m * H * stride * 4;
  return p;
}

// ---------------------------------------------------------------- router
struct RouterSetup {
  backend::Gating gating;
  bool bias, norm;
  float scale;
};
RouterSetup router_setup(const KernelCase& c) {
  if (c.model == "v3") return {backend::Gating::kSigmoid, true, true, 2.5f};
  return {backend::Gating::kSoftmax, false, false, 1.0f};  // V2-Lite
}

// Chosen (id, weight) pairs of one token, sorted by id (deepseek2.md §6.2, in double).
std::vector<std::pair<int32_t, double>> ref_route(const float* z, const std::vector<float>& bias, const KernelCase& c,
                                                  const RouterSetup& s) {
  const uint64_t X = c.n_expert;
  std::vector<double> sc(X), sel(X);
  double mx = -INFINITY, sum = 0;
  for (uint64_t e = 0; e < X; ++e) mx = std::max(mx, double(z[e]));
  for (uint64_t e = 0; e < X; ++e) {
    const double v = z[e];
    if (s.gating == backend::Gating::kSoftmax) sum += (sc[e] = std::exp(v - mx));
    else if (s.gating == backend::Gating::kSigmoid) sc[e] = 1.0 / (1.0 + std::exp(-v));
    else sc[e] = std::sqrt(v > 30 ? v : std::log1p(std::exp(v)));
  }
  if (s.gating == backend::Gating::kSoftmax)
    for (auto& v : sc) v /= sum;
  for (uint64_t e = 0; e < X; ++e) sel[e] = sc[e] + (s.bias ? double(bias[e]) : 0.0);
  if (c.n_group > 1) {
    const uint64_t gs = X / c.n_group;
    std::vector<std::pair<double, uint64_t>> gscore;
    for (uint64_t g = 0; g < c.n_group; ++g) {
      std::vector<double> v(sel.begin() + g * gs, sel.begin() + (g + 1) * gs);
      std::partial_sort(v.begin(), v.begin() + 2, v.end(), std::greater<>());
      gscore.push_back({-(v[0] + v[1]), g});  // ascending sort: best first, lower group on ties
    }
    std::sort(gscore.begin(), gscore.end());
    for (uint64_t i = c.n_group_used; i < c.n_group; ++i)
      for (uint64_t e = 0; e < gs; ++e) sel[gscore[i].second * gs + e] = -INFINITY;
  }
  std::vector<uint64_t> order(X);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return sel[a] > sel[b]; });
  std::vector<std::pair<int32_t, double>> out;
  double wsum = 0;
  for (uint64_t j = 0; j < c.n_used; ++j) {
    out.push_back({static_cast<int32_t>(order[j]), sc[order[j]]});
    wsum += sc[order[j]];
  }
  for (auto& [id, w] : out) {
    if (s.norm) w /= std::max(wsum, 6.103515625e-5);
    if (s.scale != 0.0f && s.scale != 1.0f) w *= s.scale;
  }
  std::sort(out.begin(), out.end());
  return out;
}

PreparedCase prepare_router(Device& d, const KernelCase& c, const KernelBenchOptions& o) {
  PreparedCase p;
  const RouterSetup s = router_setup(c);
  const uint64_t m = c.m, X = c.n_expert, k = c.n_used;
  const auto logits = random_floats(m * X, o.seed, 1.5f);
  const auto bias = s.bias ? random_floats(X, o.seed + 1, 0.3f) : std::vector<float>{};
  auto bl = put(d, logits), bb = s.bias ? put(d, bias) : nullptr;
  auto bi = d.allocate(m * k * 4), bw = d.allocate(m * k * 4);
  const backend::RouterParams rp{s.gating,
                                 static_cast<uint32_t>(X),
                                 static_cast<uint32_t>(k),
                                 static_cast<uint32_t>(c.n_group),
                                 static_cast<uint32_t>(c.n_group_used),
                                 s.norm,
                                 s.scale};
  p.call = [&d, bl, bb, bi, bw, m, rp](uint64_t) { d.router(at(bl), bb ? at(bb) : View{}, at(bi), at(bw), m, rp); };
  const auto toks = spread(m, 3);
  std::vector<std::vector<std::pair<int32_t, double>>> refs;
  for (uint64_t t : toks) {
    refs.push_back(ref_route(logits.data() + t * X, bias, c, s));
    for (const auto& [id, w] : refs.back()) p.reference.push_back(w);
  }
  p.read_checked = [&d, bi, bw, m, k, toks, refs] {
    const auto ids = get<int32_t>(d, bi, m * k);
    const auto ws = get<float>(d, bw, m * k);
    std::vector<double> got;
    for (size_t i = 0; i < toks.size(); ++i) {
      std::vector<std::pair<int32_t, double>> g;
      for (uint64_t j = 0; j < k; ++j) g.push_back({ids[toks[i] * k + j], ws[toks[i] * k + j]});
      std::sort(g.begin(), g.end());
      for (uint64_t j = 0; j < k; ++j) got.push_back(g[j].first == refs[i][j].first ? g[j].second : kNaN);
    }
    return got;
  };
  p.bound = 1e-5;
  p.bytes_per_call = (m * X + (s.bias ? X : 0) + 2 * m * k) * 4;
  p.working_set = p.bytes_per_call;
  return p;
}

}  // namespace

PreparedCase prepare_case(Device& device, const KernelCase& c, const KernelBenchOptions& options) {
  switch (c.op) {
    case KernelOp::kMatvec:
    case KernelOp::kPrefill:
      return prepare_matmul(device, c, options);
    case KernelOp::kMoeFfn:
      return prepare_moe(device, c, options);
    case KernelOp::kMlaAttention:
      return prepare_attention(device, c, options);
    case KernelOp::kRmsnorm:
      return prepare_rmsnorm(device, c, options);
    case KernelOp::kRope:
      return prepare_rope(device, c, options);
    case KernelOp::kRouter:
      return prepare_router(device, c, options);
  }
  fail("bench: unknown op");
}

}  // namespace mixcl::bench::detail
