#include "backend/host/host_device.h"

#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <thread>

#include "backend/host/host_buffer.h"
#include "backend/host/host_ops.h"
#include "backend/host/kernels/matmul.h"

namespace mixcl::backend {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

std::string detect_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "generic";
}

void check_range(View v, uint64_t bytes, const char* op) {
  if (!v.buffer || v.offset + bytes > v.buffer->size())
    fail("host {}: view [{}, {}) is outside its {}-byte buffer", op, v.offset, v.offset + bytes,
         v.buffer ? v.buffer->size() : 0);
}

}  // namespace

Capabilities probe_host_capabilities() {
  Capabilities caps;
  caps.kind = DeviceKind::kHost;
  caps.type = "host";
  caps.name = cpu_model_name();
  caps.vendor = "host";
  caps.compute_units = std::max(1u, std::thread::hardware_concurrency());
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  caps.global_mem_bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * page : 0;
  caps.max_alloc_bytes = caps.global_mem_bytes;
  const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  caps.local_mem_bytes = l1 > 0 ? static_cast<uint64_t>(l1) : 32768;
  caps.unified_memory = true;
  caps.fp16 = true;  // via conversion on load
  caps.fp64 = true;
  caps.isa = detect_isa();
  const uint32_t lanes = caps.isa == "avx512" ? 16 : caps.isa == "avx2" ? 8 : 4;
  caps.preferred_vector_width = {lanes * 4, lanes * 2, lanes, lanes / 2, lanes, lanes / 2, lanes};
  return caps;
}

HostDevice::HostDevice(const HostOptions& options)
    : Device("host", probe_host_capabilities(), 0),
      threads_(options.threads > 0 ? options.threads : static_cast<int>(caps().compute_units)) {
  memory().set_budget(options.budget_bytes ? options.budget_bytes : caps().global_mem_bytes);
  if (!options.isa.empty()) {
    if (options.isa != "avx512" && options.isa != "avx2" && options.isa != "generic")
      fail("host: unknown ISA '{}' (allowed: avx512, avx2, generic)", options.isa);
    mutable_caps().isa = options.isa;
  }
}

std::shared_ptr<Buffer> HostDevice::allocate(uint64_t bytes, uint64_t) {
  return std::make_shared<HostBuffer>(memory(), bytes);
}

Event HostDevice::upload(Buffer& dst, uint64_t offset, const void* src, uint64_t bytes) {
  check_range({&dst, offset}, bytes, "upload");
  std::memcpy(host_ptr({&dst, offset}), src, bytes);
  return {};
}

Event HostDevice::download(const Buffer& src, uint64_t offset, void* dst, uint64_t bytes) {
  View v{const_cast<Buffer*>(&src), offset};
  check_range(v, bytes, "download");
  std::memcpy(dst, host_ptr(v), bytes);
  return {};
}

void HostDevice::add(View a, View b, View out, uint64_t n) {
  for (View v : {a, b, out}) check_range(v, n * 4, "add");
  const float* pa = host_ptr_as<float>(a);
  const float* pb = host_ptr_as<float>(b);
  float* po = host_ptr_as<float>(out);
#pragma omp parallel for simd num_threads(threads_) schedule(static) if (n > 65536)
  for (uint64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
}

void HostDevice::scale(View x, float s, View out, uint64_t n) {
  for (View v : {x, out}) check_range(v, n * 4, "scale");
  const float* px = host_ptr_as<float>(x);
  float* po = host_ptr_as<float>(out);
#pragma omp parallel for simd num_threads(threads_) schedule(static) if (n > 65536)
  for (uint64_t i = 0; i < n; ++i) po[i] = px[i] * s;
}

void HostDevice::rmsnorm(View x, View w, View out, uint64_t rows, uint64_t n, float eps) {
  check_range(x, rows * n * 4, "rmsnorm");
  check_range(out, rows * n * 4, "rmsnorm");
  check_range(w, n * 4, "rmsnorm");
  const float* px = host_ptr_as<float>(x);
  const float* pw = host_ptr_as<float>(w);
  float* po = host_ptr_as<float>(out);
#pragma omp parallel for num_threads(threads_) schedule(static) if (rows > 1 && rows * n > 65536)
  for (uint64_t r = 0; r < rows; ++r) {
    const float* xr = px + r * n;
    float* yr = po + r * n;
    double sum = 0.0;  // f64 accumulation keeps long rows exact enough to match the reference
    for (uint64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
    for (uint64_t i = 0; i < n; ++i) yr[i] = pw[i] * (xr[i] * inv);
  }
}

void HostDevice::matmul(const WeightView& w, View x, View y, uint64_t m) {
  backend::matmul(w, x, y, m, kernel_isa_for(caps().isa), threads_);
}

void HostDevice::matmul_heads_impl(const WeightView& w, uint64_t n_head, View x, uint64_t x_stride, View y,
                                   uint64_t y_stride) {
  // Everything that could fail is checked before the parallel region: nothing may throw inside it.
  check_matmul_weight(w.type, w.cols);
  const uint64_t rows = w.rows / n_head, slab = rows * row_bytes(w.type, w.cols);
  const uint8_t* wp = host_ptr(w.data);
  const float* xp = host_ptr_as<const float>(x);
  float* yp = host_ptr_as<float>(y);
  const KernelIsa isa = kernel_isa_for(caps().isa);
  const auto heads = static_cast<int64_t>(n_head);
#pragma omp parallel for num_threads(threads_) schedule(static) if (threads_ > 1 && heads > 1)
  for (int64_t h = 0; h < heads; ++h)
    backend::matmul(w.type, wp + h * slab, rows, w.cols, xp + h * x_stride, yp + h * y_stride, 1, isa, 1);
}

// The forward-pass ops live as free functions (host_<op>); the device forwards to them.
void HostDevice::get_rows(const WeightView& table, View ids, View out, uint64_t n) {
  host_get_rows(*this, table, ids, out, n);
}
void HostDevice::rope(View x, View positions, uint64_t n_tokens, uint64_t n_heads, uint64_t head_stride,
                      uint64_t dim_offset, const RopeParams& p) {
  host_rope(*this, x, positions, n_tokens, n_heads, head_stride, dim_offset, p);
}
void HostDevice::softmax(View x, uint64_t rows, uint64_t n, float scale) {
  host_softmax(*this, x, rows, n, scale);
}
void HostDevice::swiglu(View gate, View up, View out, uint64_t n, float clamp) {
  host_swiglu(*this, gate, up, out, n, clamp);
}
void HostDevice::router(View logits, View bias, View ids, View weights, uint64_t m, const RouterParams& p) {
  host_router(*this, logits, bias, ids, weights, m, p);
}
void HostDevice::moe_ffn(const ExpertWeights& w, View x, View ids, View weights, View out, uint64_t m,
                         uint64_t k, float clamp) {
  host_moe_ffn(*this, w, x, ids, weights, out, m, k, clamp);
}
void HostDevice::mla_attention(View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                               uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale) {
  host_mla_attention(*this, q, kv, kv_type, out, m, pos0, n_head, n_latent, n_rope, scale);
}
void HostDevice::convert(View src, View dst, DType dst_type, uint64_t n) {
  host_convert(*this, src, dst, dst_type, n);
}

void HostDevice::copy_2d_impl(View src, uint64_t src_pitch, View dst, uint64_t dst_pitch, uint64_t row_bytes,
                              uint64_t rows) {
  const uint8_t* s = host_ptr(src);
  uint8_t* d = host_ptr(dst);
  for (uint64_t r = 0; r < rows; ++r) std::memcpy(d + r * dst_pitch, s + r * src_pitch, row_bytes);
}

std::shared_ptr<Buffer> HostDevice::map_external(const void* data, uint64_t bytes) {
  if (!data && bytes > 0) fail("host map_external: null memory for {} bytes", bytes);
  // The deleter keeps the mapped-bytes count while the buffer lives (the count outlives the device if needed).
  *mapped_ += bytes;
  return std::shared_ptr<Buffer>(new HostBuffer(data, bytes), [counter = mapped_, bytes](Buffer* b) {
    *counter -= bytes;
    delete b;
  });
}

}  // namespace mixcl::backend
