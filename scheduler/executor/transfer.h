#pragma once
// Moves activations between devices through a host staging buffer: download (waited), then an upload ordered
// after the destination's queued ops by an event, which its later ops wait for (no full sync).
#include <cstdint>
#include <vector>

#include "backend/device.h"

namespace mixcl::scheduler::exec {

/// One host staging buffer for device-to-device copies of activations.
class Stager {
 public:
  explicit Stager(uint64_t max_bytes) : host_(max_bytes) {}
  ~Stager();
  Stager(const Stager&) = delete;
  Stager& operator=(const Stager&) = delete;

  /// Copies `bytes` from `src` on `from` to `dst` on `to`; ops enqueued on `to` afterwards see the data.
  void move(backend::Device& from, backend::View src, backend::Device& to, backend::View dst, uint64_t bytes);

 private:
  std::vector<uint8_t> host_;
  backend::Event pending_;  // the last upload, which still reads host_
};

}  // namespace mixcl::scheduler::exec
