// The executor: loads weights through scheduler/executor/, owns the KV cache and scratch, and runs batches.
#include "scheduler/executor.h"

#include <algorithm>

#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/executor/forward_steps.h"
#include "scheduler/executor/kv_cache.h"
#include "scheduler/executor/layer_weights.h"
#include "scheduler/executor/scratch.h"
#include "scheduler/executor/weight_store.h"

namespace mixcl::scheduler {

using namespace exec;

struct Executor::Impl {
  const gguf::GgufFile& file;
  arch::Deepseek2Config config;
  ExecutorOptions options;
  std::vector<backend::Device*> devices;
  std::unique_ptr<WeightStore> store;
  ModelWeights weights;
  std::unique_ptr<KvCache> cache;
  ForwardContext ctx;
  uint32_t batch = 1;
  uint32_t position = 0;
  uint64_t tokens = 0;

  Impl(const gguf::GgufFile& f, std::vector<backend::Device*> devs, ExecutorOptions opts)
      : file(f), options(std::move(opts)), devices(std::move(devs)) {}
};

namespace {

backend::Gating router_gating(const arch::Deepseek2Config& c, const std::string& path) {
  switch (c.gating) {
    case arch::GatingFunc::kSoftmax: return backend::Gating::kSoftmax;
    case arch::GatingFunc::kSigmoid: return backend::Gating::kSigmoid;
    case arch::GatingFunc::kSqrtSoftplus: return backend::Gating::kSqrtSoftplus;
    case arch::GatingFunc::kSoftmaxAfterTopk: break;
  }
  fail("{}: expert_gating_func = 3 (softmax after top-k) is not supported: the deepseek2 spec names it without "
       "defining it and no listed model uses it",
       path);
}

}  // namespace

Executor::Executor(const gguf::GgufFile& file, std::vector<backend::Device*> devices, ExecutorOptions options)
    : impl_(std::make_unique<Impl>(file, std::move(devices), std::move(options))) {
  Impl& s = *impl_;
  if (s.devices.empty()) fail("executor: no devices given to run {} on", file.path());
  for (size_t i = 0; i < s.devices.size(); ++i)
    if (!s.devices[i]) fail("executor: device {} of the list is null", i);
  if (s.options.context == 0) fail("executor: a context (-c) of 0 positions cannot hold any token");
  if (s.options.batch == 0) fail("executor: a batch size (-b) of 0 cannot make progress");
  if (s.options.kv_type != DType::F32 && s.options.kv_type != DType::F16)
    fail("executor: KV cache type {} is not supported (F32 or F16)", dtype_name(s.options.kv_type));
  s.config = arch::from_gguf(file);
  s.config.validate();
  const auto& c = s.config;
  s.batch = std::min(s.options.batch, s.options.context);

  // Placement, checked against the device list.
  PlacementFn place = s.options.placement ? s.options.placement : place_all_on(0);
  const size_t n_dev = s.devices.size();
  DeviceOf device_of = [&](std::string_view name) {
    const size_t d = place(name);
    if (d >= n_dev)
      fail("{}: the placement puts tensor {} on device {}, but only {} device(s) were given", file.path(), name, d,
           n_dev);
    return d;
  };

  uint64_t total = 0;
  for (const auto& t : file.tensors()) total += t.nbytes;
  s.store = std::make_unique<WeightStore>(file, s.devices, s.options.host_weights, s.options.progress, total);
  s.weights = load_model_weights(c, *s.store, device_of);
  s.store->finish_uploads();
  if (s.options.progress) s.options.progress(total, total);

  // Roles decide each device's scratch.
  std::vector<DeviceRoles> roles(n_dev);
  std::vector<backend::Device*> layer_devices;
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const auto& a = s.weights.attention[l];
    const auto& f = s.weights.ffn[l];
    roles[a.device].attention = true;
    layer_devices.push_back(s.devices[a.device]);
    (f.moe ? roles[f.device].moe : roles[f.device].dense) = true;
    if (f.shared) roles[f.shared_device].shared = true;
  }
  // Prefill expert streaming: the stream device needs routing buffers for the batches it computes.
  bool streams = false;
  for (bool l : s.options.stream_experts.layers) streams |= l;
  if (streams) {
    if (s.options.stream_experts.device >= n_dev)
      fail("executor: expert streaming names device {}, but only {} device(s) were given",
           s.options.stream_experts.device, n_dev);
    roles[s.options.stream_experts.device].moe = true;
  }
  roles[s.weights.global.embd_device].embedding = true;
  roles[s.weights.global.head_device].head = true;
  s.cache = std::make_unique<KvCache>(layer_devices, s.options.context, uint64_t{c.kv_lora_rank} + c.rope_dim,
                                      s.options.kv_type);

  ForwardContext& ctx = s.ctx;
  ctx.config = &s.config;
  ctx.devices = s.devices;
  ctx.weights = &s.weights;
  ctx.cache = s.cache.get();
  ctx.head_rows = std::min<uint32_t>(s.batch, 16);
  for (size_t d = 0; d < n_dev; ++d) {
    const auto& r = roles[d];
    const bool any = r.attention || r.dense || r.moe || r.shared || r.embedding || r.head;
    ctx.scratch.push_back(any ? std::make_unique<Scratch>(*s.devices[d], c, r, s.batch, s.options.context,
                                                          ctx.head_rows)
                              : nullptr);
  }
  ctx.stager = std::make_unique<Stager>(uint64_t{s.batch} * c.n_embd * 4);
  if (streams) ctx.stream = std::make_unique<ExpertStream>(s.options.stream_experts, s.weights, s.devices);
  ctx.rope.n_dims = c.rope_dim;
  ctx.rope.neox = false;  // adjacent pairs (quirk Q9)
  ctx.rope.freq_base = c.rope_base;
  ctx.rope.yarn_factor = c.yarn ? c.yarn_factor : 1.0f;
  ctx.rope.yarn_orig_ctx = c.yarn ? c.yarn_orig_ctx : 0;
  ctx.rope.yarn_beta_fast = c.yarn_beta_fast;
  ctx.rope.yarn_beta_slow = c.yarn_beta_slow;
  ctx.router.gating = router_gating(c, file.path());
  ctx.router.n_expert = c.n_expert;
  ctx.router.n_used = c.n_expert_used;
  ctx.router.n_group = std::max<uint32_t>(c.n_group, 1);
  ctx.router.n_group_used = std::max<uint32_t>(c.n_group_used, 1);
  ctx.router.norm = c.expert_weights_norm;
  ctx.router.scale = c.expert_weights_scale;
  ctx.attn_scale = static_cast<float>(c.attn_scale());
  // One worker thread for the whole life of the executor, only where some layer has host routed experts and
  // its shared expert on an accelerator; it exists in both modes so that they differ only in the overlap.
  bool host_routed_apart = false;
  for (const auto& f : s.weights.ffn)
    host_routed_apart |= f.moe && f.shared && f.shared_device != f.device &&
                         s.devices[f.device]->caps().kind == backend::DeviceKind::kHost &&
                         s.devices[f.shared_device]->caps().kind != backend::DeviceKind::kHost;
  if (host_routed_apart) ctx.worker = std::make_unique<HostWorker>();
  ctx.overlap = s.options.overlap_host_experts;
  for (auto* d : s.devices) d->finish();
}

Executor::~Executor() {
  if (!impl_) return;
  for (auto* d : impl_->devices) {
    try {
      d->finish();  // nothing queued may outlive the buffers
    } catch (...) {
    }
  }
}

const arch::Deepseek2Config& Executor::config() const { return impl_->config; }
uint32_t Executor::position() const { return impl_->position; }
uint32_t Executor::context() const { return impl_->options.context; }

ForwardResult Executor::forward(std::span<const int32_t> tokens, const ForwardRequest& request) {
  Impl& s = *impl_;
  const auto& c = s.config;
  const uint64_t n = tokens.size();
  if (n > uint64_t{s.options.context} - s.position)
    fail("context full: the KV cache holds {} positions (-c {}); {} are in use and {} more tokens were asked; "
         "start a new sequence or run with a larger -c",
         s.options.context, s.options.context, s.position, n);
  for (uint64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || static_cast<uint64_t>(tokens[i]) >= c.n_vocab)
      fail("token id {} (input index {}) is outside the vocabulary [0, {})", tokens[i], i, c.n_vocab);

  ForwardResult result;
  if (request.routes) result.routes.resize(c.n_layer - c.n_dense);
  if (n == 0) return result;
  result.logits.resize((request.all_logits ? n : 1) * uint64_t{c.n_vocab});
  ForwardSteps steps(s.ctx);
  for (uint64_t done = 0; done < n;) {
    const auto m = static_cast<uint32_t>(std::min<uint64_t>(s.batch, n - done));
    const uint32_t pos0 = s.position;
    steps.embed(tokens.subspan(done, m), pos0);
    for (uint32_t l = 0; l < c.n_layer; ++l) {
      steps.attention(l, m, pos0);
      steps.ffn(l, m, request.routes && c.is_moe_layer(l) ? &result.routes[l - c.n_dense] : nullptr);
    }
    if (request.all_logits)
      steps.head(0, m, result.logits.data() + done * c.n_vocab);
    else if (done + m == n)
      steps.head(m - 1, m, result.logits.data());
    s.position += m;
    s.tokens += m;
    done += m;
  }
  return result;
}

void Executor::truncate(uint32_t position) {
  if (position > impl_->position)
    fail("truncate: cannot keep {} positions, the KV cache holds only {}", position, impl_->position);
  impl_->position = position;
}

std::vector<DeviceMemoryReport> Executor::memory_report() const {
  const Impl& s = *impl_;
  std::vector<DeviceMemoryReport> out;
  for (size_t d = 0; d < s.devices.size(); ++d) {
    DeviceMemoryReport r;
    r.device = s.devices[d]->name();
    r.weights = s.store->bytes(d).copied;
    r.mapped = s.store->bytes(d).mapped;
    for (uint32_t l = 0; l < s.config.n_layer; ++l)
      if (s.weights.attention[l].device == d) r.kv_cache += s.cache->layer_bytes();
    r.scratch = s.ctx.scratch[d] ? s.ctx.scratch[d]->bytes() : 0;
    if (s.ctx.stream && s.ctx.stream->device() == d) r.scratch += s.ctx.stream->bytes();
    r.peak = s.devices[d]->memory().peak();
    r.budget = s.devices[d]->memory().budget();
    out.push_back(r);
  }
  return out;
}

ExecutorStats Executor::stats() const {
  const Impl& s = *impl_;
  return {s.tokens, s.ctx.host_expert_steps, s.ctx.overlapped_steps, s.ctx.streamed_steps};
}

uint64_t Executor::bytes_per_token() const {
  const Impl& s = *impl_;
  const auto& c = s.config;
  uint64_t total = s.weights.global.head_bytes + s.weights.global.embd_row_bytes;
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const auto& f = s.weights.ffn[l];
    total += s.weights.attention[l].bytes + uint64_t{c.n_embd} * 4;  // + ffn_norm
    total += f.dense_bytes + f.router_bytes + f.shared_bytes;
    if (f.moe) total += f.routed_bytes / c.n_expert * c.n_expert_used;
  }
  return total;
}

}  // namespace mixcl::scheduler
