#include "model/synth/weight_gen.h"

namespace mixcl::synth {

uint64_t tensor_seed(uint64_t model_seed, std::string_view key) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a over the key, then mixed with the model seed
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001B3ull;
  }
  return mix64(h ^ mix64(model_seed + 0x632BE59BD9B4E019ull));
}

void fill_normal(uint64_t stream_seed, uint64_t first, uint64_t n, float mean, float std, float* dst) {
  for (uint64_t i = 0; i < n; ++i) dst[i] = mean + std * unit_normal(stream_seed, first + i);
}

}  // namespace mixcl::synth
