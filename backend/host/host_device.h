#pragma once
// The host CPU as a device: DRAM with a budget, ops on OpenMP threads with SIMD picked at run time.
#include <atomic>

#include "backend/device.h"

namespace mixcl::backend {

/// Options for the host device.
struct HostOptions {
  int threads = 0;            // 0: all hardware threads
  uint64_t budget_bytes = 0;  // 0: physical memory
  std::string isa;            // "": detect; else force "avx512", "avx2" or "generic"
};

/// The native host device. Copies are plain memcpy; ops run synchronously on the calling thread's team.
class HostDevice final : public Device {
 public:
  explicit HostDevice(const HostOptions& options = {});

  std::shared_ptr<Buffer> allocate(uint64_t bytes, uint64_t granule = 1) override;
  Event upload(Buffer& dst, uint64_t offset, const void* src, uint64_t bytes) override;
  Event download(const Buffer& src, uint64_t offset, void* dst, uint64_t bytes) override;
  void wait_for(const Event& event) override { event.wait(); }
  void finish() override {}

  void add(View a, View b, View out, uint64_t n) override;
  void scale(View x, float s, View out, uint64_t n) override;
  void rmsnorm(View x, View w, View out, uint64_t rows, uint64_t n, float eps) override;
  /// y[i][n] = Σ_k W[n][k] x[i][k] for i < m (x: [m][cols] f32, y: [m][rows] f32), on the SIMD level of
  /// caps().isa (backend/host/kernels/matmul.h).
  void matmul(const WeightView& w, View x, View y, uint64_t m) override;
  void get_rows(const WeightView& table, View ids, View out, uint64_t n) override;
  void rope(View x, View positions, uint64_t n_tokens, uint64_t n_heads, uint64_t head_stride,
            uint64_t dim_offset, const RopeParams& p) override;
  void softmax(View x, uint64_t rows, uint64_t n, float scale) override;
  void swiglu(View gate, View up, View out, uint64_t n, float clamp = 0.0f) override;
  void router(View logits, View bias, View ids, View weights, uint64_t m, const RouterParams& p) override;
  void moe_ffn(const ExpertWeights& w, View x, View ids, View weights, View out, uint64_t m, uint64_t k,
               float clamp = 0.0f) override;
  void mla_attention(View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0, uint64_t n_head,
                     uint64_t n_latent, uint64_t n_rope, float scale) override;
  void convert(View src, View dst, DType dst_type, uint64_t n) override;

  /// Threads used by ops.
  int threads() const { return threads_; }

  /// A buffer over `bytes` of host memory owned elsewhere (weights in a memory-mapped GGUF), used in place:
  /// not copied and not charged to the budget; counted in mapped_bytes() while it lives. Read-only: ops may
  /// only read it.
  std::shared_ptr<Buffer> map_external(const void* data, uint64_t bytes);
  /// Bytes of live map_external() buffers.
  uint64_t mapped_bytes() const { return mapped_->load(); }

 protected:
  /// Row-by-row memcpy (Device::copy_2d has checked the arguments).
  void copy_2d_impl(View src, uint64_t src_pitch, View dst, uint64_t dst_pitch, uint64_t row_bytes,
                    uint64_t rows) override;
  /// The heads as one parallel region, each head's product on one thread (Device::matmul_heads has checked
  /// the shapes and the views).
  void matmul_heads_impl(const WeightView& w, uint64_t n_head, View x, uint64_t x_stride, View y,
                         uint64_t y_stride) override;

 private:
  int threads_;
  std::shared_ptr<std::atomic<uint64_t>> mapped_ = std::make_shared<std::atomic<uint64_t>>(0);
};

/// Probes the host: CPU name, threads, memory, caches and the best SIMD level this CPU runs.
Capabilities probe_host_capabilities();

}  // namespace mixcl::backend
