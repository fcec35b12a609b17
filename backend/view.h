#pragma once
// Where an op reads or writes: a byte offset into a device buffer, and weight matrices laid out in rows.
#include <cstdint>

#include "common/dtype.h"

namespace mixcl::backend {

class Buffer;

/// A byte offset into a buffer; ops read or write from there.
struct View {
  Buffer* buffer = nullptr;
  uint64_t offset = 0;
};

/// A weight matrix in device memory: `rows` rows of `cols` elements in `type`, each row contiguous
/// (GGUF ne0 = cols is the contracted dimension, ne1 = rows the output dimension).
struct WeightView {
  View data;
  DType type = DType::F32;
  uint64_t cols = 0;
  uint64_t rows = 0;
};

/// Matrix i of a stack of equal matrices of `rows` rows each (one expert of a 3-D expert tensor, one MLA head).
inline WeightView slab(const WeightView& stack, uint64_t i, uint64_t rows) {
  return {{stack.data.buffer, stack.data.offset + i * rows * row_bytes(stack.type, stack.cols)}, stack.type,
          stack.cols, rows};
}

}  // namespace mixcl::backend
