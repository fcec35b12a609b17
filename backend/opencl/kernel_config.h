#pragma once
// Per-op kernel settings given to an OpenCL device after it is built (a profile's `kernels:` section, or
// `mixcl tune`'s candidates): a kernel shape and tunable values by name. Keys and names: docs/tune.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"

namespace mixcl::backend {

/// Kernel settings of one op: shape and tunables (by macro name, values as written in a profile).
struct OpKernelConfig {
  std::string variant;                        // "": by capability; "vector" or "workgroup"
  std::map<std::string, std::string> macros;  // e.g. {"MM_ROWS", "4"}

  bool operator==(const OpKernelConfig&) const = default;
};

/// Configs by key: "op", "op.FORMAT", "op.PHASE" or "op.FORMAT.PHASE" (e.g. "matmul.Q4_K.decode").
using OpKernelConfigs = std::map<std::string, OpKernelConfig>;

/// A `kernels:` key split into its parts.
struct KernelConfigKey {
  std::string op;             // "matmul", "rmsnorm", ...
  std::optional<DType> type;  // weight format it is limited to (matmul, moe_ffn); nullopt: every format
  std::string phase;          // "decode" (m == 1), "prefill" (m > 1) or "": both
};

/// Ops of a device that take a kernels entry, in the profile schema's order.
const std::vector<std::string>& kernel_config_ops();
/// Tunable names `op` accepts (empty when the op has none).
const std::vector<std::string>& kernel_config_macros(std::string_view op);
/// Splits a key; throws mixcl::Error (without a location) naming the bad part and what is allowed.
KernelConfigKey parse_kernel_config_key(std::string_view key);
/// Checks one entry: its key, its variant (ops with shapes only), every macro name (the op's own) and value
/// (a whole number in the macro's range); throws mixcl::Error (without a location) naming what is allowed.
void check_kernel_config(std::string_view key, const OpKernelConfig& config);

/// The entries of `configs` that apply to `op` on weights of `type` with m tokens, least specific first
/// (op, op.PHASE, op.FORMAT, op.FORMAT.PHASE): later ones override earlier ones, field by field.
std::vector<const OpKernelConfig*> applicable_kernel_configs(const OpKernelConfigs& configs, std::string_view op,
                                                             std::optional<DType> type, uint64_t m);

/// The macro `name` as a number from the applicable entries (the most specific wins); nullopt when unset.
/// "never" reads as UINT64_MAX (for thresholds).
std::optional<uint64_t> kernel_config_number(const std::vector<const OpKernelConfig*>& applicable,
                                             std::string_view name);

}  // namespace mixcl::backend
