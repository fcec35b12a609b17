#include "bench/lib/kernel_cases.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "common/error.h"

namespace mixcl::bench {
namespace {

constexpr std::pair<KernelOp, std::string_view> kOpNames[] = {
    {KernelOp::kMatvec, "matvec"},   {KernelOp::kPrefill, "prefill"}, {KernelOp::kMoeFfn, "moe_ffn"},
    {KernelOp::kMlaAttention, "mla_attention"}, {KernelOp::kRmsnorm, "rmsnorm"}, {KernelOp::kRope, "rope"},
    {KernelOp::kRouter, "router"},
};

// DeepSeek sizes (deepseek2.md §8): embedding E, expert width Fe, experts X, used k, heads H.
struct ModelSizes {
  const char* name;
  uint64_t E, Fe, X, k, G, Gk, H;
};
constexpr ModelSizes kV2Lite{"v2-lite", 2048, 1408, 64, 6, 1, 1, 16};
constexpr ModelSizes kV3{"v3", 7168, 2048, 256, 8, 8, 4, 128};

bool wanted(const std::vector<KernelOp>& ops, KernelOp op) {
  return ops.empty() || std::find(ops.begin(), ops.end(), op) != ops.end();
}
bool wanted(const std::vector<DType>& types, DType t) {
  return types.empty() || std::find(types.begin(), types.end(), t) != types.end();
}

}  // namespace

std::string_view kernel_op_name(KernelOp op) {
  for (const auto& [o, n] : kOpNames)
    if (o == op) return n;
  return "?";
}

std::optional<KernelOp> kernel_op_from_name(std::string_view name) {
  for (const auto& [o, n] : kOpNames)
    if (n == name) return o;
  return std::nullopt;
}

std::vector<KernelOp> parse_kernel_ops(const std::vector<std::string>& names) {
  std::vector<KernelOp> ops;
  auto add = [&](KernelOp op) {
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  };
  for (const auto& n : names) {
    if (n == "all") return {};
    if (n == "matmul") {
      add(KernelOp::kMatvec);
      add(KernelOp::kPrefill);
    } else if (auto op = kernel_op_from_name(n)) {
      add(*op);
    } else {
      fail("unknown op '{}' (allowed: matmul, matvec, prefill, moe_ffn, mla_attention, rmsnorm, rope, router, all)",
           n);
    }
  }
  return ops;
}

std::vector<KernelOp> all_kernel_ops() {
  std::vector<KernelOp> v;
  for (const auto& [o, n] : kOpNames) v.push_back(o);
  return v;
}

std::string KernelCase::shape() const {
  switch (op) {
    case KernelOp::kMatvec:
    case KernelOp::kPrefill:
    case KernelOp::kRmsnorm:
      return fmt::format("{}x{}", rows, cols);
    case KernelOp::kMoeFfn:
      return fmt::format("E{} Fe{} k{}/{}", cols, rows, n_used, n_expert);
    case KernelOp::kMlaAttention:
      return fmt::format("H{} ctx{}", n_head, context);
    case KernelOp::kRope:
      return fmt::format("H{}x{} d{}", n_head, cols, rows);
    case KernelOp::kRouter:
      return n_group > 1 ? fmt::format("X{} k{} G{}/{}", n_expert, n_used, n_group, n_group_used)
                         : fmt::format("X{} k{}", n_expert, n_used);
  }
  return {};
}

std::string KernelCase::type_label() const {
  if (op == KernelOp::kMoeFfn && type2 != type) return fmt::format("{}/{}", dtype_name(type), dtype_name(type2));
  return std::string(dtype_name(type));
}

std::vector<DType> bench_matmul_types() {
  return {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,  DType::Q4_0, DType::Q5_0,
          DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::MXFP4, DType::Q2_K, DType::Q3_K};
}

std::vector<std::pair<uint64_t, uint64_t>> bench_matmul_shapes() {
  return {{4096, 4096}, {2048, 1408}, {1408, 2048}, {7168, 2048}, {2048, 7168}};
}

std::pair<uint64_t, uint64_t> parse_shape(std::string_view text) {
  const size_t x = text.find_first_of("xX");
  auto num = [&](std::string_view s) {
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v == 0)
      fail("shape '{}' is not ROWSxCOLS with positive integers (e.g. 4096x4096, rows x cols of the weight)", text);
    return v;
  };
  if (x == std::string_view::npos)
    fail("shape '{}' is not ROWSxCOLS with positive integers (e.g. 4096x4096, rows x cols of the weight)", text);
  return {num(text.substr(0, x)), num(text.substr(x + 1))};
}

std::vector<KernelCase> kernel_cases(const CaseFilter& filter) {
  std::vector<KernelCase> v;
  const auto shapes = filter.shapes.empty() ? bench_matmul_shapes() : filter.shapes;
  for (KernelOp op : {KernelOp::kMatvec, KernelOp::kPrefill}) {
    if (!wanted(filter.ops, op)) continue;
    for (DType t : bench_matmul_types()) {
      if (!wanted(filter.types, t)) continue;
      for (const auto& [rows, cols] : shapes) {
        if (cols % dtype_info(t).block_elems != 0) continue;
        KernelCase c;
        c.op = op;
        c.type = t;
        c.rows = rows;
        c.cols = cols;
        c.m = op == KernelOp::kMatvec ? 1 : filter.prefill_m;
        v.push_back(c);
      }
    }
  }
  if (wanted(filter.ops, KernelOp::kMoeFfn)) {
    for (const ModelSizes& s : {kV2Lite, kV3})
      for (DType t : {DType::Q8_0, DType::Q4_K, DType::MXFP4}) {
        if (!wanted(filter.types, t)) continue;
        KernelCase c;
        c.op = KernelOp::kMoeFfn;
        c.type = t;
        // The down projection contracts over Fe: a 256-element format needs Fe % 256 == 0 (real V2-Lite
        // files store such tensors in a 32-element format instead).
        c.type2 = s.Fe % dtype_info(t).block_elems == 0 ? t : DType::Q5_0;
        c.rows = s.Fe;
        c.cols = s.E;
        c.n_expert = s.X;
        c.n_used = s.k;
        c.model = s.name;
        v.push_back(c);
      }
  }
  if (wanted(filter.ops, KernelOp::kMlaAttention)) {
    struct A {
      ModelSizes s;
      uint64_t ctx;
      DType t;
    };
    for (const A& a : {A{kV2Lite, 4096, DType::F16}, A{kV3, 1024, DType::F16}, A{kV3, 4096, DType::F16},
                       A{kV3, 16384, DType::F16}, A{kV3, 4096, DType::F32}}) {
      if (!wanted(filter.types, a.t)) continue;
      KernelCase c;
      c.op = KernelOp::kMlaAttention;
      c.type = a.t;
      c.n_head = a.s.H;
      c.context = a.ctx;
      c.rows = 512;  // n_latent (kv_lora_rank)
      c.cols = 64;   // n_rope
      c.model = a.s.name;
      v.push_back(c);
    }
  }
  const bool f32 = wanted(filter.types, DType::F32);
  if (f32 && wanted(filter.ops, KernelOp::kRmsnorm)) {
    for (auto [rows, n, model] : {std::tuple<uint64_t, uint64_t, const char*>{1, 7168, "v3"}, {512, 7168, "v3"},
                                  {1, 2048, "v2-lite"}}) {
      KernelCase c;
      c.op = KernelOp::kRmsnorm;
      c.rows = rows;
      c.cols = n;
      c.m = rows;
      c.model = model;
      v.push_back(c);
    }
  }
  if (f32 && wanted(filter.ops, KernelOp::kRope)) {
    for (uint64_t m : {1, 512}) {  // the q heads of V3: q_nope (128) then the rotated q_pe (64)
      KernelCase c;
      c.op = KernelOp::kRope;
      c.m = m;
      c.n_head = kV3.H;
      c.cols = 192;  // head stride
      c.rows = 64;   // rotated dims, at offset 128
      c.model = "v3";
      v.push_back(c);
    }
  }
  if (f32 && wanted(filter.ops, KernelOp::kRouter)) {
    for (const ModelSizes& s : {kV2Lite, kV3})
      for (uint64_t m : {1, 512}) {
        KernelCase c;
        c.op = KernelOp::kRouter;
        c.m = m;
        c.n_expert = s.X;
        c.n_used = s.k;
        c.n_group = s.G;
        c.n_group_used = s.Gk;
        c.model = s.name;
        v.push_back(c);
      }
  }
  return v;
}

}  // namespace mixcl::bench
