#pragma once
// The uniform device of mixcl: memory with a budget, async copies with events, and a closed set of ops.
// Every op has one host implementation (backend/host) and one OpenCL implementation (backend/opencl).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/memory_budget.h"
#include "common/dtype.h"

namespace mixcl::backend {

enum class DeviceKind { kHost, kOpenCL };

/// What a device is and can do, probed once at discovery.
struct Capabilities {
  DeviceKind kind = DeviceKind::kHost;
  std::string type;  // "host", "CPU", "GPU", "ACCELERATOR", "CUSTOM"
  std::string vendor, name, driver_version;
  std::string platform_name, platform_version;
  std::vector<std::string> opencl_c_versions;  // e.g. {"1.2", "3.0"}; empty for the host
  uint32_t compute_units = 0;                  // host: hardware threads
  uint32_t clock_mhz = 0;
  uint64_t global_mem_bytes = 0;
  uint64_t local_mem_bytes = 0;
  uint64_t max_alloc_bytes = 0;  // largest single allocation (one cl_mem)
  size_t max_work_group_size = 0;
  bool unified_memory = false;  // shares physical memory with the host
  struct VectorWidths {
    uint32_t char_w = 0, short_w = 0, int_w = 0, long_w = 0, float_w = 0, double_w = 0, half_w = 0;
  } preferred_vector_width;
  bool fp16 = false, fp64 = false;
  bool subgroups = false;             // cl_khr_subgroups or cl_intel_subgroups
  std::vector<size_t> subgroup_sizes;  // sizes the device may use (Intel reports a list)
  std::vector<std::string> int_dot_extensions;  // cl_khr_integer_dot_product, cl_arm_integer_dot_product_*
  bool images = false;
  std::vector<std::string> extensions;
  std::string isa;  // host only: "avx512", "avx2", "generic"
};

/// One logical allocation. It may be backed by several chunks when it exceeds the device's max allocation;
/// chunks always split at a multiple of the granule given to allocate() (e.g. a weight row).
class Buffer {
 public:
  virtual ~Buffer() = default;
  /// Total bytes of the logical buffer.
  virtual uint64_t size() const = 0;
  /// Number of backing allocations (1 unless split).
  virtual size_t chunk_count() const = 0;
  /// Byte range [begin, end) of the logical buffer held by chunk i.
  virtual std::pair<uint64_t, uint64_t> chunk_range(size_t i) const = 0;
};

/// A byte offset into a buffer; ops read or write from there.
struct View {
  Buffer* buffer = nullptr;
  uint64_t offset = 0;
};

/// A weight matrix in device memory: `rows` rows of `cols` elements in `type`, each row contiguous
/// (GGUF ne0 = cols is the contracted dimension, ne1 = rows the output dimension).
struct WeightView {
  View data;
  DType type = DType::F32;
  uint64_t cols = 0;
  uint64_t rows = 0;
};

/// Completion of an asynchronous operation. A default-constructed event is already complete.
class Event {
 public:
  /// Backend-specific completion object.
  struct Impl {
    virtual ~Impl() = default;
    virtual void wait() = 0;
  };
  Event() = default;
  explicit Event(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  /// Blocks until the operation has finished.
  void wait() const {
    if (impl_) impl_->wait();
  }
  /// The backend object (null for a completed event).
  Impl* impl() const { return impl_.get(); }

 private:
  std::shared_ptr<Impl> impl_;
};

/// A compute device: the host CPU or one OpenCL device.
class Device {
 public:
  Device(std::string name, Capabilities caps, uint64_t budget_bytes)
      : name_(std::move(name)), caps_(std::move(caps)), memory_(name_, budget_bytes) {}
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  /// Short stable name: "host", "cl0.1" (platform 0, device 1).
  const std::string& name() const { return name_; }
  const Capabilities& caps() const { return caps_; }
  /// Bytes in use against this device's budget.
  MemoryBudget& memory() { return memory_; }

  /// Allocates `bytes` (charged to the budget); splits into chunks at multiples of `granule` when needed.
  virtual std::shared_ptr<Buffer> allocate(uint64_t bytes, uint64_t granule = 1) = 0;
  /// Copies host memory into a buffer on the copy queue; `src` must stay valid until the event completes.
  virtual Event upload(Buffer& dst, uint64_t offset, const void* src, uint64_t bytes) = 0;
  /// Copies buffer bytes to host memory on the copy queue.
  virtual Event download(const Buffer& src, uint64_t offset, void* dst, uint64_t bytes) = 0;
  /// Makes every op enqueued after this call wait for `event` (e.g. an upload on the copy queue).
  virtual void wait_for(const Event& event) = 0;
  /// Blocks until every queued copy and op has finished.
  virtual void finish() = 0;

  // ---- ops: enqueued in order on the compute queue; f32 activations ----
  /// out[i] = a[i] + b[i], i < n.
  virtual void add(View a, View b, View out, uint64_t n) = 0;
  /// out[i] = x[i] * s, i < n.
  virtual void scale(View x, float s, View out, uint64_t n) = 0;
  /// For each of `rows` rows of n: out = w * x / sqrt(mean(x^2) + eps).
  virtual void rmsnorm(View x, View w, View out, uint64_t rows, uint64_t n, float eps) = 0;
  /// y[i] = W x[i] for i < m (x: [m][w.cols], y: [m][w.rows]); every weight format of the device's kernels.
  virtual void matmul(const WeightView& w, View x, View y, uint64_t m) = 0;

 protected:
  /// Lets an implementation adjust what it reports after construction (e.g. a forced ISA).
  Capabilities& mutable_caps() { return caps_; }

 private:
  std::string name_;
  Capabilities caps_;
  MemoryBudget memory_;
};

}  // namespace mixcl::backend
