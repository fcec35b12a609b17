#pragma once
// Writes synthetic `deepseek2` GGUF models: a geometry, random weights from a seed, a real tiny tokenizer.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_writer.h"
#include "model/synth/synth_types.h"

namespace mixcl::synth {

/// What to write. A config with n_vocab = 0 takes its vocabulary size from the trained tokenizer.
struct SynthOptions {
  arch::Deepseek2Config config;
  uint64_t seed = 1;
  TypeChoice types;
  size_t tokenizer_merges = 250;             // BPE merges learned from the built-in corpus
  const std::atomic<bool>* cancel = nullptr;  // when it becomes true the write stops and leaves no file
  uint64_t slab_bytes = 0;                    // writer slab limit; 0 = the writer's default
};

/// What was written.
struct SynthResult {
  arch::Deepseek2Config config;  // with n_vocab resolved
  uint64_t n_params = 0;         // elements over all tensors
  uint64_t file_bytes = 0;
  size_t n_tensors = 0;
};

/// Writes the model to `path` (via path.tmp, renamed at the end; nothing is left behind on error or
/// cancellation). Tensor data is generated and quantized slab by slab, in parallel within a slab.
SynthResult write_synth_model(const std::filesystem::path& path, const SynthOptions& options,
                              gguf::GgufProgress progress = {});

/// llama.cpp's general.file_type number for a model whose routed experts use `type` (the bulk of its
/// bytes); nullopt when there is no matching number.
std::optional<uint32_t> file_type_for(DType type);

}  // namespace mixcl::synth
