#pragma once
// The host CPU as a device: DRAM with a budget, ops on OpenMP threads with SIMD picked at run time.
#include "backend/device.h"

namespace mixcl::backend {

/// Options for the host device.
struct HostOptions {
  int threads = 0;           // 0: all hardware threads
  uint64_t budget_bytes = 0;  // 0: physical memory
  std::string isa;           // "": detect; else force "avx512", "avx2" or "generic"
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

  /// Threads used by ops.
  int threads() const { return threads_; }

 private:
  int threads_;
};

/// Probes the host: CPU name, threads, memory, caches and the best SIMD level this CPU runs.
Capabilities probe_host_capabilities();

}  // namespace mixcl::backend
