#include "scheduler/executor/kv_cache.h"

#include "common/error.h"

namespace mixcl::scheduler::exec {

KvCache::KvCache(const std::vector<backend::Device*>& layer_devices, uint32_t context, uint64_t row_elems,
                 DType type)
    : context_(context), row_elems_(row_elems), type_(type) {
  if (type != DType::F32 && type != DType::F16)
    fail("KV cache type {} is not supported (use F32 or F16)", dtype_name(type));
  for (size_t l = 0; l < layer_devices.size(); ++l) {
    try {
      buffers_.push_back(layer_devices[l]->allocate(layer_bytes(), row_bytes()));
    } catch (const Error& e) {
      fail("KV cache of block {} ({} rows of {} bytes, {}) does not fit on device {}: {}; lower the context (-c) "
           "or use an F16 cache",
           l, context, row_bytes(), format_bytes(layer_bytes()), layer_devices[l]->name(), e.what());
    }
  }
}

}  // namespace mixcl::scheduler::exec
