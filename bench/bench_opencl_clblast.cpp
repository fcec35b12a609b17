// Large-batch OpenCL matmul: GFLOP/s of the tiled kernel (mm_tile) and of dequantize + CLBlast SGEMM per format,
// DeepSeek shape and m, the parts of the CLBlast path (dequantize alone, SGEMM alone), and the per-call overhead of
// small mat-vecs with the per-thread kernel cache against a kernel made per call (the code before the cache).
// Run: bench_opencl_clblast [gemm|tiled|parts|overhead|all] [formats, e.g. Q4_K,Q8_0] [m list, e.g. 16,64,512]
// [shapes, e.g. 7168x2048,2048x7168];
// MIXCL_BENCH_TILE_BYTES=n sets the dequantized tile scratch (OpenCLMatmulConfig::gemm_tile_bytes).
// Times are the minimum over repetitions (the machine is shared); 2 flops per weight element per token.
#include <clblast.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "backend/opencl/clblast_matmul.h"
#include "backend/opencl/matmul.h"
#include "backend/opencl/opencl_device.h"
#include "bench/lib/kernel_prepare.h"

namespace mixcl::backend {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Minimum wall time of `fn` (which ends with dev.finish()) over `reps` runs after one warm-up run.
template <class Fn>
double min_time(Fn&& fn, int reps) {
  fn();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t = Clock::now();
    fn();
    best = std::min(best, seconds_since(t));
  }
  return best;
}

// y [m][rows] = x [m][cols] times w [rows][cols] transposed, f32, through CLBlast on the compute queue; waits.
void sgemm(OpenCLDevice& dev, const Buffer& x, const Buffer& w, const Buffer& y, uint64_t m, uint64_t rows,
           uint64_t cols) {
  cl_command_queue q = dev.compute_queue()();
  clblast::Gemm<float>(clblast::Layout::kRowMajor, clblast::Transpose::kNo, clblast::Transpose::kYes, m, rows, cols,
                       1.0f, cl_chunk(x, 0)(), 0, cols, cl_chunk(w, 0)(), 0, cols, 0.0f, cl_chunk(y, 0)(), 0, rows,
                       &q, nullptr);
  dev.finish();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// mode "gemm": both paths per format; "tiled": the kernel path only; "parts": SGEMM alone per shape and m (f32
// weights, format-independent) and dequantize alone per format (m-independent), whose sum is the CLBlast path.
void bench_gemm(OpenCLDevice& dev, const std::string& mode, const std::vector<DType>& types,
                const std::vector<uint64_t>& ms, const std::vector<std::string>& only_shapes) {
  std::vector<std::pair<uint64_t, uint64_t>> shapes = {{4096, 4096}, {2048, 1408}, {1408, 2048}, {7168, 2048}, {2048, 7168}};
  if (!only_shapes.empty())
    std::erase_if(shapes, [&](const auto& s) {
      const std::string name = std::to_string(s.first) + "x" + std::to_string(s.second);
      return std::find(only_shapes.begin(), only_shapes.end(), name) == only_shapes.end();
    });
  const uint64_t max_m = *std::max_element(ms.begin(), ms.end());
  std::printf("%-6s %-10s %5s %10s %10s %8s   (GFLOP/s; dequant ms / sgemm ms)\n", "type", "shape", "m", "tiled",
              "clblast", "ratio");
  for (const auto& [rows, cols] : shapes) {
    auto x = dev.allocate(max_m * cols * 4), y = dev.allocate(max_m * rows * 4);
    const std::vector<float> xs = bench::random_floats(max_m * cols, 3);
    dev.upload(*x, 0, xs.data(), xs.size() * 4).wait();
    if (mode == "parts") {
      auto scratch = dev.allocate(rows * cols * 4);
      for (uint64_t m : ms) {
        const double flops = 2.0 * static_cast<double>(rows * cols * m);
        const double ts = min_time(
            [&] { sgemm(dev, *x, *scratch, *y, m, rows, cols); },
            flops > 4e9 ? 1 : 2);
        std::printf("SGEMM  %4llux%-5llu %5llu %10.1f GFLOP/s  %.2f ms\n", static_cast<unsigned long long>(rows),
                    static_cast<unsigned long long>(cols), static_cast<unsigned long long>(m), flops / ts / 1e9,
                    ts * 1e3);
        std::fflush(stdout);
      }
    }
    for (DType t : types) {
      if (cols % dtype_info(t).block_elems != 0) continue;
      if (mode == "tiled") {
        auto w = bench::upload_weights(dev, t, rows, cols);
        const WeightView wv{{w.get(), 0}, t, cols, rows};
        for (uint64_t m : ms) {
          const double flops = 2.0 * static_cast<double>(rows * cols * m);
          OpenCLMatmulConfig tiled;
          tiled.gemm_from_m = ~uint64_t{0};
          const double tt = min_time(
              [&] {
                opencl_matmul(dev, wv, {x.get(), 0}, {y.get(), 0}, m, tiled);
                dev.finish();
              },
              flops > 4e9 ? 1 : 3);
          std::printf("%-6s %4llux%-5llu %5llu %10.1f GFLOP/s tiled\n", std::string(dtype_name(t)).c_str(),
                      static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols),
                      static_cast<unsigned long long>(m), flops / tt / 1e9);
          std::fflush(stdout);
        }
        continue;
      }
      auto w = bench::upload_weights(dev, t, rows, cols);
      const WeightView wv{{w.get(), 0}, t, cols, rows};
      const OpenCLWeights wt = opencl_weights(dev, wv, "bench");
      auto scratch = dev.allocate(rows * cols * 4);
      const double deq = min_time(
          [&] {
            enqueue_dequantize_rows(dev, wt, 0, rows, cl_chunk(*scratch, 0), 0, cols);
            dev.finish();
          },
          3);
      if (mode == "parts") {
        std::printf("DEQ    %-6s %4llux%-5llu %.2f ms\n", std::string(dtype_name(t)).c_str(),
                    static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols), deq * 1e3);
        std::fflush(stdout);
        continue;
      }
      for (uint64_t m : ms) {
        const double flops = 2.0 * static_cast<double>(rows * cols * m);
        const int reps = flops > 4e9 ? 2 : 4;
        OpenCLMatmulConfig tiled, gemm;
        tiled.gemm_from_m = ~uint64_t{0};
        gemm.gemm_from_m = 1;
        if (const char* v = std::getenv("MIXCL_BENCH_TILE_BYTES")) gemm.gemm_tile_bytes = std::stoull(v);
        const double tt = min_time(
            [&] {
              opencl_matmul(dev, wv, {x.get(), 0}, {y.get(), 0}, m, tiled);
              dev.finish();
            },
            reps);
        const double tg = min_time(
            [&] {
              opencl_matmul(dev, wv, {x.get(), 0}, {y.get(), 0}, m, gemm);
              dev.finish();
            },
            reps);
        const double ts = min_time(
            [&] { sgemm(dev, *x, *scratch, *y, m, rows, cols); },
            reps);
        std::printf("%-6s %4llux%-5llu %5llu %10.1f %10.1f %8.2f   (%.2f / %.2f)\n", std::string(dtype_name(t)).c_str(),
                    static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols),
                    static_cast<unsigned long long>(m), flops / tt / 1e9, flops / tg / 1e9, tt / tg, deq * 1e3,
                    ts * 1e3);
        std::fflush(stdout);
      }
    }
  }
}

// Per-call cost of small mat-vecs: opencl_matmul (cached kernel) against the same enqueue with clCreateKernel per
// call, as opencl_matmul did before the cache.
void bench_overhead(OpenCLDevice& dev) {
  const uint64_t rows = 64, cols = 256, calls = 4000;
  const DType t = DType::Q4_K;
  auto w = bench::upload_weights(dev, t, rows, cols);
  auto x = dev.allocate(cols * 4), y = dev.allocate(rows * 4);
  const WeightView wv{{w.get(), 0}, t, cols, rows};
  const OpenCLWeights wt = opencl_weights(dev, wv, "bench");
  const std::string program = wt.format_file + "+matmul_common.cl";
  const std::string options = "-DMM_ROWS=2 -DMM_TILE_ROWS=2 -DMM_TILE_TOKENS=4 -DUSE_SUBGROUPS=0";
  const double cached = min_time(
      [&] {
        for (uint64_t i = 0; i < calls; ++i) opencl_matmul(dev, wv, {x.get(), 0}, {y.get(), 0}, 1);
        dev.finish();
      },
      3);
  const double per_call_kernel = min_time(
      [&] {
        for (uint64_t i = 0; i < calls; ++i) {
          cl::Kernel k = dev.kernel(program, "mv_vec", options);
          k.setArg(0, wt.spans[0].chunk);
          k.setArg(1, cl_ulong{0});
          k.setArg(2, cl_ulong{wt.row_bytes});
          k.setArg(3, static_cast<cl_uint>(rows));
          k.setArg(4, cl_uint{wt.nblocks});
          k.setArg(5, static_cast<cl_uint>(cols));
          k.setArg(6, cl_chunk(*x, 0));
          k.setArg(7, cl_ulong{0});
          k.setArg(8, cl_chunk(*y, 0));
          k.setArg(9, cl_ulong{0});
          dev.compute_queue().enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(32), cl::NDRange(8));
        }
        dev.finish();
      },
      3);
  const double create_only = min_time(
      [&] {
        for (uint64_t i = 0; i < calls; ++i) cl::Kernel k = dev.kernel(program, "mv_vec", options);
      },
      3);
  std::printf("Q4_K %llux%llu mat-vec, %llu calls: cached kernel %.1f us/call, kernel per call %.1f us/call "
              "(clCreateKernel alone %.1f us)\n",
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols),
              static_cast<unsigned long long>(calls), cached / calls * 1e6, per_call_kernel / calls * 1e6,
              create_only / calls * 1e6);
}

}  // namespace
}  // namespace mixcl::backend

int main(int argc, char** argv) {
  using namespace mixcl;
  using namespace mixcl::backend;
  const std::string what = argc > 1 ? argv[1] : "all";
  std::vector<DType> types = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0,
                              DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::MXFP4};
  std::vector<uint64_t> ms = {16, 32, 64, 128, 256, 512};
  if (argc > 2) {
    types.clear();
    for (const auto& name : split(argv[2]))
      for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q2_K,
                      DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::MXFP4})
        if (dtype_name(t) == name) types.push_back(t);
  }
  if (argc > 3) {
    ms.clear();
    for (const auto& v : split(argv[3])) ms.push_back(std::stoull(v));
  }
  auto devices = discover_opencl_devices();
  if (devices.empty()) {
    std::fprintf(stderr, "no OpenCL device\n");
    return 1;
  }
  OpenCLDevice& dev = *devices.front();
  std::printf("device %s (%s)\n", dev.name().c_str(), dev.caps().name.c_str());
  if (what == "overhead" || what == "all") bench_overhead(dev);
  const std::vector<std::string> only_shapes = argc > 4 ? split(argv[4]) : std::vector<std::string>{};
  if (what != "overhead") bench_gemm(dev, what == "all" ? "gemm" : what, types, ms, only_shapes);
  return 0;
}
