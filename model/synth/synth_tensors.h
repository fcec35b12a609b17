#pragma once
// The tensor list of a synthetic deepseek2 model and the f32 values of each tensor's rows.
#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "model/arch/deepseek2_config.h"
#include "model/synth/synth_types.h"

namespace mixcl::synth {

/// Where a tensor's values come from: its own stream, or the shared HF kv_b matrix of its block in one of
/// the three layouts of deepseek2.md §3.4 (so the split and legacy files hold the same weights).
enum class ValueSource { kOwn, kKvbLegacy, kKb, kVb };

/// One tensor of the planned file.
struct SynthTensor {
  std::string name;
  std::vector<uint64_t> dims;  // ne0 first
  DType type = DType::F32;     // stored type (after the block-size fallback)
  TensorClass cls = TensorClass::kNorm;
  float mean = 0.0f;           // distribution of the values before quantization
  float std = 1.0f;
  ValueSource source = ValueSource::kOwn;
  std::string stream_key;      // key of the random stream (the name, or "blk.N.kv_b")

  /// ne1 * ne2 * ...: number of ne0-long rows.
  uint64_t n_rows() const;
  /// Bytes of the stored tensor.
  uint64_t nbytes() const;
};

/// The tensors of a model in file order (token_embd, blocks, output_norm, output), types resolved.
std::vector<SynthTensor> plan_tensors(const arch::Deepseek2Config& c, const TypeChoice& types);

/// The f32 values of rows [first_row, first_row + n_rows) of `t` (row-major, ne0 per row) for model `seed`.
void generate_rows(const SynthTensor& t, const arch::Deepseek2Config& c, uint64_t seed, uint64_t first_row,
                   uint64_t n_rows, float* dst);

}  // namespace mixcl::synth
