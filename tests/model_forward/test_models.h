#pragma once
// The synthetic models of the forward checks: one per variant and storage mix, written once per process into
// a temporary folder, opened, and run once through the reference forward on the shared token sequence.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "model/synth/synth_types.h"
#include "tests/model_forward/gguf_ref_model.h"
#include "tests/reference/deepseek2_reference.h"

namespace mixcl::test {

/// One model to write: a named variant of a geometry and a storage mix.
struct ModelCase {
  std::string variant;  // "tiny-v3", "legacy-mla", ...
  std::string mix;      // "f32", "q8_0", "default", "experts-q2_k", ...
  arch::Deepseek2Config config;
  synth::TypeChoice types;
  uint64_t seed = 7;
  /// "variant/mix", the cache key and the name in messages.
  std::string name() const { return variant + "/" + mix; }
};

/// The variants: every tiny geometry, plus the legacy MLA layout, a tied output and an all-MoE model.
std::vector<std::string> variant_names();
/// The config of a variant (a tiny geometry, possibly edited).
arch::Deepseek2Config variant_config(const std::string& variant);
/// Storage mixes: "f32", "q8_0", "default" (the Q4_K_M-like TypeChoice), "experts-<type>" (default mix with the
/// routed experts in <type>: q2_k, q3_k, mxfp4, q5_k, q6_k).
synth::TypeChoice mix_types(const std::string& mix);
/// A case from a variant and a mix name.
ModelCase model_case(const std::string& variant, const std::string& mix);

/// A written and opened model with its reference run on test_tokens().
struct LoadedModel {
  std::filesystem::path path;
  arch::Deepseek2Config written;  // the config the synthesizer wrote (n_vocab resolved)
  gguf::GgufFile file;
  GgufRefModel ref;
  std::vector<int32_t> tokens;  // test_tokens() for this vocabulary
  reference::RefOutput ref_out;  // the reference on `tokens`
};

/// The model of a case, written and run through the reference on first use, then cached for the process.
const LoadedModel& loaded(const ModelCase& c);

/// Number of positions every check runs.
constexpr size_t kTestTokens = 16;
/// kTestTokens reproducible token ids in [0, vocab).
std::vector<int32_t> test_tokens(uint32_t vocab);

/// The process's temporary folder (removed at exit).
const std::filesystem::path& temp_dir();

}  // namespace mixcl::test
