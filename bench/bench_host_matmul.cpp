// Host matmul kernels: decode (matrix × vector) GB/s and prefill (batch 512) GFLOP/s, next to the host's
// measured DRAM read bandwidth and fp32 FMA peak. Run: bench_host_matmul [--benchmark_filter=...]
// Uncached matvec figures cycle through copies of the matrix totalling > 512 MiB, so the 32 MiB L3 never
// holds the weights; "Cached" ones repeat one matrix.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/host/kernels/matmul.h"
#include "tests/reference/matmul_reference.h"

namespace {

using mixcl::DType;
using mixcl::backend::KernelIsa;

int threads() {
  return omp_get_max_threads();
}

KernelIsa isa_from_arg(int64_t a) {
  return a ? mixcl::backend::detect_kernel_isa() : KernelIsa::kGeneric;
}

// Ceilings measured earlier in this run (0 until their benchmark ran; the best over repetitions, so a
// loaded moment in the ceiling never inflates a kernel's %): the kernels report % of them.
double g_read_gbps = 0;       // DRAM read, all threads, wall clock
double g_read_core_gbps = 0;  // DRAM read per thread, by the main thread's CPU time
double g_fma_gflops = 0;      // fp32 FMA peak, all threads, wall clock
double g_fma_core_gflops = 0; // fp32 FMA peak per thread, by the main thread's CPU time

double clock_seconds(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double thread_cpu_seconds() {
  return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}
double wall_seconds() {
  return clock_seconds(CLOCK_MONOTONIC);
}

// Rate figures by the main thread's CPU time, which a loaded machine distorts far less than wall time:
// core_GBps = bytes per thread / main-thread CPU seconds (the main thread does its 1/threads share),
// with pct_read_cpu its ratio to the same figure of BM_DramReadBandwidth.
void set_cpu_counters(benchmark::State& state, double bytes_per_iter, double cpu_s, bool is_read) {
  const double core = bytes_per_iter * static_cast<double>(state.iterations()) / threads() / cpu_s * 1e-9;
  state.counters["core_GBps"] = core;
  if (is_read) {
    g_read_core_gbps = std::max(g_read_core_gbps, core);
  } else if (g_read_core_gbps > 0) {
    state.counters["pct_read_cpu"] = 100.0 * core / g_read_core_gbps;
  }
}

// Best (max) and worst over --benchmark_repetitions: a quiet moment shows up in the max of a rate.
void add_stats(benchmark::internal::Benchmark* b) {
  b->ComputeStatistics("max",
                       [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); });
  b->ComputeStatistics("min",
                       [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}

// ---- machine figures ----

__attribute__((target("avx2"))) uint64_t read_sum(const uint8_t* p, uint64_t bytes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (uint64_t i = 0; i + 128 <= bytes; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 3));
}

// All threads stream disjoint halves of 1 GiB with AVX2 loads.
void BM_DramReadBandwidth(benchmark::State& state) {
  const uint64_t bytes = 1ull << 30;
  auto* buf = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
  std::memset(buf, 1, bytes);
  const int nt = threads();
  const double cpu0 = thread_cpu_seconds(), wall0 = wall_seconds();
  for (auto _ : state) {
    uint64_t total = 0;
#pragma omp parallel num_threads(nt) reduction(+ : total)
    {
      const uint64_t chunk = bytes / omp_get_num_threads() / 128 * 128;
      total += read_sum(buf + chunk * omp_get_thread_num(), chunk);
    }
    benchmark::DoNotOptimize(total);
  }
  set_cpu_counters(state, static_cast<double>(bytes), thread_cpu_seconds() - cpu0, true);
  g_read_gbps = std::max(g_read_gbps,
                         static_cast<double>(state.iterations() * bytes) / (wall_seconds() - wall0) * 1e-9);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  std::free(buf);
}
BENCHMARK(BM_DramReadBandwidth)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0)->Apply(add_stats);

// Independent FMA chains per thread (10 × 8 lanes, enough to cover 2 FMA units × 4-cycle latency).
__attribute__((target("avx2,fma"))) float fma_chains(uint64_t iters) {
  __m256 acc[10];
  for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (uint64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float s = 0;
  for (int i = 0; i < 10; ++i) s += _mm256_cvtss_f32(acc[i]);
  return s;
}

void BM_Fp32FmaPeak(benchmark::State& state) {
  const uint64_t iters = 20'000'000;
  const int nt = threads();
  const double cpu0 = thread_cpu_seconds(), wall0 = wall_seconds();
  for (auto _ : state) {
    float total = 0;
#pragma omp parallel num_threads(nt) reduction(+ : total)
    total += fma_chains(iters);
    benchmark::DoNotOptimize(total);
  }
  // FLOP: threads × iters × 10 chains × 8 lanes × 2.
  const double flop = static_cast<double>(state.iterations()) * nt * iters * 160;
  const double core = flop / nt / (thread_cpu_seconds() - cpu0) * 1e-9;
  g_fma_gflops = std::max(g_fma_gflops, flop / (wall_seconds() - wall0) * 1e-9);
  g_fma_core_gflops = std::max(g_fma_core_gflops, core);
  state.counters["core_GFLOPs"] = core;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flop, benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Fp32FmaPeak)->Unit(benchmark::kMillisecond)->UseRealTime()->Apply(add_stats);

// ---- matvec (decode) ----

// Args: type id, rows, cols, cached (1) / cycled over > 512 MiB (0).
void BM_Matvec(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const mixcl::reference::MatmulCase c{type, static_cast<uint64_t>(state.range(1)),
                                       static_cast<uint64_t>(state.range(2)), 1};
  const bool cached = state.range(3) != 0;
  const auto data = mixcl::reference::make_matmul_data(c, 1);
  const uint64_t bytes = data.w.size();
  const uint64_t copies = cached ? 1 : (512ull << 20) / bytes + 2;
  std::unique_ptr<uint8_t[]> pool(new uint8_t[copies * bytes]);
  for (uint64_t i = 0; i < copies; ++i) std::memcpy(pool.get() + i * bytes, data.w.data(), bytes);
  std::vector<float> y(c.rows);
  const KernelIsa isa = mixcl::backend::detect_kernel_isa();
  uint64_t next = 0;
  const double cpu0 = thread_cpu_seconds(), wall0 = wall_seconds();
  for (auto _ : state) {
    mixcl::backend::matmul(type, pool.get() + next * bytes, c.rows, c.cols, data.x.data(), y.data(), 1, isa,
                           threads());
    next = (next + 1) % copies;
    benchmark::ClobberMemory();
  }
  const double wall = wall_seconds() - wall0;
  set_cpu_counters(state, static_cast<double>(bytes), thread_cpu_seconds() - cpu0, false);
  // % of the DRAM read rate measured earlier in this run (wall clock both).
  if (g_read_gbps > 0)
    state.counters["pct_read"] =
        100.0 * static_cast<double>(state.iterations() * bytes) / wall * 1e-9 / g_read_gbps;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetLabel(std::string(mixcl::dtype_name(type)) + (cached ? " cached" : " uncached"));
}

void matvec_args(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::Q6_K, DType::Q5_0, DType::MXFP4})
    for (auto [rows, cols] :
         {std::pair<int, int>{4096, 4096}, {2048, 1408}, {1408, 2048}, {7168, 2048}, {2048, 7168}}) {
      if (cols % mixcl::dtype_info(t).block_elems != 0) continue;  // Q4_K needs cols % 256 == 0
      for (int cached : {0, 1}) b->Args({static_cast<int64_t>(t), rows, cols, cached});
    }
}
BENCHMARK(BM_Matvec)->Apply(matvec_args)->Unit(benchmark::kMicrosecond)->UseRealTime()->Apply(add_stats);

// ---- prefill ----

// Args: type id, rows, cols, m, isa (1 = best, 0 = generic).
void BM_Prefill(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const mixcl::reference::MatmulCase c{type, static_cast<uint64_t>(state.range(1)),
                                       static_cast<uint64_t>(state.range(2)),
                                       static_cast<uint64_t>(state.range(3))};
  const auto data = mixcl::reference::make_matmul_data(c, 2);
  std::vector<float> y(c.m * c.rows);
  const KernelIsa isa = isa_from_arg(state.range(4));
  const double cpu0 = thread_cpu_seconds(), wall0 = wall_seconds();
  for (auto _ : state) {
    mixcl::backend::matmul(type, data.w.data(), c.rows, c.cols, data.x.data(), y.data(), c.m, isa, threads());
    benchmark::ClobberMemory();
  }
  const double flop = static_cast<double>(state.iterations()) * 2.0 * c.rows * c.cols * c.m;
  const double wall = wall_seconds() - wall0, cpu = thread_cpu_seconds() - cpu0;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flop, benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  // % of the FMA peak measured earlier in this run: by wall clock, and per core by main-thread CPU time.
  if (g_fma_gflops > 0) {
    state.counters["pct_peak"] = 100.0 * flop / wall * 1e-9 / g_fma_gflops;
    state.counters["pct_peak_cpu"] = 100.0 * flop / threads() / cpu * 1e-9 / g_fma_core_gflops;
  }
  state.SetLabel(std::string(mixcl::dtype_name(type)) + " " +
                 std::string(mixcl::backend::kernel_isa_name(isa)));
}
BENCHMARK(BM_Prefill)
    ->Args({static_cast<int64_t>(DType::Q8_0), 2048, 2048, 512, 1})
    ->Args({static_cast<int64_t>(DType::Q4_K), 2048, 2048, 512, 1})
    ->Args({static_cast<int64_t>(DType::Q8_0), 4096, 4096, 512, 1})
    ->Args({static_cast<int64_t>(DType::Q4_K), 4096, 4096, 512, 1})
    ->Args({static_cast<int64_t>(DType::MXFP4), 2048, 2048, 512, 1})
    ->Args({static_cast<int64_t>(DType::F16), 2048, 2048, 512, 1})
    ->Args({static_cast<int64_t>(DType::Q8_0), 2048, 2048, 64, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Apply(add_stats);

// ---- the test table, for relative speed of every format and shape ----

void BM_TableCase(benchmark::State& state, mixcl::reference::MatmulCase c) {
  const auto data = mixcl::reference::make_matmul_data(c, 3);
  std::vector<float> y(c.m * c.rows);
  const KernelIsa isa = mixcl::backend::detect_kernel_isa();
  for (auto _ : state) {
    mixcl::backend::matmul(c.type, data.w.data(), c.rows, c.cols, data.x.data(), y.data(), c.m, isa,
                           threads());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * c.rows * c.cols * c.m,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

[[maybe_unused]] const bool kTableRegistered = [] {
  for (const auto& c : mixcl::reference::matmul_cases())
    benchmark::RegisterBenchmark(
        ("BM_TableCase/" + std::string(mixcl::dtype_name(c.type)) + "/" + std::to_string(c.rows) + "x" +
         std::to_string(c.cols) + "/m" + std::to_string(c.m))
            .c_str(),
        BM_TableCase, c)
        ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
