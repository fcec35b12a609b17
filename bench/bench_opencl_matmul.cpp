// OpenCL matmul speed: mat-vec GB/s of weight bytes for Q4_K, Q8_0 and MXFP4 at model shapes, as a share of the
// device's measured read bandwidth (backend/probe), and prefill GFLOP/s of the tiled kernel. Each benchmark
// cycles over copies of its matrix totalling more than 512 MB so that weights come from memory, not the cache.
// Run: bench_opencl_matmul [--benchmark_filter=...]; MIXCL_BENCH_VARIANT=vector|workgroup forces the shape,
// MIXCL_BENCH_ROWS=n the rows per work-item, MIXCL_BENCH_LOCAL=n the work-group size.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "backend/opencl/matmul.h"
#include "backend/opencl/opencl_device.h"
#include "backend/probe.h"
#include "bench/lib/kernel_prepare.h"

namespace mixcl::backend {
namespace {

constexpr uint64_t kWeightSetBytes = 640ull << 20;  // far beyond any last-level cache

struct BenchState {
  std::unique_ptr<OpenCLDevice> device;
  double read_gbps = 0;
};

BenchState& state() {
  static BenchState s = [] {
    BenchState b;
    auto devices = discover_opencl_devices();
    if (devices.empty()) return b;
    b.device = std::move(devices.front());
    // Measured now, under the same machine load as the kernels (a saved figure may come from a quieter time).
    ProbeOptions po;
    po.seconds_per_test = 0.3;
    po.trials = 2;
    b.read_gbps = probe_device(*b.device, po).read_gbps;
    std::printf("device %s (%s): measured read bandwidth %.1f GB/s\n", b.device->name().c_str(),
                b.device->caps().name.c_str(), b.read_gbps);
    return b;
  }();
  return s;
}

OpenCLMatmulConfig env_config() {
  OpenCLMatmulConfig c;
  if (const char* v = std::getenv("MIXCL_BENCH_VARIANT")) c.variant = v;
  if (const char* v = std::getenv("MIXCL_BENCH_ROWS")) c.rows_per_item = static_cast<uint32_t>(std::atoi(v));
  if (const char* v = std::getenv("MIXCL_BENCH_LOCAL")) c.local_size = static_cast<uint32_t>(std::atoi(v));
  return c;
}

// Mat-vec (m = 1) of a rows x cols matrix, N = rows (outputs), K = cols.
void BM_MatVec(benchmark::State& st, DType type, uint64_t rows, uint64_t cols) {
  BenchState& bs = state();
  if (!bs.device) {
    st.SkipWithError("no OpenCL device");
    return;
  }
  OpenCLDevice& dev = *bs.device;
  const uint64_t bytes = rows * row_bytes(type, cols);
  const uint64_t copies = (kWeightSetBytes + bytes - 1) / bytes;
  auto w = bench::upload_weights(dev, type, rows, cols, copies);
  auto x = dev.allocate(cols * 4), y = dev.allocate(rows * 4);
  std::vector<float> xs(cols, 0.5f);
  dev.upload(*x, 0, xs.data(), cols * 4).wait();
  const OpenCLMatmulConfig config = env_config();
  auto pass = [&] {
    for (uint64_t i = 0; i < copies; ++i)
      opencl_matmul(dev, {{w.get(), i * bytes}, type, cols, rows}, {x.get(), 0}, {y.get(), 0}, 1, config);
    dev.finish();
  };
  pass();  // builds the program, warms the caches of the driver
  for (auto _ : st) pass();
  const double total = static_cast<double>(st.iterations()) * static_cast<double>(copies * bytes);
  st.counters["GB/s"] = benchmark::Counter(total / 1e9, benchmark::Counter::kIsRate);
  st.counters["%read"] = benchmark::Counter(100.0 * total / 1e9 / bs.read_gbps, benchmark::Counter::kIsRate);
  st.counters["matvec/s"] =
      benchmark::Counter(static_cast<double>(st.iterations() * copies), benchmark::Counter::kIsRate);
  st.SetLabel(std::string(dtype_name(type)) + " read " + std::to_string(bs.read_gbps).substr(0, 5) + " GB/s");
}

// Prefill (m tokens) through the tiled kernel: GFLOP/s counting 2 flops per weight element per token.
void BM_Prefill(benchmark::State& st, DType type, uint64_t rows, uint64_t cols, uint64_t m) {
  BenchState& bs = state();
  if (!bs.device) {
    st.SkipWithError("no OpenCL device");
    return;
  }
  OpenCLDevice& dev = *bs.device;
  auto w = bench::upload_weights(dev, type, rows, cols);
  auto x = dev.allocate(m * cols * 4), y = dev.allocate(m * rows * 4);
  std::vector<float> xs(m * cols, 0.25f);
  dev.upload(*x, 0, xs.data(), xs.size() * 4).wait();
  const OpenCLMatmulConfig config = env_config();
  const WeightView wv{{w.get(), 0}, type, cols, rows};
  opencl_matmul(dev, wv, {x.get(), 0}, {y.get(), 0}, m, config);
  dev.finish();
  for (auto _ : st) {
    opencl_matmul(dev, wv, {x.get(), 0}, {y.get(), 0}, m, config);
    dev.finish();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(st.iterations()) * 2.0 * static_cast<double>(rows * cols * m) / 1e9,
      benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  const std::pair<uint64_t, uint64_t> shapes[] = {{4096, 4096}, {2048, 1408}, {1408, 2048}, {7168, 2048}, {2048, 7168}};
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::MXFP4}) {
    for (const auto& [rows, cols] : shapes) {
      if (cols % dtype_info(t).block_elems != 0) continue;
      const std::string name = "MatVec/" + std::string(dtype_name(t)) + "/" + std::to_string(rows) + "x" +
                               std::to_string(cols);
      benchmark::RegisterBenchmark(name.c_str(), BM_MatVec, t, rows, cols)->UseRealTime()->MinTime(1.0);
    }
  }
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::MXFP4})
    for (uint64_t m : {16, 128}) {
      const std::string name = "Prefill/" + std::string(dtype_name(t)) + "/2048x2048/m" + std::to_string(m);
      benchmark::RegisterBenchmark(name.c_str(), BM_Prefill, t, 2048, 2048, m)->UseRealTime()->MinTime(1.0);
    }
  return true;
}();

}  // namespace
}  // namespace mixcl::backend

BENCHMARK_MAIN();
