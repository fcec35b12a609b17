// The planner's view of a model: from a GGUF header, or from a named geometry and a weight-type mix.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "model/synth/synth_model.h"
#include "model/synth/synth_tensors.h"
#include "model/synth/synth_tokenizer.h"
#include "model/synth/synth_types.h"
#include "scheduler/plan.h"

namespace mixcl::scheduler {
namespace {

// A weight-type mix: one type per class, and llama.cpp's "more bits" rule for some ffn_down tensors.
struct TypeMix {
  std::string_view name;
  std::string_view description;
  synth::TypeChoice types;
  bool more_bits_down = false;  // ffn_down(_exps|_shexp) of the more-bits layers stored as Q6_K
};

synth::TypeChoice uniform(DType t, DType output) {
  synth::TypeChoice c;
  c.embedding = c.attention = c.dense_ffn = c.shared_experts = c.routed_experts = t;
  c.output = output;
  c.norm = DType::F32;
  return c;
}

const std::vector<TypeMix>& mixes() {
  static const std::vector<TypeMix> kMixes = [] {
    std::vector<TypeMix> m;
    m.push_back({"Q4_K_M",
                 "Q4_K everywhere, output Q6_K, ffn_down (dense, shared, routed) Q6_K in the layers of llama.cpp's "
                 "more-bits rule (first and last eighth, every third between), norms and router F32",
                 uniform(DType::Q4_K, DType::Q6_K), true});
    m.push_back({"Q4_K_S", "Q4_K everywhere, output Q6_K, norms and router F32", uniform(DType::Q4_K, DType::Q6_K)});
    m.push_back({"Q6_K", "Q6_K everywhere, norms and router F32", uniform(DType::Q6_K, DType::Q6_K)});
    m.push_back({"Q8_0", "Q8_0 everywhere, norms and router F32", uniform(DType::Q8_0, DType::Q8_0)});
    m.push_back({"F16", "F16 everywhere, norms and router F32", uniform(DType::F16, DType::F16)});
    m.push_back({"synth",
                 "mixcl synth's default: routed experts Q4_K, attention/shared/dense Q8_0, embedding Q4_K, output "
                 "Q6_K, norms and router F32",
                 synth::TypeChoice{}});
    return m;
  }();
  return kMixes;
}

// llama.cpp's use_more_bits(i, n): the first and last eighth of the layers and every third one between.
bool more_bits_layer(uint32_t i, uint32_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

bool is_down(std::string_view name) {
  return name.find(".ffn_down.") != std::string_view::npos || name.find(".ffn_down_exps.") != std::string_view::npos ||
         name.find(".ffn_down_shexp.") != std::string_view::npos;
}

// Layer index of "blk.N.*" names, or -1.
int layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int v = 0;
  size_t i = 4;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) v = v * 10 + (name[i] - '0');
  return i == 4 ? -1 : v;
}

}  // namespace

uint64_t ModelTensor::elements() const {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

std::vector<std::string_view> type_mix_names() {
  std::vector<std::string_view> names;
  for (const TypeMix& m : mixes()) names.push_back(m.name);
  return names;
}

std::string_view type_mix_description(std::string_view name) {
  for (const TypeMix& m : mixes())
    if (m.name == name) return m.description;
  return {};
}

ModelInfo model_info(const gguf::GgufFile& file) {
  ModelInfo info;
  info.source = file.path();
  info.config = arch::from_gguf(file);
  info.tensors.reserve(file.tensors().size());
  for (const gguf::GgufTensor& t : file.tensors()) {
    ModelTensor m;
    m.name = std::string(t.name);
    m.dims.assign(t.dims().begin(), t.dims().end());
    m.type = t.type;
    m.bytes = t.nbytes;
    info.tensors.push_back(std::move(m));
  }
  return info;
}

ModelInfo model_info(std::string_view geometry, std::string_view type_mix) {
  const TypeMix* mix = nullptr;
  for (const TypeMix& m : mixes())
    if (m.name == type_mix) mix = &m;
  if (mix == nullptr) fail("unknown weight-type mix '{}' (known: {})", type_mix, fmt::join(type_mix_names(), ", "));
  ModelInfo info;
  info.config = arch::geometry(geometry);
  if (info.config.n_vocab == 0) {
    // Test geometries take their vocabulary from the tokenizer mixcl synth trains (default merges).
    info.config.n_vocab = static_cast<uint32_t>(synth::synth_tokenizer(synth::SynthOptions{}.tokenizer_merges, 0).tokens.size());
  }
  info.source = fmt::format("geometry {}, {}", geometry, mix->name);
  // The synth tensor list is the one place that knows which tensors a deepseek2 file holds.
  for (const synth::SynthTensor& t : synth::plan_tensors(info.config, mix->types)) {
    ModelTensor m;
    m.name = t.name;
    m.dims = t.dims;
    m.type = t.type;
    const int layer = layer_of(t.name);
    if (mix->more_bits_down && layer >= 0 && is_down(t.name) &&
        more_bits_layer(static_cast<uint32_t>(layer), info.config.n_layer))
      m.type = synth::fitting_type(DType::Q6_K, t.dims[0]);
    m.bytes = row_bytes(m.type, m.dims[0]) * (m.elements() / m.dims[0]);
    info.tensors.push_back(std::move(m));
  }
  return info;
}

}  // namespace mixcl::scheduler
