#pragma once
// Writes the `deepseek2.*` metadata of a config the way current converters do (deepseek2.md §2).
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_writer.h"

namespace mixcl::synth {

/// Sets general.architecture and every deepseek2.* key of `c`. MLA-split configs get key_length_mla /
/// value_length_mla, head_count_kv = 1, key_length = Lkv + dr, value_length = Lkv; legacy ones head_count_kv
/// = H, key_length = dn + dr, value_length = dv. Optional keys at their default are left out like older
/// converters do (expert_gating_func for softmax, group counts for G <= 1, expert_weights_norm when false).
void set_deepseek2_keys(gguf::GgufWriter& writer, const arch::Deepseek2Config& c);

}  // namespace mixcl::synth
