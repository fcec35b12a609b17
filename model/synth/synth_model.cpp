#include "model/synth/synth_model.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/quant/quant.h"
#include "model/synth/deepseek2_keys.h"
#include "model/synth/synth_tensors.h"
#include "model/synth/synth_tokenizer.h"
#include "model/tokenizer/gguf_tokenizer.h"

namespace mixcl::synth {
namespace {

void throw_if_cancelled(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) fail("synth: interrupted; no file was written");
}

// Generates and encodes rows [first, first + n) of `t` into dst, rows spread over the OpenMP threads.
void fill_tensor(const SynthTensor& t, const arch::Deepseek2Config& c, uint64_t seed,
                 const std::atomic<bool>* cancel, uint64_t first, uint64_t n, uint8_t* dst) {
  throw_if_cancelled(cancel);
  const uint64_t ne0 = t.dims[0];
  const uint64_t rb = row_bytes(t.type, ne0);
  // Rows per work item: enough elements that the per-item overhead vanishes.
  const uint64_t chunk = std::max<uint64_t>(1, 16384 / ne0);
  const int64_t n_chunks = static_cast<int64_t>((n + chunk - 1) / chunk);
  std::string error;  // exceptions must not cross the OpenMP region
  const bool parallel = n_chunks > 1 && n * ne0 >= 65536;  // small slabs: thread start-up costs more
#pragma omp parallel if (parallel)
  {
    std::vector<float> buf(chunk * ne0);
#pragma omp for schedule(dynamic, 1)
    for (int64_t k = 0; k < n_chunks; ++k) {
      if (cancel && cancel->load(std::memory_order_relaxed)) continue;
      const uint64_t r0 = static_cast<uint64_t>(k) * chunk;
      const uint64_t rows = std::min(chunk, n - r0);
      try {
        generate_rows(t, c, seed, first + r0, rows, buf.data());
        for (uint64_t r = 0; r < rows; ++r)
          quant::quantize_row(t.type, buf.data() + r * ne0, dst + (r0 + r) * rb, ne0);
      } catch (const std::exception& e) {
#pragma omp critical(mixcl_synth_error)
        if (error.empty()) error = e.what();
      }
    }
  }
  if (!error.empty()) fail("synth: tensor {}: {}", t.name, error);
  throw_if_cancelled(cancel);
}

}  // namespace

std::optional<uint32_t> file_type_for(DType type) {
  switch (type) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 12;  // Q3_K_M
    case DType::Q4_K: return 15;  // Q4_K_M
    case DType::Q5_K: return 17;  // Q5_K_M
    case DType::Q6_K: return 18;
    case DType::IQ4_NL: return 25;
    case DType::IQ4_XS: return 30;
    case DType::BF16: return 32;
    default: return std::nullopt;
  }
}

SynthResult write_synth_model(const std::filesystem::path& path, const SynthOptions& options,
                              gguf::GgufProgress progress) {
  options.types.validate();
  SynthResult result;
  arch::Deepseek2Config& c = result.config;
  c = options.config;
  if (c.n_nextn > 0) fail("synth: MTP (nextn) blocks are not synthesized; set nextn layers to 0");
  const tokenizer::TokenizerData tok = synth_tokenizer(options.tokenizer_merges, c.n_vocab);
  if (c.n_vocab == 0) c.n_vocab = static_cast<uint32_t>(tok.tokens.size());
  c.validate();
  // Kept alive until finish() returns: the fill callbacks point into it.
  const std::vector<SynthTensor> plan = plan_tensors(c, options.types);

  gguf::GgufWriter writer(path);
  if (options.slab_bytes > 0) writer.set_slab_bytes(options.slab_bytes);
  using gguf::GgufValue;
  set_deepseek2_keys(writer, c);
  writer.set("general.type", GgufValue::str("model"));
  writer.set("general.name", GgufValue::str("mixcl synthetic " + c.name));
  writer.set("general.synth.geometry", GgufValue::str(c.name));
  writer.set("general.synth.seed", GgufValue::u64(options.seed));
  writer.set("general.quantization_version", GgufValue::u32(2));
  if (auto ft = file_type_for(options.types.routed_experts)) writer.set("general.file_type", GgufValue::u32(*ft));
  for (auto& [key, value] : tokenizer::tokenizer_gguf_kvs(tok)) writer.set(key, std::move(value));

  const uint64_t seed = options.seed;
  const std::atomic<bool>* cancel = options.cancel;
  for (const SynthTensor& t : plan) {
    writer.add_tensor(t.name, t.dims, t.type, [&t, &c, seed, cancel](uint64_t first, uint64_t n, uint8_t* dst) {
      fill_tensor(t, c, seed, cancel, first, n, dst);
    });
    uint64_t elems = 1;
    for (uint64_t d : t.dims) elems *= d;
    result.n_params += elems;
  }
  result.n_tensors = plan.size();
  result.file_bytes = writer.planned_file_size();
  throw_if_cancelled(cancel);
  writer.finish(progress);
  return result;
}

}  // namespace mixcl::synth
