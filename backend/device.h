#pragma once
// The uniform device of mixcl: memory with a budget, async copies with events, and a closed set of ops.
// Every op has one host implementation (backend/host) and one OpenCL implementation (backend/opencl).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/memory_budget.h"
#include "backend/op_params.h"
#include "backend/view.h"
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
  bool subgroups = false;                       // cl_khr_subgroups or cl_intel_subgroups
  std::vector<size_t> subgroup_sizes;           // sizes the device may use (Intel reports a list)
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
  /// out[i] = row ids[i] (int32 [n]) of `table`, dequantized to f32.
  virtual void get_rows(const WeightView& table, View ids, View out, uint64_t n) = 0;
  /// In place on x [n_tokens][n_heads][head_stride]: rotates dims [dim_offset, dim_offset + p.n_dims) of each
  /// head at positions[t] (int32 [n_tokens]).
  virtual void rope(View x, View positions, uint64_t n_tokens, uint64_t n_heads, uint64_t head_stride,
                    uint64_t dim_offset, const RopeParams& p) = 0;
  /// In place row-wise softmax of x [rows][n] after multiplying by `scale`.
  virtual void softmax(View x, uint64_t rows, uint64_t n, float scale) = 0;
  /// out[i] = silu(gate[i]) * up[i]; with clamp > 0, gate is clamped to <= clamp and up to [-clamp, clamp].
  virtual void swiglu(View gate, View up, View out, uint64_t n, float clamp = 0.0f) = 0;
  /// Top-k routing of logits [m][n_expert] (+ selection bias [n_expert], null buffer when absent) into
  /// ids int32 [m][n_used] and weights f32 [m][n_used]; ties go to the lower expert id.
  virtual void router(View logits, View bias, View ids, View weights, uint64_t m, const RouterParams& p) = 0;
  /// out[i] += sum_j weights[i][j] * FFN_{ids[i][j]}(x[i]), tokens grouped per expert on the device.
  virtual void moe_ffn(const ExpertWeights& w, View x, View ids, View weights, View out, uint64_t m,
                       uint64_t k, float clamp = 0.0f) = 0;
  /// Absorbed, causal MLA attention of m tokens at pos0.. over the latent cache kv (F32 or F16 rows of
  /// n_latent + n_rope): q [m][n_head][n_latent + n_rope] -> out [m][n_head][n_latent].
  virtual void mla_attention(View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                             uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale) = 0;
  /// Converts n f32 values of src into dst as F32, F16 or BF16 (e.g. writing the KV cache).
  virtual void convert(View src, View dst, DType dst_type, uint64_t n) = 0;
  /// Copies `rows` rows of `row_bytes` bytes from src (rows `src_pitch` bytes apart) to dst (rows `dst_pitch`
  /// bytes apart), in order on the compute queue (gathers/scatters per-head slices); regions must not overlap.
  /// Checks the pitches and that both regions lie inside their buffers, then calls copy_2d_impl.
  void copy_2d(View src, uint64_t src_pitch, View dst, uint64_t dst_pitch, uint64_t row_bytes, uint64_t rows);
  /// One token through n_head weight slabs at once (MLA's per-head k_b / v_b at decode): slab h is rows
  /// [h R, (h + 1) R) of w (R = w.rows / n_head); y[h y_stride + r] = Σ_c slab_h[r][c] x[h x_stride + c].
  /// Strides are in floats. Checks the shapes and the weight, x and y views, then calls matmul_heads_impl.
  void matmul_heads(const WeightView& w, uint64_t n_head, View x, uint64_t x_stride, View y, uint64_t y_stride);

 protected:
  /// matmul_heads after its checks. The default runs one matmul per head; a device overrides it to run the
  /// heads as one op (the host: one parallel region instead of 2 H fork/joins per layer and token).
  virtual void matmul_heads_impl(const WeightView& w, uint64_t n_head, View x, uint64_t x_stride, View y,
                                 uint64_t y_stride);
  /// The copy of copy_2d, called only with rows > 0, row_bytes > 0, pitches >= row_bytes and both regions
  /// ((rows - 1) * pitch + row_bytes bytes from the view's offset) inside their non-null buffers.
  virtual void copy_2d_impl(View src, uint64_t src_pitch, View dst, uint64_t dst_pitch, uint64_t row_bytes,
                            uint64_t rows) = 0;
  /// Lets an implementation adjust what it reports after construction (e.g. a forced ISA).
  Capabilities& mutable_caps() { return caps_; }

 private:
  std::string name_;
  Capabilities caps_;
  MemoryBudget memory_;
};

}  // namespace mixcl::backend
