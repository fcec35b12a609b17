#include "tune/tune_space.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "common/error.h"
#include "model/gguf/gguf_file.h"

namespace mixcl::tune {
namespace {

constexpr uint64_t kMaxPrefillRows = 32768;
const std::vector<std::string> kTuneOps = {"matmul", "matvec", "prefill", "rmsnorm"};

bool has(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

Candidate make(std::string variant, std::map<std::string, std::string> macros) {
  Candidate c;
  c.config = {std::move(variant), std::move(macros)};
  c.label = config_label(c.config);
  return c;
}

}  // namespace

std::string config_label(const backend::OpKernelConfig& config) {
  std::vector<std::string> parts;
  if (!config.variant.empty()) parts.push_back(config.variant);
  for (const auto& [k, v] : config.macros) parts.push_back(k + "=" + v);
  return parts.empty() ? "default" : fmt::format("{}", fmt::join(parts, " "));
}

std::vector<MatrixShape> model_matrix_shapes(const gguf::GgufFile& file) {
  std::vector<MatrixShape> out;
  for (const auto& t : file.tensors()) {
    if (t.n_dims < 2 || t.n_dims > 3) continue;
    const std::string_view name = t.name;
    // The token embedding is read a row at a time (get_rows), never multiplied.
    if (name.starts_with("token_embd")) continue;
    const MatrixShape s{t.type, t.ne[1], t.ne[0]};
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

std::vector<MatrixShape> standard_matrix_shapes(const std::vector<DType>& types) {
  const std::vector<DType> use = types.empty() ? std::vector<DType>{DType::Q8_0, DType::Q4_K, DType::Q6_K} : types;
  std::vector<MatrixShape> out;
  for (DType t : use)
    for (const auto& [rows, cols] : bench::bench_matmul_shapes())
      if (cols % dtype_info(t).block_elems == 0) out.push_back({t, rows, cols});
  return out;
}

std::vector<std::string> parse_tune_ops(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (n == "all") return kTuneOps;
    if (!has(kTuneOps, n))
      fail("--ops: unknown op '{}' (tunable: {}, all; matmul = matvec + prefill)", n, fmt::join(kTuneOps, ", "));
    if (!has(out, n)) out.push_back(n);
  }
  return out.empty() ? kTuneOps : out;
}

std::vector<TuneTarget> tune_targets(const std::vector<std::string>& ops, const std::vector<MatrixShape>& shapes,
                                     uint64_t prefill_m, size_t max_shapes_per_format) {
  std::vector<TuneTarget> out;
  const bool decode = has(ops, "matmul") || has(ops, "matvec"), prefill = has(ops, "matmul") || has(ops, "prefill");
  // Formats in first-seen order; per format the largest matrices (they dominate the time).
  std::vector<DType> formats;
  for (const auto& s : shapes)
    if (std::find(formats.begin(), formats.end(), s.type) == formats.end()) formats.push_back(s.type);
  for (const bool is_decode : {true, false}) {
    if (is_decode ? !decode : !prefill) continue;
    for (DType t : formats) {
      std::vector<MatrixShape> of;
      for (const auto& s : shapes)  // vocabulary projections (output) see one token per prompt, not a batch
        if (s.type == t && (is_decode || s.rows <= kMaxPrefillRows)) of.push_back(s);
      if (of.empty()) continue;
      std::stable_sort(of.begin(), of.end(),
                       [](const MatrixShape& a, const MatrixShape& b) { return a.rows * a.cols > b.rows * b.cols; });
      if (of.size() > max_shapes_per_format) of.resize(max_shapes_per_format);
      TuneTarget target;
      target.op = "matmul";
      target.key = fmt::format("matmul.{}.{}", dtype_name(t), is_decode ? "decode" : "prefill");
      for (const auto& s : of) {
        bench::KernelCase c;
        c.op = is_decode ? bench::KernelOp::kMatvec : bench::KernelOp::kPrefill;
        c.type = t;
        c.rows = s.rows;
        c.cols = s.cols;
        c.m = is_decode ? 1 : prefill_m;
        target.cases.push_back(c);
      }
      out.push_back(std::move(target));
    }
  }
  if (has(ops, "rmsnorm")) {
    // The norm width: the most common contracted dimension of the model's matrices (the embedding width).
    std::map<uint64_t, int> count;
    for (const auto& s : shapes) ++count[s.cols];
    uint64_t n = 2048;
    int best = 0;
    for (const auto& [cols, k] : count)
      if (k > best) best = k, n = cols;
    for (const bool is_decode : {true, false}) {
      TuneTarget target;
      target.op = "rmsnorm";
      target.key = is_decode ? "rmsnorm.decode" : "rmsnorm.prefill";
      bench::KernelCase c;
      c.op = bench::KernelOp::kRmsnorm;
      c.rows = c.m = is_decode ? 1 : prefill_m;
      c.cols = n;
      target.cases.push_back(c);
      out.push_back(std::move(target));
    }
  }
  return out;
}

std::vector<Candidate> tune_candidates(const TuneTarget& target, const std::string& default_shape,
                                       uint64_t max_work_group_size) {
  std::vector<Candidate> out;
  Candidate base;
  base.is_default = true;
  base.label = fmt::format("default ({})", default_shape);
  out.push_back(base);
  auto fits = [&](uint64_t local) { return local <= max_work_group_size; };
  const bool prefill = target.key.ends_with(".prefill");
  if (target.op == "matmul" && !prefill) {
    for (uint32_t rows : {1, 2, 4, 8})
      for (uint32_t local : {4, 8, 16, 32})
        if (fits(local))
          out.push_back(make("vector", {{"MM_ROWS", std::to_string(rows)}, {"MM_LOCAL", std::to_string(local)}}));
    for (uint32_t lanes : {16, 32, 64})
      if (fits(lanes)) out.push_back(make("workgroup", {{"MM_LOCAL", std::to_string(lanes)}}));
  } else if (target.op == "matmul") {
    for (uint32_t rows : {1, 2, 4})
      for (uint32_t tokens : {2, 4, 8})
        out.push_back(make("", {{"MM_TILE_ROWS", std::to_string(rows)},
                                {"MM_TILE_TOKENS", std::to_string(tokens)},
                                {"MM_TILED_FROM_M", "2"},
                                {"MM_GEMM_FROM_M", "never"}}));
    out.push_back(make("", {{"MM_GEMM_FROM_M", "2"}}));  // dequantize + CLBlast SGEMM
  } else if (target.op == "rmsnorm") {
    for (uint32_t local : {1, 4, 8, 16, 32, 64})
      if (fits(local)) out.push_back(make("vector", {{"RMS_LOCAL", std::to_string(local)}}));
    for (uint32_t local : {32, 64, 128, 256})
      if (fits(local)) out.push_back(make("workgroup", {{"RMS_LOCAL", std::to_string(local)}}));
  }
  return out;
}

}  // namespace mixcl::tune
