// libFuzzer target for the GGUF reader: any byte string must either parse or raise mixcl::Error; a parsed
// image's accessors and tensor views must stay inside the buffer.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "model/gguf/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mixcl::gguf::GgufFile;
  try {
    const GgufFile f = GgufFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.gguf");
    // Touch everything a loader would: metadata summaries, typed getters, every tensor byte's bounds.
    volatile uint64_t sink = 0;
    for (const auto& kv : f.kvs()) sink = sink + kv.value.summary().size() + kv.value.array_size();
    (void)f.get_u32("block_count", 0);
    (void)f.get_string("tokenizer.ggml.model", "");
    for (const auto& t : f.tensors()) {
      if (t.nbytes != 0) sink = sink + t.data[0] + t.data[t.nbytes - 1];
      if (f.tensor(t.name).data != t.data) __builtin_trap();
    }
    (void)sink;
  } catch (const mixcl::Error&) {
    // Rejecting malformed input with a clear error is the expected outcome.
  }
  return 0;
}
