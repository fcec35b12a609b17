#include "scheduler/executor/transfer.h"

#include "common/error.h"

namespace mixcl::scheduler::exec {

Stager::~Stager() {
  try {
    pending_.wait();
  } catch (...) {
  }
}

void Stager::move(backend::Device& from, backend::View src, backend::Device& to, backend::View dst,
                  uint64_t bytes) {
  if (bytes > host_.size())
    fail("internal: staging {} bytes through a {}-byte buffer", bytes, host_.size());
  pending_.wait();  // the previous upload must have read host_ before it is overwritten
  from.download(*src.buffer, src.offset, host_.data(), bytes).wait();
  // No finish() on `to`: its upload is ordered after the ops already queued there by an event (ops on the host
  // device are synchronous), so one still reading `dst` is not overwritten and nothing here blocks on `to`.
  pending_ = to.upload(*dst.buffer, dst.offset, host_.data(), bytes);
  to.wait_for(pending_);
}

}  // namespace mixcl::scheduler::exec
