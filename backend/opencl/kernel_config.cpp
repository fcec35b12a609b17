#include "backend/opencl/kernel_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <span>

#include "common/error.h"

namespace mixcl::backend {
namespace {

// One tunable: its name and the range of whole numbers it takes.
struct Tunable {
  const char* name;
  uint64_t min, max;
  bool never = false;  // "never" is allowed (a threshold that is never reached)
};

constexpr Tunable kMatmulTunables[] = {
    {"MM_ROWS", 1, 16},                       // mv_vec: rows per work-item (-D macro)
    {"MM_LOCAL", 1, 1024},                    // mv_vec: work-group size; mv_wg: lanes per row
    {"MM_TILE_ROWS", 1, 8},                   // mm_tile: rows per work-item (-D macro)
    {"MM_TILE_TOKENS", 1, 16},                // mm_tile: tokens per work-item (-D macro)
    {"MM_TILED_FROM_M", 1, 1u << 30},         // mm_tile from this many tokens; below, one mat-vec per token
    {"MM_GEMM_FROM_M", 1, 1u << 30, true},    // dequantize + CLBlast SGEMM from this many tokens
};
constexpr Tunable kRmsnormTunables[] = {
    {"RMS_LOCAL", 1, 1024},  // work-items per row
};

// Ops whose kernels take a variant, and ops whose entries may name a weight format.
const std::vector<std::string> kVariantOps = {"matmul", "moe_ffn", "rmsnorm"};
const std::vector<std::string> kFormatOps = {"matmul", "moe_ffn"};
const std::vector<std::string> kPhases = {"decode", "prefill"};

std::span<const Tunable> tunables(std::string_view op) {
  if (op == "matmul" || op == "moe_ffn") return kMatmulTunables;
  if (op == "rmsnorm") return kRmsnormTunables;
  return {};
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::optional<uint64_t> parse_number(std::string_view v) {
  if (v == "never") return std::numeric_limits<uint64_t>::max();
  uint64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

}  // namespace

const std::vector<std::string>& kernel_config_ops() {
  static const std::vector<std::string> ops = {"add",     "scale",  "rmsnorm", "matmul",  "get_rows",      "rope",
                                               "softmax", "swiglu", "router",  "moe_ffn", "mla_attention", "convert"};
  return ops;
}

const std::vector<std::string>& kernel_config_macros(std::string_view op) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> names = [] {
    std::map<std::string, std::vector<std::string>, std::less<>> m;
    for (const auto& o : kernel_config_ops())
      for (const Tunable& t : tunables(o)) m[o].push_back(t.name);
    return m;
  }();
  static const std::vector<std::string> none;
  const auto it = names.find(op);
  return it == names.end() ? none : it->second;
}

KernelConfigKey parse_kernel_config_key(std::string_view key) {
  KernelConfigKey k;
  std::vector<std::string> parts;
  for (size_t begin = 0;;) {
    const size_t dot = key.find('.', begin);
    parts.emplace_back(key.substr(begin, dot == std::string_view::npos ? std::string_view::npos : dot - begin));
    if (dot == std::string_view::npos) break;
    begin = dot + 1;
  }
  k.op = parts[0];
  if (!contains(kernel_config_ops(), k.op))
    fail("unknown op '{}' in kernels key '{}' (allowed: {})", k.op, key, fmt::join(kernel_config_ops(), ", "));
  if (parts.size() > 3)
    fail("kernels key '{}' has too many parts; write op, op.FORMAT, op.PHASE or op.FORMAT.PHASE (e.g. "
         "matmul.Q4_K.decode)", key);
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (contains(kPhases, p) && i == parts.size() - 1) {
      k.phase = p;
      continue;
    }
    if (contains(kPhases, p))
      fail("kernels key '{}': the phase '{}' must come last (the format comes before the phase: op.FORMAT.PHASE)",
           key, p);
    const auto type = dtype_from_name(p);
    if (i == 1 && type && contains(kFormatOps, k.op)) {
      k.type = type;
      continue;
    }
    if (i == 1 && type)
      fail("kernels key '{}': op {} does not depend on a weight format (formats are for: {}); write '{}' or '{}.PHASE'",
           key, k.op, fmt::join(kFormatOps, ", "), k.op, k.op);
    fail("kernels key '{}': '{}' is neither a weight format (F32, F16, Q8_0, Q4_K, ...) nor a phase (decode: one "
         "token, prefill: several){}", key, p, i == 1 ? "" : "; the format comes before the phase");
  }
  return k;
}

void check_kernel_config(std::string_view key, const OpKernelConfig& config) {
  const KernelConfigKey k = parse_kernel_config_key(key);
  if (!config.variant.empty()) {
    if (!contains(kVariantOps, k.op))
      fail("kernels.{}: op {} has one kernel shape on OpenCL devices; variant is for: {}", key, k.op,
           fmt::join(kVariantOps, ", "));
    if (config.variant != "vector" && config.variant != "workgroup")
      fail("kernels.{}.variant: found '{}', expected vector or workgroup", key, config.variant);
  }
  const auto allowed = tunables(k.op);
  for (const auto& [name, value] : config.macros) {
    const auto t = std::find_if(allowed.begin(), allowed.end(), [&](const Tunable& x) { return name == x.name; });
    if (t == allowed.end()) {
      if (allowed.empty())
        fail("kernels.{}.macros.{}: op {} has no tunable macros on OpenCL devices (ops with tunables: matmul, "
             "moe_ffn, rmsnorm)", key, name, k.op);
      fail("kernels.{}.macros: unknown macro '{}' for op {}; allowed: {}", key, name, k.op,
           fmt::join(kernel_config_macros(k.op), ", "));
    }
    const auto v = parse_number(value);
    const bool never = v == std::numeric_limits<uint64_t>::max();
    if (!v || (never && !t->never) || (!never && (*v < t->min || *v > t->max)))
      fail("kernels.{}.macros.{}: found '{}', expected a whole number from {} to {}{}", key, name, value, t->min,
           t->max, t->never ? " or never" : "");
  }
}

std::vector<const OpKernelConfig*> applicable_kernel_configs(const OpKernelConfigs& configs, std::string_view op,
                                                             std::optional<DType> type, uint64_t m) {
  const std::string base(op), phase = m <= 1 ? "decode" : "prefill";
  std::vector<std::string> keys = {base, base + "." + phase};
  if (type) {
    const std::string fmt_key = base + "." + std::string(dtype_name(*type));
    keys.push_back(fmt_key);
    keys.push_back(fmt_key + "." + phase);
  }
  std::vector<const OpKernelConfig*> out;
  for (const auto& key : keys)
    if (auto it = configs.find(key); it != configs.end()) out.push_back(&it->second);
  return out;
}

std::optional<uint64_t> kernel_config_number(const std::vector<const OpKernelConfig*>& applicable,
                                             std::string_view name) {
  for (auto it = applicable.rbegin(); it != applicable.rend(); ++it)
    if (auto m = (*it)->macros.find(std::string(name)); m != (*it)->macros.end()) return parse_number(m->second);
  return std::nullopt;
}

}  // namespace mixcl::backend
