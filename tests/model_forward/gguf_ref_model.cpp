#include "tests/model_forward/gguf_ref_model.h"

#include <vector>

#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "model/quant/quant.h"

namespace mixcl::test {

reference::RefHparams ref_hparams(const arch::Deepseek2Config& c) {
  if (c.gating == arch::GatingFunc::kSoftmaxAfterTopk)
    fail("reference forward: gating function 3 (softmax after top-k) is not implemented by the reference");
  reference::RefHparams hp;
  hp.n_embd = c.n_embd, hp.n_layer = c.n_layer, hp.n_dense = c.n_dense, hp.n_head = c.n_head;
  hp.q_lora_rank = c.q_lora_rank, hp.kv_lora_rank = c.kv_lora_rank;
  hp.rope_dims = c.rope_dim, hp.nope_dims = c.nope_dim, hp.v_dims = c.v_head_dim;
  hp.ffn = c.n_ff, hp.ffn_expert = c.n_ff_exp, hp.n_expert = c.n_expert, hp.n_expert_used = c.n_expert_used;
  hp.n_shared = c.n_expert_shared;
  hp.n_group = c.n_group > 1 ? c.n_group : 1;
  hp.n_group_used = c.n_group > 1 ? c.n_group_used : 1;
  hp.vocab = c.n_vocab;
  hp.eps = c.rms_eps, hp.rope_base = c.rope_base;
  hp.yarn = c.yarn;
  if (c.yarn) {
    hp.yarn_factor = c.yarn_factor, hp.yarn_orig_ctx = c.yarn_orig_ctx;
    hp.yarn_log_multiplier = 0.1 * static_cast<double>(c.mscale_all_dim);  // quirk Q3: what the file stores
    hp.yarn_beta_fast = c.yarn_beta_fast, hp.yarn_beta_slow = c.yarn_beta_slow;
  }
  hp.expert_weights_scale = c.expert_weights_scale;
  hp.expert_weights_norm = c.expert_weights_norm;
  hp.gating = static_cast<int>(c.gating);
  return hp;
}

reference::RefModel GgufRefModel::model() const {
  reference::RefModel m;
  m.hp = hp;
  m.tensor = [this](const std::string& name) -> const reference::RefTensor* {
    const auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : &it->second;
  };
  return m;
}

GgufRefModel load_ref_model(const gguf::GgufFile& file) {
  GgufRefModel r;
  r.config = arch::from_gguf(file);
  r.hp = ref_hparams(r.config);
  // The multiplier straight from the file, so the reference does not inherit a conversion slip of from_gguf.
  if (r.config.yarn) r.hp.yarn_log_multiplier = file.get_f32("rope.scaling.yarn_log_multiplier", 0.0f);
  std::vector<float> row;
  for (const auto& t : file.tensors()) {
    if (!quant::can_dequantize(t.type))
      fail("{}: tensor '{}' has type {}, which the reference cannot decode", file.path(), t.name,
           dtype_name(t.type));
    reference::RefTensor rt;
    rt.dims.assign(t.dims().begin(), t.dims().end());
    rt.data.resize(t.n_elements);
    const uint64_t ne0 = t.ne[0], rows = t.n_elements / ne0, rb = t.row_bytes();
    row.resize(ne0);
    for (uint64_t i = 0; i < rows; ++i) {
      quant::dequantize_row(t.type, t.data + i * rb, row.data(), ne0);
      for (uint64_t j = 0; j < ne0; ++j) rt.data[i * ne0 + j] = row[j];
    }
    r.tensors.emplace(std::string(t.name), std::move(rt));
  }
  return r;
}

}  // namespace mixcl::test
