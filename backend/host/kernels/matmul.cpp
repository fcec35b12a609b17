#include "backend/host/kernels/matmul.h"

#include <omp.h>

#include <algorithm>
#include <memory>

#include "backend/host/host_buffer.h"
#include "backend/host/kernels/act_quant.h"
#include "backend/host/kernels/dot_kernels.h"
#include "common/error.h"

namespace mixcl::backend {
namespace {

using kernels::ActKind;
using kernels::DotKernel;

// Weight rows per tile: their decoded blocks stay in L1/L2 while a token block streams past them.
constexpr uint64_t kRowBlock = 16;
// Target bytes of quantized activations per token block (about half the L2 of one core).
constexpr uint64_t kActTileBytes = 256 * 1024;

DotKernel kernel_for(DType type, KernelIsa isa) {
  return isa == KernelIsa::kAvx2 ? kernels::avx2_dot_kernel(static_cast<uint32_t>(type))
                                 : kernels::generic_dot_kernel(static_cast<uint32_t>(type));
}

void check_view(View v, uint64_t bytes, const char* what) {
  if (!v.buffer) fail("host matmul: the {} view has no buffer", what);
  if (v.offset > v.buffer->size() || bytes > v.buffer->size() - v.offset)
    fail("host matmul: {} view [{}, {}) lies outside its {}-byte buffer", what, v.offset, v.offset + bytes,
         v.buffer->size());
}

}  // namespace

KernelIsa detect_kernel_isa() {
  static const KernelIsa isa = [] {
    __builtin_cpu_init();
    const bool avx2 =
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    return avx2 ? KernelIsa::kAvx2 : KernelIsa::kGeneric;
  }();
  return isa;
}

KernelIsa kernel_isa_for(std::string_view caps_isa) {
  if (caps_isa == "generic") return KernelIsa::kGeneric;
  return detect_kernel_isa();
}

std::string_view kernel_isa_name(KernelIsa isa) {
  return isa == KernelIsa::kAvx2 ? "avx2" : "generic";
}

bool matmul_supports(DType type) {
  return kernels::generic_dot_kernel(static_cast<uint32_t>(type)).fn != nullptr;
}

void check_matmul_weight(DType type, uint64_t cols) {
  if (!matmul_supports(type))
    fail(
        "host matmul: weight type {} is not supported (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 "
        "MXFP4 IQ4_NL Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_XS)",
        dtype_name(type));
  const uint32_t block = dtype_info(type).block_elems;
  if (cols == 0 || cols % block != 0)
    fail("host matmul: {} weight rows of {} elements are not a positive multiple of its {}-element block",
         dtype_name(type), cols, block);
}

void matmul(DType type, const void* w, uint64_t rows, uint64_t cols, const float* x, float* y, uint64_t m,
            KernelIsa isa, int threads) {
  if (isa == KernelIsa::kAvx2 && detect_kernel_isa() != KernelIsa::kAvx2)
    fail("host matmul: the AVX2 kernels were requested but this CPU lacks avx2/fma/f16c; use isa generic");
  check_matmul_weight(type, cols);
  const DotKernel kernel = kernel_for(type, isa);
  if (rows == 0 || m == 0) return;
  if (threads <= 0) threads = omp_get_max_threads();

  // Quantize the activations once; every weight row reuses them.
  const uint8_t* act = reinterpret_cast<const uint8_t*>(x);
  uint64_t act_stride = cols * 4;
  std::unique_ptr<uint8_t[]> act_buf;
  if (kernel.act != ActKind::kF32) {
    act_stride = kernels::act_row_bytes(kernel.act, cols);
    act_buf.reset(new uint8_t[m * act_stride]);
    uint8_t* dst = act_buf.get();
    const auto quantize =
        isa == KernelIsa::kAvx2 ? kernels::quantize_act_row_avx2 : kernels::quantize_act_row;
#pragma omp parallel for num_threads(threads) schedule(static) if (m > 1 && m * cols >= 65536)
    for (uint64_t i = 0; i < m; ++i) quantize(kernel.act, x + i * cols, cols, dst + i * act_stride);
    act = act_buf.get();
  }

  // Tiles of kRowBlock weight rows × token_block tokens. Decode (m small) has one token block, so each
  // thread streams a contiguous range of weight rows exactly once.
  const uint64_t w_stride = row_bytes(type, cols);
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  // Token blocks of about kActTileBytes of activations, equal in size (multiples of 4) so that threads
  // get even shares.
  const uint64_t max_block = std::max<uint64_t>(kernels::kMaxDotTokens, kActTileBytes / act_stride);
  const uint64_t n_blocks = (m + max_block - 1) / max_block;
  uint64_t token_block = (m + n_blocks - 1) / n_blocks;
  token_block = std::min(m, (token_block + kernels::kMaxDotTokens - 1) / kernels::kMaxDotTokens *
                                kernels::kMaxDotTokens);
  const int64_t n_rb = static_cast<int64_t>((rows + kRowBlock - 1) / kRowBlock);
  const int64_t n_tb = static_cast<int64_t>((m + token_block - 1) / token_block);
  const bool parallel = rows * cols * m >= 32768 && threads > 1;
  // Tiles are handed out in runs of about 1/8 of a thread's share: contiguous enough for the prefetchers,
  // and a thread that the OS delays (the host is shared with other processes) does not hold up the whole
  // product, since the others take its remaining runs.
  const int64_t chunk = std::max<int64_t>(1, n_tb * n_rb / (8 * static_cast<int64_t>(threads)));
#pragma omp parallel for collapse(2) num_threads(threads) schedule(dynamic, chunk) if (parallel)
  for (int64_t tb = 0; tb < n_tb; ++tb) {
    for (int64_t rb = 0; rb < n_rb; ++rb) {
      const uint64_t t_begin = tb * token_block, t_end = std::min(m, t_begin + token_block);
      const uint64_t r_begin = rb * kRowBlock, r_end = std::min(rows, r_begin + kRowBlock);
      // A group of <= 4 tokens stays in L1 while the tile's weight rows pass by.
      for (uint64_t t0 = t_begin; t0 < t_end; t0 += kernels::kMaxDotTokens) {
        const int ntok = static_cast<int>(std::min<uint64_t>(kernels::kMaxDotTokens, t_end - t0));
        for (uint64_t r = r_begin; r < r_end; ++r) {
          float out[kernels::kMaxDotTokens];
          kernel.fn(cols, wb + r * w_stride, act + t0 * act_stride, act_stride, ntok, out);
          for (int t = 0; t < ntok; ++t) y[(t0 + t) * rows + r] = out[t];
        }
      }
    }
  }
}

void matmul(const WeightView& w, View x, View y, uint64_t m, KernelIsa isa, int threads) {
  check_matmul_weight(w.type, w.cols);
  check_view(w.data, row_bytes(w.type, w.cols) * w.rows, "weight");
  check_view(x, m * w.cols * 4, "activation (x)");
  check_view(y, m * w.rows * 4, "output (y)");
  matmul(w.type, host_ptr(w.data), w.rows, w.cols, host_ptr_as<const float>(x), host_ptr_as<float>(y), m, isa,
         threads);
}

}  // namespace mixcl::backend
