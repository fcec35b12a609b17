#include "scheduler/executor/expert_stream.h"

#include "backend/host/host_buffer.h"
#include "common/error.h"

namespace mixcl::scheduler::exec {
namespace {

// One expert's matrix (the views of ExpertWeights are one expert: rows x cols), and all n of them.
uint64_t expert_bytes(const backend::WeightView& w) { return row_bytes(w.type, w.cols) * w.rows; }
uint64_t all_bytes(const backend::WeightView& w, uint32_t n) { return expert_bytes(w) * n; }

// A buffer of `bytes`, split (when the device must) only between experts.
std::shared_ptr<backend::Buffer> allocate(backend::Device& dev, uint64_t bytes, uint64_t expert_bytes,
                                          const char* what) {
  try {
    return dev.allocate(bytes, expert_bytes);
  } catch (const Error& e) {
    fail("prefill expert streaming: the {} buffer ({}) does not fit on device {}: {}; give the device a larger "
         "budget or set scheduling.stream_experts_min_batch above the prefill batch to keep host experts on the host",
         what, format_bytes(bytes), dev.name(), e.what());
  }
}

}  // namespace

ExpertStream::ExpertStream(const ExpertStreaming& options, const ModelWeights& weights,
                           std::span<backend::Device* const> devices)
    : options_(options) {
  if (options_.device >= devices.size())
    fail("prefill expert streaming: device index {} is outside the {} device(s) given", options_.device,
         devices.size());
  dev_ = devices[options_.device];
  if (dev_->caps().kind == backend::DeviceKind::kHost)
    fail("prefill expert streaming: device {} is the host; streaming copies host experts to an accelerator",
         dev_->name());
  if (options_.min_batch == 0) options_.min_batch = 1;
  if (options_.layers.size() > weights.ffn.size())
    fail("prefill expert streaming: {} layers marked but the model has {}", options_.layers.size(), weights.ffn.size());
  uint64_t gate = 0, up = 0, down = 0, per_gate = 1, per_up = 1, per_down = 1;
  for (size_t l = 0; l < options_.layers.size(); ++l) {
    if (!options_.layers[l]) continue;
    const FfnWeights& f = weights.ffn[l];
    if (!f.moe) fail("prefill expert streaming: block {} is a dense layer; only routed experts stream", l);
    if (devices[f.device]->caps().kind != backend::DeviceKind::kHost)
      fail("prefill expert streaming: block {}'s routed experts are on {}, not in host DRAM", l,
           devices[f.device]->name());
    const backend::ExpertWeights& x = f.experts;
    gate = std::max(gate, all_bytes(x.gate, x.n_expert));
    up = std::max(up, all_bytes(x.up, x.n_expert));
    down = std::max(down, all_bytes(x.down, x.n_expert));
    per_gate = expert_bytes(x.gate);
    per_up = expert_bytes(x.up);
    per_down = expert_bytes(x.down);
  }
  if (gate == 0) return;  // no layer streams
  gate_ = allocate(*dev_, gate, per_gate, "gate");
  up_ = allocate(*dev_, up, per_up, "up");
  down_ = allocate(*dev_, down, per_down, "down");
}

bool ExpertStream::applies(uint32_t layer, uint32_t m) const {
  return gate_ && m >= options_.min_batch && layer < options_.layers.size() && options_.layers[layer];
}

uint64_t ExpertStream::bytes() const { return gate_ ? gate_->size() + up_->size() + down_->size() : 0; }

backend::ExpertWeights ExpertStream::load(const backend::ExpertWeights& host) {
  backend::ExpertWeights out = host;
  auto put = [&](const backend::WeightView& src, const std::shared_ptr<backend::Buffer>& buf) {
    const uint64_t n = all_bytes(src, host.n_expert);
    if (n > buf->size()) fail("internal: layer experts of {} bytes exceed the {}-byte stream buffer", n, buf->size());
    dev_->wait_for(dev_->upload(*buf, 0, backend::host_ptr(src.data), n));
    backend::WeightView v = src;
    v.data = {buf.get(), 0};
    return v;
  };
  out.gate = put(host.gate, gate_);
  out.up = put(host.up, up_);
  out.down = put(host.down, down_);
  return out;
}

}  // namespace mixcl::scheduler::exec
