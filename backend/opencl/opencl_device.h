#pragma once
// One OpenCL device as a mixcl Device: context, a compute and a copy queue, chunked buffers with a budget,
// kernels from the embedded cl_kernels/*.cl built through an on-disk program cache, and the ops.
#include <CL/opencl.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "backend/device.h"
#include "backend/opencl/kernel_config.h"
#include "backend/opencl/program_cache.h"

namespace mixcl::backend {

/// How an OpenCL device is set up.
struct OpenCLOptions {
  uint64_t budget_bytes = 0;        // 0: 90% of global memory
  uint64_t max_alloc_override = 0;  // tests: force a smaller max allocation (one cl_mem)
  std::string
      cache_dir;  // "": $MIXCL_CACHE_DIR, else $XDG_CACHE_HOME/mixcl/kernels, else ~/.cache/mixcl/kernels
  std::string variant;  // "": by capability; "vector" (CPU-like) or "workgroup" (GPU-like) forces a shape
  uint64_t gemm_from_m = 0;  // matmul with m >= this dequantizes + CLBlast SGEMM; 0: default_gemm_from_m()
};

/// gemm_from_m that never takes the CLBlast path.
inline constexpr uint64_t kGemmNever = ~uint64_t{0};
/// Default gemm_from_m of a device of `type` (CL_DEVICE_TYPE as text): CPU devices never (CLBlast lost to the tiled
/// kernel at every measured shape on PoCL, docs/opencl_kernels.md), others from m = 128 (not measured: no GPU here).
inline uint64_t default_gemm_from_m(std::string_view type) { return type == "CPU" ? kGemmNever : 128; }

/// Kernel shape an op family is built in (see docs/backend.md).
enum class KernelShape { kVector, kWorkGroup };

/// An OpenCL device. Ops are enqueued in order on the compute queue; copies go on the copy queue.
class OpenCLDevice final : public Device {
 public:
  OpenCLDevice(cl::Platform platform, cl::Device device, std::string name, const OpenCLOptions& options = {});
  ~OpenCLDevice() override;

  cl::Context& context() { return context_; }
  const cl::Device& cl_device() const { return device_; }
  const cl::Platform& cl_platform() const { return platform_; }
  cl::CommandQueue& compute_queue() { return compute_queue_; }
  cl::CommandQueue& copy_queue() { return copy_queue_; }
  /// The on-disk program cache this device builds through (hit/miss counters for tests and logs).
  ProgramCache& program_cache() { return cache_; }
  /// The shape the ops of this device use.
  KernelShape shape() const { return shape_; }
  /// "-cl-std=CL3.0" / "-cl-std=CL1.2" / "" as the device supports; prepended to every build.
  const std::string& std_option() const { return std_option_; }
  /// Smallest m for which matmul takes the dequantize + CLBlast SGEMM path (OpenCLOptions::gemm_from_m).
  uint64_t gemm_from_m() const { return gemm_from_m_; }
  /// Replaces the per-op kernel settings (a profile's `kernels:`, backend/opencl/kernel_config.h) after checking
  /// every entry; throws naming this device, the key and what is allowed. Call while no op is running.
  void set_kernel_configs(OpKernelConfigs configs);
  /// The per-op kernel settings the ops read (empty: the built-in defaults).
  const OpKernelConfigs& kernel_configs() const { return kernel_configs_; }

  /// Kernel `kernel_name` from cl_kernels/<file> built with `build_options` (-D macros); programs are
  /// compiled once per (file, options) per process and cached on disk. Each call returns a new cl::Kernel,
  /// so callers may set its arguments without racing other users.
  cl::Kernel kernel(std::string_view file, std::string_view kernel_name,
                    const std::string& build_options = "");
  /// The program built from `file` (an embedded cl_kernels file name) with `build_options`.
  cl::Program program(std::string_view file, const std::string& build_options = "");
  /// kernel() cached per calling thread: the same object on every call from one thread, so set its arguments and
  /// enqueue it before the next call; other threads get their own (setArg is not thread-safe on one kernel).
  cl::Kernel& thread_kernel(std::string_view file, std::string_view kernel_name, const std::string& build_options = "");

  std::shared_ptr<Buffer> allocate(uint64_t bytes, uint64_t granule = 1) override;
  /// Asynchronous on the copy queue, after every op enqueued before it (so none still reads the destination).
  Event upload(Buffer& dst, uint64_t offset, const void* src, uint64_t bytes) override;
  /// Asynchronous on the copy queue, after every op enqueued before it (so results are complete).
  Event download(const Buffer& src, uint64_t offset, void* dst, uint64_t bytes) override;
  void wait_for(const Event& event) override;
  void finish() override;

  void add(View a, View b, View out, uint64_t n) override;
  void scale(View x, float s, View out, uint64_t n) override;
  void rmsnorm(View x, View w, View out, uint64_t rows, uint64_t n, float eps) override;
  /// Runs opencl_matmul (backend/opencl/matmul.h) with the device's kernel configs (set_kernel_configs).
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

 protected:
  /// One clEnqueueCopyBufferRect on the compute queue; each region must lie in one chunk of its buffer
  /// (Device::copy_2d has checked pitches and ranges).
  void copy_2d_impl(View src, uint64_t src_pitch, View dst, uint64_t dst_pitch, uint64_t row_bytes,
                    uint64_t rows) override;

 private:
  // An op's kernel from the table, built on first use; call with ops_mutex_ held.
  cl::Kernel& op_kernel(std::string_view file, std::string_view name, const std::string& options);
  // Turns a cl::Error of `call` into a mixcl::Error naming this device.
  [[noreturn]] void rethrow(const char* call, const cl::Error& e) const;

  cl::Platform platform_;
  cl::Device device_;
  cl::Context context_;
  cl::CommandQueue compute_queue_, copy_queue_;
  ProgramCache cache_;
  KernelShape shape_ = KernelShape::kVector;
  std::string std_option_;
  std::string cache_device_id_;  // device name + driver + platform version, part of each cache key
  uint64_t gemm_from_m_ = kGemmNever;
  OpKernelConfigs kernel_configs_;

  std::mutex programs_mutex_;
  std::map<std::pair<std::string, std::string>, cl::Program> programs_;  // (file, options) -> program
  std::mutex ops_mutex_;  // kernel args are set then enqueued under this lock
  std::map<std::tuple<std::string, std::string, std::string>, cl::Kernel> op_kernels_;  // (file, opts, name)
  std::mutex thread_kernels_mutex_;
  // (thread, file, options, name) -> kernel of thread_kernel()
  std::map<std::tuple<std::thread::id, std::string, std::string, std::string>, cl::Kernel, std::less<>> thread_kernels_;
};

/// The cl::Buffer of chunk `i` of a buffer made by an OpenCLDevice (its byte range is buffer.chunk_range(i)).
const cl::Buffer& cl_chunk(const Buffer& buffer, size_t i);
/// Every usable OpenCL device of every platform (empty when there is no platform or no device).
std::vector<std::unique_ptr<OpenCLDevice>> discover_opencl_devices(const OpenCLOptions& options = {});
/// Reads what a device is and can do.
Capabilities probe_opencl_capabilities(const cl::Platform& platform, const cl::Device& device);

}  // namespace mixcl::backend
