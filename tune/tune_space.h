#pragma once
// What `mixcl tune` searches: the targets (a profile `kernels:` key and the benchmark cases that measure it) and
// each target's candidate kernel configs.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backend/opencl/kernel_config.h"
#include "bench/lib/kernel_cases.h"
#include "common/dtype.h"

namespace mixcl::gguf {
class GgufFile;
}

namespace mixcl::tune {

/// A weight matrix shape the model multiplies by: format, rows (outputs) and cols (the contracted dimension).
struct MatrixShape {
  DType type = DType::F32;
  uint64_t rows = 0, cols = 0;
  bool operator==(const MatrixShape&) const = default;
};

/// The distinct matrices of a model's matmuls and expert products (one expert's matrix for 3-D expert tensors),
/// in file order; 1-D tensors (norms, biases) are left out.
std::vector<MatrixShape> model_matrix_shapes(const gguf::GgufFile& file);
/// The standard shapes (bench_matmul_shapes) in the formats of `types` (empty: Q8_0, Q4_K, Q6_K) whose columns
/// hold whole blocks.
std::vector<MatrixShape> standard_matrix_shapes(const std::vector<DType>& types);

/// One thing to tune: a `kernels:` key and the cases whose summed time scores a candidate.
struct TuneTarget {
  std::string key;                       // "matmul.Q4_K.decode", "rmsnorm"
  std::string op;                        // "matmul", "rmsnorm" (backend/opencl/kernel_config.h)
  std::vector<bench::KernelCase> cases;  // each measured under every candidate
};

/// The tunable ops `mixcl tune --ops` takes: "matmul" (decode and prefill), "matvec" (decode only), "prefill",
/// "rmsnorm"; "all" or an empty list: all of them. Throws mixcl::Error listing them for an unknown name.
std::vector<std::string> parse_tune_ops(const std::vector<std::string>& names);

/// Targets for `ops` (parse_tune_ops' names) over `shapes` (at most `max_shapes_per_format` per format, the
/// largest first): a decode target per format (m = 1) and a prefill target per format (m = prefill_m; matrices
/// of more than 32768 rows, the vocabulary projections, are left out of prefill); "rmsnorm" adds rmsnorm.decode
/// and rmsnorm.prefill over the most common contracted width.
std::vector<TuneTarget> tune_targets(const std::vector<std::string>& ops, const std::vector<MatrixShape>& shapes,
                                     uint64_t prefill_m, size_t max_shapes_per_format = 2);

/// A candidate: a full config for its target's key (every tunable of its phase set) and its label.
struct Candidate {
  backend::OpKernelConfig config;
  std::string label;  // "vector MM_ROWS=4 MM_LOCAL=8"
  bool is_default = false;  // the built-in choice, written out in full (the baseline)
};

/// The candidates of `target` on a device of `kind` ("vector" or "workgroup" shape by default, the device's
/// max work-group size), the default first.
std::vector<Candidate> tune_candidates(const TuneTarget& target, const std::string& default_shape,
                                       uint64_t max_work_group_size);

/// "vector MM_LOCAL=8 MM_ROWS=2" for a config.
std::string config_label(const backend::OpKernelConfig& config);

}  // namespace mixcl::tune
