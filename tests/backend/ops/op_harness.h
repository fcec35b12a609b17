#pragma once
// The one table of forward-pass op cases and their checks against tests/reference/ops_reference, written
// against an abstract device under test (OpTarget) so the host and the OpenCL implementations run the same
// cases: a backend's test defines its OpTarget and calls the check_* functions for every case of the table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/device.h"
#include "backend/op_params.h"
#include "common/error.h"
#include "common/half.h"
#include "model/quant/quant.h"
#include "tests/reference/matmul_reference.h"
#include "tests/reference/ops_reference.h"

namespace mixcl::backend::ops_test {

/// A device under test: its Device (memory and copies) and the ops with the signatures of device_ops.md.
class OpTarget {
 public:
  virtual ~OpTarget() = default;
  virtual Device& device() = 0;
  virtual void get_rows(const WeightView& table, View ids, View out, uint64_t n) = 0;
  virtual void rope(View x, View positions, uint64_t n_tokens, uint64_t n_heads, uint64_t head_stride,
                    uint64_t dim_offset, const RopeParams& p) = 0;
  virtual void softmax(View x, uint64_t rows, uint64_t n, float scale) = 0;
  virtual void swiglu(View gate, View up, View out, uint64_t n, float clamp) = 0;
  virtual void router(View logits, View bias, View ids, View weights, uint64_t m, const RouterParams& p) = 0;
  virtual void moe_ffn(const ExpertWeights& w, View x, View ids, View weights, View out, uint64_t m,
                       uint64_t k, float clamp) = 0;
  virtual void mla_attention(View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                             uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale) = 0;
  virtual void convert(View src, View dst, DType dst_type, uint64_t n) = 0;
};

// ---- stated error bounds (normalised error: ||got - ref|| / ||ref||, references in f64) ----
inline constexpr double kRopeBound = 2e-6;  // f32 rotation of f64 cos/sin
inline constexpr double kSoftmaxBound = 1e-6;
inline constexpr double kSwigluBound = 1e-6;
inline constexpr double kRouterWeightBound = 1e-6;  // ids must match exactly
inline constexpr double kAttnBound = 1e-5;          // f32 dots of 576 values and online softmax
inline constexpr double kAbsorbedVsNaiveBound = 1e-5;
inline constexpr double kMoeFloatBound = 2e-6;  // F32 / F16 expert weights (measured <= 6e-7)
// Quantized weights against a reference that rounds the activations to 8-bit blocks as the integer-dot
// kernels do. Measured <= 5e-7; the bound leaves room for a rare 8-bit rounding flip of one h value between
// the f32 and f64 computations (one step of one element is ~3e-3 of the output norm at Fe = 32), while a
// wrong activation format or a dropped expert gives >= 1e-2.
inline constexpr double kMoeQuantBound = 5e-3;

// ---- device buffers ----
/// Uploads a vector (at least one byte is allocated, so empty tensors still have a buffer).
template <class T>
std::shared_ptr<Buffer> put(Device& d, const std::vector<T>& v) {
  auto b = d.allocate(std::max<uint64_t>(1, v.size() * sizeof(T)));
  if (!v.empty()) d.upload(*b, 0, v.data(), v.size() * sizeof(T)).wait();
  return b;
}
/// Downloads n values of T.
template <class T>
std::vector<T> get(Device& d, const std::shared_ptr<Buffer>& b, uint64_t n) {
  std::vector<T> v(n);
  d.finish();
  if (n) d.download(*b, 0, v.data(), n * sizeof(T)).wait();
  return v;
}
inline View at(const std::shared_ptr<Buffer>& b) {
  return {b.get(), 0};
}

inline std::vector<float> normal_floats(uint64_t n, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

/// Random weight rows of `type`: quantized N(0, sigma) values, or random codes with finite block scales for
/// formats without a quantizer.
inline std::vector<uint8_t> random_weights(DType type, uint64_t rows, uint64_t cols, std::mt19937& rng,
                                           float sigma = 1.0f) {
  const uint64_t rb = row_bytes(type, cols);
  std::vector<uint8_t> w(rows * rb);
  std::vector<float> row(cols);
  for (uint64_t r = 0; r < rows; ++r) {
    if (!quant::can_quantize(type)) {
      const DTypeInfo info = dtype_info(type);
      for (uint64_t i = 0; i < rb; ++i) w[r * rb + i] = static_cast<uint8_t>(rng());
      for (uint64_t b = 0; b < cols / info.block_elems; ++b) {  // d (f16) is the first field
        const uint16_t h = fp32_to_fp16(sigma * 0.01f * (1.0f + (rng() % 100) / 100.0f));
        std::memcpy(&w[r * rb + b * info.block_bytes], &h, 2);
      }
      continue;
    }
    row = normal_floats(cols, rng, sigma);
    quant::quantize_row(type, row.data(), w.data() + r * rb, cols);
  }
  return w;
}

// ================================ get_rows ================================
struct GetRowsCase {
  DType type;
  uint64_t rows, cols, n;
};
inline std::vector<DType> get_rows_types() {
  return {DType::F32,  DType::F16,  DType::BF16,  DType::Q8_0,   DType::Q4_0,   DType::Q4_1,
          DType::Q5_0, DType::Q5_1, DType::MXFP4, DType::IQ4_NL, DType::IQ4_XS, DType::Q2_K,
          DType::Q3_K, DType::Q4_K, DType::Q5_K,  DType::Q6_K};
}
inline std::vector<GetRowsCase> get_rows_cases() {
  std::vector<GetRowsCase> v;
  for (DType t : get_rows_types()) {
    const uint64_t b = dtype_info(t).block_elems;
    v.push_back({t, 1, b == 1 ? 1 : b, 1});
    v.push_back({t, 37, b == 1 ? 67 : 3 * b, 5});
    v.push_back({t, 300, b == 1 ? 291 : 9 * b, 40});
  }
  return v;
}
/// Rows must equal the reference codec bit for bit (both follow gguf.md §4's evaluation order).
inline void check_get_rows(OpTarget& target, const GetRowsCase& c, uint32_t seed) {
  SCOPED_TRACE(fmt::format("get_rows {} rows={} cols={} n={}", dtype_name(c.type), c.rows, c.cols, c.n));
  std::mt19937 rng(seed);
  Device& d = target.device();
  const auto table = random_weights(c.type, c.rows, c.cols, rng);
  std::vector<int32_t> ids(c.n);
  for (uint64_t i = 0; i < c.n; ++i) ids[i] = static_cast<int32_t>(rng() % c.rows);
  ids[0] = static_cast<int32_t>(c.rows - 1);
  if (c.n > 2) ids[2] = ids[1];  // repeated ids
  auto bt = put(d, table), bi = put(d, ids), bo = d.allocate(c.n * c.cols * 4);
  target.get_rows({at(bt), c.type, c.cols, c.rows}, at(bi), at(bo), c.n);
  const auto got = get<float>(d, bo, c.n * c.cols);
  const auto all = reference::ref_dequantize(c.type, table.data(), c.rows, c.cols);
  uint64_t mismatches = 0;
  for (uint64_t i = 0; i < c.n; ++i)
    for (uint64_t e = 0; e < c.cols; ++e) {
      const float want = static_cast<float>(all[ids[i] * c.cols + e]);
      if (std::memcmp(&want, &got[i * c.cols + e], 4) != 0 && ++mismatches <= 3)
        ADD_FAILURE() << "row " << i << " (id " << ids[i] << ") elem " << e << ": got " << got[i * c.cols + e]
                      << " want " << want;
    }
  EXPECT_EQ(mismatches, 0u);
}

// ================================ rope ================================
struct RopeCase {
  uint64_t n_tokens, n_heads, head_stride, dim_offset;
  RopeParams p;
  bool large_positions = false;  // positions up to 163839
};
inline RopeParams yarn_v3(uint32_t n_dims = 64) {
  return {n_dims, false, 10000.0f, 40.0f, 4096, 32.0f, 1.0f};
}
inline std::vector<RopeCase> rope_cases() {
  std::vector<RopeCase> v;
  const RopeParams plain{64, false, 10000.0f, 1.0f, 0, 32.0f, 1.0f};
  RopeParams neox = plain;
  neox.neox = true;
  RopeParams v4{64, false, 160000.0f, 16.0f, 65536, 32.0f, 1.0f};
  RopeParams small{8, false, 10000.0f, 1.0f, 0, 32.0f, 1.0f};
  RopeParams small_neox = small;
  small_neox.neox = true;
  for (uint64_t nt : {1, 2, 7, 33}) {
    v.push_back({nt, 16, 192, 128, yarn_v3(), nt == 7});  // DeepSeek q: q_nope 128 then q_pe 64
    v.push_back({nt, 1, 64, 0, yarn_v3(), nt == 2});      // the shared k_pe
    v.push_back({nt, 3, 64, 0, plain, false});
    v.push_back({nt, 3, 70, 3, neox, nt == 33});
    v.push_back({nt, 16, 13, 3, small, false});
    v.push_back({nt, 1, 11, 1, small_neox, true});
  }
  v.push_back({5, 3, 512, 448, v4, true});  // deepseek4: rotary dims at the end of a 512-wide head
  RopeParams v4neox = v4;
  v4neox.neox = true;
  v.push_back({4, 2, 96, 16, v4neox, true});
  return v;
}
inline void check_rope(OpTarget& target, const RopeCase& c, uint32_t seed) {
  SCOPED_TRACE(fmt::format("rope tokens={} heads={} stride={} offset={} dims={} neox={} yarn={}", c.n_tokens,
                           c.n_heads, c.head_stride, c.dim_offset, c.p.n_dims, c.p.neox, c.p.yarn_factor));
  std::mt19937 rng(seed);
  Device& d = target.device();
  const uint64_t n = c.n_tokens * c.n_heads * c.head_stride;
  const auto x = normal_floats(n, rng);
  std::vector<int32_t> pos(c.n_tokens);
  for (uint64_t t = 0; t < c.n_tokens; ++t)
    pos[t] = c.large_positions ? static_cast<int32_t>(163839 - rng() % 2000 * (t % 2))
                               : static_cast<int32_t>(rng() % 4096);
  pos[0] = c.large_positions ? 163839 : 0;
  auto bx = put(d, x), bp = put(d, pos);
  target.rope(at(bx), at(bp), c.n_tokens, c.n_heads, c.head_stride, c.dim_offset, c.p);
  const auto got = get<float>(d, bx, n);
  std::vector<double> ref(x.begin(), x.end());
  const auto inv = reference::ref_rope_inv_freq(c.p.n_dims, c.p.freq_base, c.p.yarn_factor, c.p.yarn_orig_ctx,
                                                c.p.yarn_beta_fast, c.p.yarn_beta_slow);
  reference::ref_rope(ref, pos, c.n_heads, c.head_stride, c.dim_offset, c.p.n_dims, c.p.neox, inv);
  EXPECT_LE(reference::normalized_error(got.data(), ref.data(), n), kRopeBound);
  // Dims outside the rotated range are untouched.
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t dim = i % c.head_stride;
    if (dim < c.dim_offset || dim >= c.dim_offset + c.p.n_dims) {
      ASSERT_EQ(got[i], x[i]) << "dim " << dim;
    }
  }
}

// ================================ softmax / swiglu / convert ================================
struct SoftmaxCase {
  uint64_t rows, n;
  float scale;
  bool masked;  // some entries -inf (a causal mask)
};
inline std::vector<SoftmaxCase> softmax_cases() {
  return {{1, 1, 1.0f, false},     {3, 7, 1.0f, false},  {17, 33, 0.1352338f, true},
          {2, 1000, 30.0f, false}, {5, 129, 1.0f, true}, {64, 4099, 1.0f, false}};
}
inline void check_softmax(OpTarget& target, const SoftmaxCase& c, uint32_t seed) {
  SCOPED_TRACE(fmt::format("softmax rows={} n={} scale={} masked={}", c.rows, c.n, c.scale, c.masked));
  std::mt19937 rng(seed);
  Device& d = target.device();
  auto x = normal_floats(c.rows * c.n, rng, 4.0f);  // with scale 30, exponents reach far past f32's range
  if (c.masked)
    for (uint64_t r = 0; r < c.rows; ++r)
      for (uint64_t i = r + 1; i < c.n; i += 2) x[r * c.n + i] = -INFINITY;
  auto bx = put(d, x);
  target.softmax(at(bx), c.rows, c.n, c.scale);
  const auto got = get<float>(d, bx, x.size());
  const auto ref = reference::ref_softmax(x, c.rows, c.n, c.scale);
  EXPECT_LE(reference::normalized_error(got.data(), ref.data(), x.size()), kSoftmaxBound);
  for (uint64_t i = 0; i < x.size(); ++i)
    if (std::isinf(x[i])) {
      ASSERT_EQ(got[i], 0.0f) << "masked entry " << i;
    }
}

struct SwigluCase {
  uint64_t n;
  float clamp;
};
inline std::vector<SwigluCase> swiglu_cases() {
  return {{1, 0.0f}, {7, 0.0f}, {1031, 0.0f}, {1031, 10.0f}, {100003, 10.0f}, {100003, 0.0f}};
}
inline void check_swiglu(OpTarget& target, const SwigluCase& c, uint32_t seed) {
  SCOPED_TRACE(fmt::format("swiglu n={} clamp={}", c.n, c.clamp));
  std::mt19937 rng(seed);
  Device& d = target.device();
  const auto g = normal_floats(c.n, rng, 12.0f), u = normal_floats(c.n, rng, 12.0f);  // reach the clamp
  auto bg = put(d, g), bu = put(d, u), bo = d.allocate(c.n * 4);
  target.swiglu(at(bg), at(bu), at(bo), c.n, c.clamp);
  const auto got = get<float>(d, bo, c.n);
  std::vector<double> ref(c.n);
  for (uint64_t i = 0; i < c.n; ++i) ref[i] = reference::ref_swiglu(g[i], u[i], c.clamp);
  EXPECT_LE(reference::normalized_error(got.data(), ref.data(), c.n), kSwigluBound);
  for (uint64_t i = 0; i < c.n; ++i)  // per element too: large values must not hide a wrong small one
    ASSERT_NEAR(got[i], ref[i], 1e-6 * std::abs(ref[i]) + 1e-30) << "element " << i;
}

struct ConvertCase {
  uint64_t n;
  DType type;
};
inline std::vector<ConvertCase> convert_cases() {
  std::vector<ConvertCase> v;
  for (DType t : {DType::F32, DType::F16, DType::BF16})
    for (uint64_t n : {1, 7, 1031, 70001}) v.push_back({n, t});
  return v;
}
/// Every output must be the nearest representable value (ties: even mantissa), checked against the two
/// neighbouring codes in double precision.
inline void check_convert(OpTarget& target, const ConvertCase& c, uint32_t seed) {
  SCOPED_TRACE(fmt::format("convert {} n={}", dtype_name(c.type), c.n));
  std::mt19937 rng(seed);
  Device& d = target.device();
  auto x = normal_floats(c.n, rng);
  std::uniform_int_distribution<int> ex(-30, 20);
  for (auto& v : x) v = std::ldexp(v, ex(rng));  // subnormal f16 range to beyond f16 max
  if (c.n > 3) x[3] = 1.0f + 1.0f / 2048.0f;     // an exact f16 tie: rounds to the even 1.0
  const uint64_t es = c.type == DType::F32 ? 4 : 2;
  auto bx = put(d, x), bo = d.allocate(c.n * es);
  target.convert(at(bx), at(bo), c.type, c.n);
  if (c.type == DType::F32) {
    EXPECT_EQ(get<float>(d, bo, c.n), x);
    return;
  }
  const auto got = get<uint16_t>(d, bo, c.n);
  const bool f16 = c.type == DType::F16;
  auto val = [&](uint16_t h) { return f16 ? double(fp16_to_fp32(h)) : double(bf16_to_fp32(h)); };
  for (uint64_t i = 0; i < c.n; ++i) {
    const double xi = x[i], gi = val(got[i]);
    const double max_finite = f16 ? 65504.0 : 3.3895313892515355e38;
    if (std::abs(xi) >= max_finite + (f16 ? 16.0 : 0.0)) {  // past half an ulp above the largest finite value
      ASSERT_TRUE(std::isinf(gi) && (gi > 0) == (xi > 0)) << "element " << i << " x=" << xi;
      continue;
    }
    const double err = std::abs(gi - xi);
    for (int step : {-1, 1}) {
      const uint16_t nb = static_cast<uint16_t>(got[i] + step);
      const double alt = val(nb);
      if (!std::isfinite(alt) || ((nb ^ got[i]) & 0x8000)) continue;  // wrapped into another sign / inf
      const double alt_err = std::abs(alt - xi);
      ASSERT_TRUE(err < alt_err || (err == alt_err && (got[i] & 1) == 0))
          << "element " << i << ": x=" << xi << " got " << gi << " but " << alt
          << " is nearer (or the even tie)";
    }
  }
}

// ================================ router ================================
struct RouterCase {
  uint64_t m;
  uint32_t X, k;
  Gating gating;
  uint32_t G, Gk;
  bool bias, norm;
  float scale;
  bool ties;  // logits on a coarse grid and groups with identical contents: exact ties on purpose
};
inline std::vector<RouterCase> router_cases() {
  std::vector<RouterCase> v = {
      {7, 256, 8, Gating::kSigmoid, 8, 4, true, true, 2.5f, false},       // V3 / R1
      {7, 160, 6, Gating::kSoftmax, 8, 3, false, false, 16.0f, false},    // V2 (236B)
      {33, 64, 6, Gating::kSoftmax, 1, 1, false, false, 1.0f, false},     // V2-Lite
      {2, 384, 8, Gating::kSigmoid, 1, 1, true, true, 2.827f, false},     // Kimi-K2
      {7, 256, 6, Gating::kSqrtSoftplus, 1, 1, true, true, 1.5f, false},  // deepseek4
      {1, 8, 1, Gating::kSoftmax, 1, 1, false, true, 1.0f, false},
      {1, 8, 8, Gating::kSigmoid, 2, 2, true, true, 0.0f, false},  // every expert
  };
  for (Gating g : {Gating::kSoftmax, Gating::kSigmoid, Gating::kSqrtSoftplus})
    for (bool groups : {false, true})
      for (bool bias : {false, true})
        for (uint32_t k : {1u, 3u, 8u}) {
          const uint32_t X = 8 * k;  // 8, 24, 64
          v.push_back({k == 3 ? 33u : 2u, X, k, g, groups ? 4u : 1u, groups ? 3u : 1u, bias, k != 1,
                       k == 8 ? 2.5f : 1.0f, false});
          v.push_back({7, X, k, g, groups ? 4u : 1u, groups ? 2u : 1u, bias, true, 1.0f, true});
        }
  return v;
}
inline void check_router(OpTarget& target, const RouterCase& c, uint32_t seed) {
  SCOPED_TRACE(fmt::format("router m={} X={} k={} gating={} G={}/{} bias={} norm={} scale={} ties={}", c.m,
                           c.X, c.k, static_cast<int>(c.gating), c.G, c.Gk, c.bias, c.norm, c.scale, c.ties));
  std::mt19937 rng(seed);
  Device& d = target.device();
  auto logits = normal_floats(c.m * c.X, rng, 1.5f);
  std::vector<float> bias;
  if (c.bias) bias = normal_floats(c.X, rng, 0.3f);
  if (c.ties) {
    const uint32_t gs = c.X / c.G;
    for (uint64_t t = 0; t < c.m; ++t)
      for (uint32_t e = 0; e < c.X;
           ++e)  // every group a copy of the first on a grid of 0.5: tied groups and experts
        logits[t * c.X + e] = std::round(logits[t * c.X + e % gs] * 2.0f) / 2.0f;
    for (uint32_t e = 0; e < bias.size(); ++e) bias[e] = 0.125f * static_cast<float>(e % 2);
  }
  auto bl = put(d, logits), bb = c.bias ? put(d, bias) : nullptr;
  auto bi = d.allocate(c.m * c.k * 4), bw = d.allocate(c.m * c.k * 4);
  const RouterParams p{c.gating, c.X, c.k, c.G, c.Gk, c.norm, c.scale};
  target.router(at(bl), c.bias ? at(bb) : View{}, at(bi), at(bw), c.m, p);
  const auto ids = get<int32_t>(d, bi, c.m * c.k);
  const auto w = get<float>(d, bw, c.m * c.k);
  const auto ref = reference::ref_router(logits, bias, c.m, c.X, c.k, static_cast<int>(c.gating), c.G, c.Gk,
                                         c.norm, c.scale);
  ASSERT_EQ(ids, ref.ids);
  EXPECT_LE(reference::normalized_error(w.data(), ref.weights.data(), w.size()), kRouterWeightBound);
}

// ================================ MLA attention ================================
struct AttnCase {
  uint64_t m, pos0, H, Lkv, dr;
  DType kv_type;
  float scale;
};
inline std::vector<AttnCase> attn_cases() {
  std::vector<AttnCase> v;
  for (DType t : {DType::F32, DType::F16}) {
    v.push_back({1, 0, 16, 512, 64, t, 0.1352338f});    // cache length 1
    v.push_back({1, 16, 3, 512, 64, t, 0.1352338f});    // 17
    v.push_back({1, 299, 16, 512, 64, t, 0.1352338f});  // 300
    v.push_back({2, 15, 1, 40, 8, t, 0.3f});
    v.push_back({7, 10, 3, 40, 8, t, 0.3f});
    v.push_back({33, 267, 16, 512, 64, t, 0.0721688f});  // prefill ending at 300
    v.push_back({33, 0, 3, 37, 5, t, 0.5f});
    v.push_back({1, 1999, 3, 33, 7, t, 0.5f});  // a long decode: the cache split across threads
    v.push_back({2, 300, 1, 40, 8, t, 8.0f});   // scores in the hundreds: the softmax must stay finite
  }
  return v;
}
inline void check_attention(OpTarget& target, const AttnCase& c, uint32_t seed) {
  SCOPED_TRACE(fmt::format("mla_attention m={} pos0={} H={} Lkv={} dr={} {} scale={}", c.m, c.pos0, c.H,
                           c.Lkv, c.dr, dtype_name(c.kv_type), c.scale));
  std::mt19937 rng(seed);
  Device& d = target.device();
  const uint64_t D = c.Lkv + c.dr, T = c.pos0 + c.m;
  const auto q = normal_floats(c.m * c.H * D, rng, 0.3f);
  auto kv = normal_floats(T * D, rng);
  std::shared_ptr<Buffer> bkv;
  if (c.kv_type == DType::F16) {
    std::vector<uint16_t> h(kv.size());
    for (uint64_t i = 0; i < kv.size(); ++i) {
      h[i] = fp32_to_fp16(kv[i]);
      kv[i] = fp16_to_fp32(h[i]);  // the reference sees the stored values
    }
    bkv = put(d, h);
  } else {
    bkv = put(d, kv);
  }
  auto bq = put(d, q), bo = d.allocate(c.m * c.H * c.Lkv * 4);
  target.mla_attention(at(bq), at(bkv), c.kv_type, at(bo), c.m, c.pos0, c.H, c.Lkv, c.dr, c.scale);
  const auto got = get<float>(d, bo, c.m * c.H * c.Lkv);
  const auto ref = reference::ref_mla_absorbed(std::vector<double>(q.begin(), q.end()),
                                               std::vector<double>(kv.begin(), kv.end()), c.m, c.pos0, c.H,
                                               c.Lkv, c.dr, c.scale);
  EXPECT_LE(reference::normalized_error(got.data(), ref.data(), got.size()), kAttnBound);
}

// ================================ MoE FFN ================================
/// Block size of the 8-bit activations the host integer-dot kernels pair with a weight format (gguf.md §5.1);
/// 0 for float formats, whose products use the f32 activations.
inline uint32_t act_block(DType t) {
  if (t == DType::F32 || t == DType::F16 || t == DType::BF16) return 0;
  return dtype_info(t).block_elems == 256 ? 256 : 32;
}
struct MoeCase {
  DType type;       // gate and up
  DType down_type;  // down (its rows are Fe long, often not a multiple of 256)
  uint64_t E, Fe;
  uint32_t X, k;
  uint64_t m;
  float clamp;
};
inline std::vector<MoeCase> moe_cases() {
  std::vector<MoeCase> v;
  for (uint64_t m : {1, 2, 7, 33}) {
    v.push_back({DType::F32, DType::F32, 40, 24, 8, 1, m, 0.0f});
    v.push_back({DType::F32, DType::F32, 72, 56, 16, 3, m, 0.0f});
    v.push_back({DType::F16, DType::F16, 64, 96, 64, 8, m, 0.0f});
    v.push_back({DType::Q8_0, DType::Q8_0, 64, 96, 32, 6, m, 0.0f});
    v.push_back({DType::Q4_K, DType::Q5_0, 256, 96, 24, 6, m, 0.0f});
    v.push_back(
        {DType::MXFP4, DType::MXFP4, 64, 32, 16, 4, m, 1.0f});  // deepseek4-style clamp, reached often
  }
  v.push_back({DType::F32, DType::F32, 40, 24, 8, 8, 33, 0.5f});  // every expert, clamp active
  v.push_back({DType::Q6_K, DType::Q6_K, 256, 256, 4, 2, 7, 0.0f});
  return v;
}
/// int8_activations: the target's quantized products round activations to 8-bit blocks as the host kernels do
/// (gguf.md §5.1), so the reference does too; false (e.g. kernels that multiply dequantized weights by the
/// f32 activations) holds every format to the float bound against exact activations.
inline void check_moe(OpTarget& target, const MoeCase& c, uint32_t seed, bool int8_activations = true) {
  SCOPED_TRACE(fmt::format("moe_ffn {}/{} E={} Fe={} X={} k={} m={} clamp={}", dtype_name(c.type),
                           dtype_name(c.down_type), c.E, c.Fe, c.X, c.k, c.m, c.clamp));
  std::mt19937 rng(seed);
  Device& d = target.device();
  const float ws = 1.0f / std::sqrt(static_cast<float>(c.E));
  const auto gate = random_weights(c.type, c.X * c.Fe, c.E, rng, ws);
  const auto up = random_weights(c.type, c.X * c.Fe, c.E, rng, ws);
  const auto down =
      random_weights(c.down_type, c.X * c.E, c.Fe, rng, 1.0f / std::sqrt(static_cast<float>(c.Fe)));
  const auto x = normal_floats(c.m * c.E, rng);
  std::vector<int32_t> ids(c.m * c.k);
  std::vector<float> w(c.m * c.k);
  std::uniform_real_distribution<float> uni(0.05f, 1.0f);
  for (uint64_t t = 0; t < c.m; ++t) {
    std::vector<int32_t> perm(c.X);
    for (uint32_t e = 0; e < c.X; ++e) perm[e] = static_cast<int32_t>(e);
    std::shuffle(perm.begin(), perm.end(), rng);  // k distinct experts, as a router gives
    for (uint32_t j = 0; j < c.k; ++j) {
      ids[t * c.k + j] = perm[j];
      w[t * c.k + j] = uni(rng);
    }
  }
  const auto out0 = normal_floats(c.m * c.E, rng);  // out is accumulated into
  auto bg = put(d, gate), bu = put(d, up), bd = put(d, down), bx = put(d, x), bi = put(d, ids),
       bw = put(d, w);
  auto bo = put(d, out0);
  ExpertWeights ew{
      {at(bg), c.type, c.E, c.Fe}, {at(bu), c.type, c.E, c.Fe}, {at(bd), c.down_type, c.Fe, c.E}, c.X};
  target.moe_ffn(ew, at(bx), at(bi), at(bw), at(bo), c.m, c.k, c.clamp);
  const auto got = get<float>(d, bo, c.m * c.E);
  std::vector<double> ref(c.m * c.E, 0.0);
  reference::ref_moe_ffn(reference::ref_dequantize(c.type, gate.data(), c.X * c.Fe, c.E),
                         reference::ref_dequantize(c.type, up.data(), c.X * c.Fe, c.E),
                         reference::ref_dequantize(c.down_type, down.data(), c.X * c.E, c.Fe), c.E, c.Fe, x,
                         ids, w, c.m, c.k, c.clamp, ref, int8_activations ? act_block(c.type) : 0,
                         int8_activations ? act_block(c.down_type) : 0);
  std::vector<float> delta(got.size());
  for (uint64_t i = 0; i < got.size(); ++i) delta[i] = got[i] - out0[i];
  const bool exact_act = !int8_activations || (act_block(c.type) == 0 && act_block(c.down_type) == 0);
  EXPECT_LE(reference::normalized_error(delta.data(), ref.data(), ref.size()),
            exact_act ? kMoeFloatBound : kMoeQuantBound);
}

/// f must throw an Error whose message names the op and the device.
inline void expect_op_error(const std::function<void()>& f, const std::string& op, const std::string& device,
                            const char* what) {
  try {
    f();
    ADD_FAILURE() << what << ": no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(op), std::string::npos) << what << ": " << msg;
    EXPECT_NE(msg.find(device), std::string::npos) << what << ": " << msg;
  }
}

// ---- matmul_heads (a Device member: one token through H weight slabs) ----
struct MatmulHeadsCase {
  DType type;
  uint64_t heads, rows, cols, x_stride, y_stride;  // rows and cols of one head's slab; strides in floats
};
inline std::vector<MatmulHeadsCase> matmul_heads_cases() {
  return {{DType::F32, 3, 5, 7, 9, 6},        // odd sizes, gaps between the heads on both sides
          {DType::F32, 1, 1, 1, 1, 1},        // one head of one weight
          {DType::F16, 4, 3, 33, 40, 3},      // packed outputs
          {DType::Q8_0, 5, 11, 96, 96, 17},   // packed inputs (the k_b case: q_nope in [qk] rows)
          {DType::Q4_K, 2, 9, 256, 300, 13}}; // a K-quant super-block per row
}
/// Checks matmul_heads against a double-precision product of the dequantized weights and against the
/// device's own matmul run head by head (identical values), and that the gaps between the heads' outputs keep
/// their fill value. int8_activations: as for check_moe (the host rounds activations to 8-bit blocks).
inline void check_matmul_heads(Device& d, const MatmulHeadsCase& c, bool int8_activations = true) {
  SCOPED_TRACE(::testing::Message() << "matmul_heads " << dtype_name(c.type) << " heads " << c.heads << " rows "
                                    << c.rows << " cols " << c.cols << " strides " << c.x_stride << "/"
                                    << c.y_stride);
  std::mt19937 rng(static_cast<uint32_t>(c.heads * 1000 + c.rows * 10 + c.cols));
  const auto wf = normal_floats(c.heads * c.rows * c.cols, rng);
  const uint64_t rb = row_bytes(c.type, c.cols);
  std::vector<uint8_t> wq(c.heads * c.rows * rb);
  quant::quantize_rows(c.type, wf.data(), wq.data(), c.heads * c.rows, c.cols);
  std::vector<float> wd(wf.size());
  for (uint64_t r = 0; r < c.heads * c.rows; ++r)
    quant::dequantize_row(c.type, wq.data() + r * rb, wd.data() + r * c.cols, c.cols);
  const uint64_t nx = (c.heads - 1) * c.x_stride + c.cols, ny = (c.heads - 1) * c.y_stride + c.rows;
  const auto x = normal_floats(nx, rng);
  auto bw = put(d, wq), bx = put(d, x), by = put(d, std::vector<float>(ny, -3.0f));
  const WeightView w{at(bw), c.type, c.cols, c.heads * c.rows};
  d.matmul_heads(w, c.heads, at(bx), c.x_stride, at(by), c.y_stride);
  const auto y = get<float>(d, by, ny);

  auto by1 = put(d, std::vector<float>(ny, -3.0f));
  for (uint64_t h = 0; h < c.heads; ++h)
    d.matmul({{bw.get(), h * c.rows * rb}, c.type, c.cols, c.rows}, {bx.get(), h * c.x_stride * 4},
             {by1.get(), h * c.y_stride * 4}, 1);
  EXPECT_EQ(get<float>(d, by1, ny), y) << "matmul_heads differs from one matmul per head";

  std::vector<double> ref;
  std::vector<float> got;
  for (uint64_t h = 0; h < c.heads; ++h) {
    const uint32_t block = int8_activations ? act_block(c.type) : 0;
    const std::vector<float> xh = block ? reference::quantize_activations(x.data() + h * c.x_stride, c.cols, block)
                                        : std::vector<float>(x.begin() + h * c.x_stride,
                                                             x.begin() + h * c.x_stride + c.cols);
    for (uint64_t r = 0; r < c.rows; ++r) {
      double acc = 0;
      for (uint64_t k = 0; k < c.cols; ++k) acc += static_cast<double>(wd[(h * c.rows + r) * c.cols + k]) * xh[k];
      ref.push_back(acc);
      got.push_back(y[h * c.y_stride + r]);
    }
    for (uint64_t r = c.rows; r < c.y_stride && h + 1 < c.heads; ++r)
      ASSERT_EQ(y[h * c.y_stride + r], -3.0f) << "gap float " << r << " after head " << h << " was written";
  }
  EXPECT_LE(reference::normalized_error(got.data(), ref.data(), ref.size()),
            int8_activations && act_block(c.type) ? kMoeQuantBound : kMoeFloatBound);
}

/// Device::matmul_heads's argument checks: heads that do not divide the rows, strides below a head's size,
/// views past the end of their buffer and a missing buffer are errors naming the device and matmul_heads.
inline void check_matmul_heads_errors(Device& d) {
  auto bw = put(d, std::vector<float>(4 * 8, 0.5f)), bx = put(d, std::vector<float>(16, 1.0f)),
       by = put(d, std::vector<float>(8, 0.0f));
  const WeightView w{at(bw), DType::F32, 8, 4};  // 2 heads of 2 rows x 8 cols
  const auto expect_error = [&](const std::function<void()>& f, const char* what) {
    expect_op_error(f, "matmul_heads", d.name(), what);
  };
  expect_error([&] { d.matmul_heads(w, 3, at(bx), 8, at(by), 2); }, "3 heads of 4 rows");
  expect_error([&] { d.matmul_heads(w, 2, at(bx), 7, at(by), 2); }, "x stride below the 8 inputs");
  expect_error([&] { d.matmul_heads(w, 2, at(bx), 8, at(by), 1); }, "y stride below the 2 outputs");
  expect_error([&] { d.matmul_heads(w, 2, at(bx), 9, at(by), 2); }, "x past the end of its buffer");
  expect_error([&] { d.matmul_heads(w, 2, at(bx), 8, {by.get(), 20}, 2); }, "y past the end of its buffer");
  expect_error([&] { d.matmul_heads(w, 2, at(bx), uint64_t{1} << 62, at(by), 2); }, "x stride overflows");
  expect_error([&] { d.matmul_heads(w, 2, View{}, 8, at(by), 2); }, "x without a buffer");
  d.matmul_heads(w, 2, at(bx), 8, at(by), 4);  // exactly the whole of x and y
  const auto y = get<float>(d, by, 8);
  EXPECT_EQ(y[0], 4.0f);  // 8 × 0.5 × 1
  EXPECT_EQ(y[5], 4.0f);
}

// ---- copy_2d (a Device member: the same call on every device) ----
/// Gather one head of [rows][heads][width] f32 into packed rows, then scatter those rows into a layout of
/// `pitch` floats per row starting at float `off`.
struct Copy2dCase {
  uint64_t rows, heads, width, head, pitch, off;
};
inline std::vector<Copy2dCase> copy_2d_cases() {
  return {{7, 3, 13, 2, 20, 3},   // odd sizes, last head, gaps after every scattered row
          {1, 1, 1, 0, 1, 0},     // one float
          {5, 4, 9, 0, 9, 0},     // first head; scatter with pitch == row size (contiguous)
          {33, 2, 17, 1, 31, 5}}; // more rows than a work-group tile, odd pitch
}
/// Runs `c` and checks every float: gathered rows match the source head, and every float of the scatter target
/// outside the copied rows keeps its fill value.
inline void check_copy_2d(Device& d, const Copy2dCase& c) {
  SCOPED_TRACE(::testing::Message() << "copy_2d rows " << c.rows << " heads " << c.heads << " width " << c.width
                                    << " head " << c.head << " pitch " << c.pitch << " off " << c.off);
  std::vector<float> src(c.rows * c.heads * c.width);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i) + 0.5f;
  auto bs = put(d, src), bp = put(d, std::vector<float>(c.rows * c.width, -1.0f));
  d.copy_2d({bs.get(), c.head * c.width * 4}, c.heads * c.width * 4, at(bp), c.width * 4, c.width * 4, c.rows);
  const auto packed = get<float>(d, bp, c.rows * c.width);
  for (uint64_t r = 0; r < c.rows; ++r)
    for (uint64_t k = 0; k < c.width; ++k)
      ASSERT_EQ(packed[r * c.width + k], src[(r * c.heads + c.head) * c.width + k]) << "row " << r << " float " << k;
  auto bd = put(d, std::vector<float>(c.rows * c.pitch + c.off, -2.0f));
  d.copy_2d(at(bp), c.width * 4, {bd.get(), c.off * 4}, c.pitch * 4, c.width * 4, c.rows);
  const auto out = get<float>(d, bd, c.rows * c.pitch + c.off);
  for (uint64_t i = 0; i < out.size(); ++i) {
    const bool inside = i >= c.off && (i - c.off) % c.pitch < c.width;
    ASSERT_EQ(out[i], inside ? packed[(i - c.off) / c.pitch * c.width + (i - c.off) % c.pitch] : -2.0f)
        << "float " << i;
  }
  d.copy_2d(at(bp), c.width * 4, at(bd), c.pitch * 4, c.width * 4, 0);  // no rows: nothing to do
  EXPECT_EQ(get<float>(d, bd, c.rows * c.pitch + c.off), out);
}

/// Device::copy_2d's argument checks (the same on every device): a region past the end of its buffer (by one
/// byte, at an offset, or by uint64 overflow), a pitch below the row size and a missing buffer are errors naming
/// the device and copy_2d; a region that ends exactly at the end of its buffer is not.
inline void check_copy_2d_errors(Device& d) {
  auto b = d.allocate(64), c = d.allocate(64);
  const auto expect_error = [&](const std::function<void()>& f, const char* what) {
    expect_op_error(f, "copy_2d", d.name(), what);
  };
  expect_error([&] { d.copy_2d(at(b), 16, at(b), 16, 16, 5); }, "past the end of the buffer");
  expect_error([&] { d.copy_2d(at(b), 8, at(c), 16, 16, 1); }, "src pitch below the row size");
  expect_error([&] { d.copy_2d(at(b), 16, at(c), 8, 16, 1); }, "dst pitch below the row size");
  expect_error([&] { d.copy_2d(at(b), 16, {c.get(), 4}, 16, 16, 4); }, "dst one row-end past the end");
  expect_error([&] { d.copy_2d({b.get(), 1}, 16, at(c), 16, 16, 4); }, "src one byte past the end");
  expect_error([&] { d.copy_2d({b.get(), 65}, 16, at(c), 16, 1, 1); }, "offset past the end");
  expect_error([&] { d.copy_2d(at(b), uint64_t{1} << 62, at(c), 16, 16, 5); }, "pitch overflows uint64");
  expect_error([&] { d.copy_2d(View{}, 16, at(c), 16, 16, 1); }, "src without a buffer");
  d.copy_2d(at(b), 16, at(c), 16, 16, 4);      // exactly the whole buffer
  d.copy_2d({b.get(), 60}, 4, at(c), 4, 4, 1);  // the last 4 bytes
  d.finish();
}

}  // namespace mixcl::backend::ops_test
