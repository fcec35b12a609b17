#pragma once
// Parameter structs of the forward-pass ops, shared by the host and OpenCL implementations.
#include <cstdint>

#include "backend/view.h"

namespace mixcl::backend {

/// Rotary embedding parameters (deepseek2.md §5.5): adjacent pairs (GPT-J) or NEOX halves, YaRN blending.
struct RopeParams {
  uint32_t n_dims = 0;  // rotated dims per head (even)
  bool neox = false;    // false: pairs (2i, 2i+1); true: pairs (i, i + n_dims/2)
  float freq_base = 10000.0f;
  float yarn_factor = 1.0f;  // 1: no YaRN
  uint32_t yarn_orig_ctx = 0;
  float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;
};

/// Router score function (deepseek2.md §6.2; the numbers are the GGUF expert_gating_func values).
enum class Gating { kSoftmax = 1, kSigmoid = 2, kSqrtSoftplus = 4 };

/// Router settings (deepseek2.md §6.2).
struct RouterParams {
  Gating gating = Gating::kSoftmax;
  uint32_t n_expert = 0, n_used = 0, n_group = 1, n_group_used = 1;
  bool norm = false;   // renormalise the selected weights
  float scale = 1.0f;  // multiply the weights (0 or 1: none)
};

/// The three 3-D expert tensors of one MoE layer: n_expert matrices back to back in each view
/// (gate/up: rows = Fe, cols = E; down: rows = E, cols = Fe).
struct ExpertWeights {
  WeightView gate, up, down;
  uint32_t n_expert = 0;
};

}  // namespace mixcl::backend
