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
  // An upload does not wait for ops already queued on `to`; one of them may still read `dst`.
  to.finish();
  pending_ = to.upload(*dst.buffer, dst.offset, host_.data(), bytes);
  to.wait_for(pending_);
}

}  // namespace mixcl::scheduler::exec
