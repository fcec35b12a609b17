#pragma once
// The compressed MLA KV cache (deepseek2.md §5.3): per block, `context` rows of [latent c | rotated k_pe] in
// F32 or F16, on the block's attention device.
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/device.h"
#include "common/dtype.h"

namespace mixcl::scheduler::exec {

/// Latent cache rows of every block.
class KvCache {
 public:
  /// Allocates `context` rows of `row_elems` values per block on `layer_devices[l]`; type F32 or F16.
  KvCache(const std::vector<backend::Device*>& layer_devices, uint32_t context, uint64_t row_elems, DType type);

  DType type() const { return type_; }
  uint32_t context() const { return context_; }
  /// Bytes of one cached row.
  uint64_t row_bytes() const { return row_elems_ * (type_ == DType::F32 ? 4 : 2); }
  /// Row `pos` of block `layer`.
  backend::View row(uint32_t layer, uint32_t pos) const { return {buffers_[layer].get(), pos * row_bytes()}; }
  /// The whole cache of block `layer` (row 0).
  backend::View layer(uint32_t layer) const { return row(layer, 0); }
  /// Bytes the cache of block `layer` holds.
  uint64_t layer_bytes() const { return uint64_t{context_} * row_bytes(); }

 private:
  uint32_t context_;
  uint64_t row_elems_;
  DType type_;
  std::vector<std::shared_ptr<backend::Buffer>> buffers_;
};

}  // namespace mixcl::scheduler::exec
