#pragma once
// Small helpers shared by the host op implementations: view checks with the op's name in the message.
#include <cstdint>

#include "backend/host/host_buffer.h"
#include "common/error.h"

namespace mixcl::backend::ops {

/// The host address of `v` after checking that `bytes` bytes from it lie inside its buffer.
inline uint8_t* checked_ptr(View v, uint64_t bytes, const char* op, const char* what) {
  if (!v.buffer) fail("host {}: the {} view has no buffer", op, what);
  if (v.offset > v.buffer->size() || bytes > v.buffer->size() - v.offset)
    fail("host {}: the {} view [{}, {}) lies outside its {}-byte buffer", op, what, v.offset,
         v.offset + bytes, v.buffer->size());
  return host_ptr(v);
}

/// Typed form of checked_ptr for `count` elements of T.
template <class T>
T* checked(View v, uint64_t count, const char* op, const char* what) {
  return reinterpret_cast<T*>(checked_ptr(v, count * sizeof(T), op, what));
}

}  // namespace mixcl::backend::ops
