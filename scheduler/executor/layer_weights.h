#pragma once
// The weight set of a deepseek2 model per step (attention, FFN, shared expert, embedding, head), looked up by
// GGUF name, checked against the hyperparameters and placed on the device of its step.
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "backend/device.h"
#include "model/arch/deepseek2_config.h"
#include "scheduler/executor/weight_store.h"

namespace mixcl::scheduler::exec {

/// Attention of one block (deepseek2.md §5) on `device`, with the up-projection split per head.
struct AttentionWeights {
  size_t device = 0;
  backend::View attn_norm;
  bool q_lora = false;
  backend::WeightView q_a, q_b, q;  // q_a/q_b with q-LoRA, else q
  backend::View q_a_norm;
  backend::WeightView kv_a;  // {E, Lkv + dr}
  backend::View kv_a_norm;
  backend::WeightView k_b;   // H slabs of Lkv rows of dn (q_nope -> latent); head i: backend::slab(k_b, i, Lkv)
  backend::WeightView v_b;   // H slabs of dv rows of Lkv (latent -> value)
  backend::WeightView out;   // {H dv, E}
  uint64_t bytes = 0;        // weight bytes one token reads (norms included)
};

/// Feed-forward of one block: dense SwiGLU or router + routed experts (+ shared experts, maybe elsewhere).
struct FfnWeights {
  size_t device = 0;  // where the norm, the dense FFN or router + routed experts run
  backend::View ffn_norm;
  bool moe = false;
  backend::WeightView gate, up, down;  // dense
  backend::WeightView router;          // {E, X}
  backend::View router_bias;           // {X}; buffer null when absent
  backend::ExpertWeights experts;
  bool shared = false;
  size_t shared_device = 0;
  backend::WeightView sh_gate, sh_up, sh_down;
  uint64_t dense_bytes = 0, router_bytes = 0, shared_bytes = 0, routed_bytes = 0;  // routed: all X experts
};

/// Embedding table and output head.
struct GlobalWeights {
  size_t embd_device = 0, head_device = 0;
  backend::WeightView token_embd;  // {E, V}
  backend::View output_norm;
  backend::WeightView output;  // {E, V}; the tied token_embd when output.weight is absent
  uint64_t head_bytes = 0, embd_row_bytes = 0;
};

/// Everything an executor multiplies with.
struct ModelWeights {
  GlobalWeights global;
  std::vector<AttentionWeights> attention;  // per block
  std::vector<FfnWeights> ffn;              // per block
};

/// Device index of a tensor name (the PlacementFn), checked against the device count.
using DeviceOf = std::function<size_t(std::string_view)>;

/// Loads every weight the forward pass uses; the anchor tensor of each step decides the step's device and the
/// step's other tensors follow it (attention: attn_kv_a_mqa; FFN: ffn_gate or ffn_gate_exps; shared:
/// ffn_gate_shexp; embedding: token_embd; head: output, else token_embd).
ModelWeights load_model_weights(const arch::Deepseek2Config& c, WeightStore& store, const DeviceOf& device_of);

}  // namespace mixcl::scheduler::exec
