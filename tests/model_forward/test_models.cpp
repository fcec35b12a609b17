#include "tests/model_forward/test_models.h"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>

#include "common/error.h"
#include "model/synth/synth_model.h"

namespace mixcl::test {
namespace {

// Owns the temporary folder; removing it at exit leaves nothing behind.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mixcl-fwdtest-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) fail("model_forward test: cannot create a temporary folder from {}", tmpl);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::filesystem::path& temp_dir() {
  static TempDir dir;
  return dir.path;
}

std::vector<std::string> variant_names() {
  std::vector<std::string> names;
  for (auto g : arch::geometry_names())
    if (g.starts_with("tiny-")) names.emplace_back(g);
  names.insert(names.end(), {"legacy-mla", "tied-output", "all-moe"});
  return names;
}

arch::Deepseek2Config variant_config(const std::string& variant) {
  if (variant == "legacy-mla") {  // the pre-split layout (one attn_kv_b), with q-LoRA and group routing
    arch::Deepseek2Config c = arch::geometry("tiny-v2");
    c.name = variant;
    c.mla = arch::MlaLayout::kLegacy;
    return c;
  }
  if (variant == "tied-output") {  // no output.weight: the head is token_embd
    arch::Deepseek2Config c = arch::geometry("tiny-moonlight");
    c.name = variant;
    c.tied_output = true;
    return c;
  }
  if (variant == "all-moe") {  // no dense leading block, softmax gating with renormalisation
    arch::Deepseek2Config c = arch::geometry("tiny-kimi-k2");
    c.name = variant;
    c.n_dense = 0;
    c.gating = arch::GatingFunc::kSoftmax;
    c.router_bias = false;
    return c;
  }
  return arch::geometry(variant);
}

synth::TypeChoice mix_types(const std::string& mix) {
  synth::TypeChoice t;
  if (mix == "default") return t;
  if (mix == "f32" || mix == "q8_0") {
    const DType d = mix == "f32" ? DType::F32 : DType::Q8_0;
    t.embedding = t.output = t.attention = t.dense_ffn = t.shared_experts = t.routed_experts = d;
    t.norm = DType::F32;
    return t;
  }
  if (mix.starts_with("experts-")) {
    const auto type = dtype_from_name(mix.substr(8));
    if (!type) fail("model_forward test: unknown type in mix '{}'", mix);
    t.routed_experts = *type;
    return t;
  }
  fail("model_forward test: unknown storage mix '{}'", mix);
}

ModelCase model_case(const std::string& variant, const std::string& mix) {
  ModelCase c;
  c.variant = variant;
  c.mix = mix;
  c.config = variant_config(variant);
  c.types = mix_types(mix);
  return c;
}

std::vector<int32_t> test_tokens(uint32_t vocab) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(vocab) - 1);
  std::vector<int32_t> tokens(kTestTokens);
  for (auto& t : tokens) t = pick(rng);
  return tokens;
}

const LoadedModel& loaded(const ModelCase& c) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<LoadedModel>> cache;
  std::lock_guard lock(mu);
  auto& slot = cache[c.name()];
  if (slot) return *slot;
  std::string file_name = c.name();
  for (char& ch : file_name)
    if (ch == '/') ch = '_';
  const auto path = temp_dir() / (file_name + ".gguf");
  synth::SynthOptions options;
  options.config = c.config;
  options.seed = c.seed;
  options.types = c.types;
  const synth::SynthResult written = synth::write_synth_model(path, options);
  auto m = std::unique_ptr<LoadedModel>(new LoadedModel{path, written.config, gguf::GgufFile::open(path), {}, {}, {}});
  m->ref = load_ref_model(m->file);
  m->tokens = test_tokens(written.config.n_vocab);
  m->ref_out = reference::reference_forward(m->ref.model(), m->tokens);
  slot = std::move(m);
  return *slot;
}

}  // namespace mixcl::test
