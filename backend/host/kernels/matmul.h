#pragma once
// Host matrix products for every supported weight format: y[i][n] = Σ_k W[n][k] x[i][k] for i < m, with
// f32 activations in and out. Quantized weights run as 8-bit integer dot products against activations
// quantized once per call (Q8_0-style for 32-element formats, Q8_K for K-quants; gguf.md §5.1-5.2).
#include <cstdint>
#include <string_view>

#include "backend/device.h"
#include "common/dtype.h"

namespace mixcl::backend {

/// SIMD level of the host kernels, chosen at run time.
enum class KernelIsa { kGeneric, kAvx2 };

/// The best level this CPU runs (AVX2 needs the avx2, fma and f16c CPU flags).
KernelIsa detect_kernel_isa();
/// The level for a Capabilities::isa string ("avx512", "avx2", "generic"), never above what the CPU runs
/// (there are no AVX-512 kernels yet: "avx512" runs the AVX2 ones).
KernelIsa kernel_isa_for(std::string_view caps_isa);
/// "avx2" / "generic".
std::string_view kernel_isa_name(KernelIsa isa);

/// True when the host kernels multiply weights of `type`.
bool matmul_supports(DType type);
/// Fails, naming the type, unless the host kernels multiply `type` and rows of `cols` elements are a positive
/// multiple of its block.
void check_matmul_weight(DType type, uint64_t cols);

/// y = x · Wᵀ on raw host memory: W is `rows` rows of `cols` elements of `type` (row_bytes(type, cols)
/// bytes each), x is [m][cols] f32, y is [m][rows] f32 (must not overlap x). threads <= 0: OpenMP default.
void matmul(DType type, const void* w, uint64_t rows, uint64_t cols, const float* x, float* y, uint64_t m,
            KernelIsa isa, int threads);

/// The same on views of host buffers; checks every view against its buffer.
void matmul(const WeightView& w, View x, View y, uint64_t m, KernelIsa isa = detect_kernel_isa(),
            int threads = 0);

}  // namespace mixcl::backend
