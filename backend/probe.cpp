#include "backend/probe.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "backend/host/host_buffer.h"
#include "backend/host/host_device.h"
#include "backend/host/host_probe.h"
#include "backend/opencl/cl_error.h"
#include "backend/opencl/opencl_device.h"

namespace mixcl::backend {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kDefaultBufferBytes = 512 * kMiB;
constexpr uint64_t kMaxAutoBufferBytes = 1024 * kMiB;
constexpr uint64_t kMinBufferBytes = 1 * kMiB;
constexpr uint32_t kVectorWidths[] = {1, 2, 4, 8, 16};
constexpr int kProbeFileFormat = 1;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Best seconds per repetition of `run(reps)` (which returns once the work is complete): one warm-up run,
// then the repetition count grows until one measurement takes about `target` seconds; best of `trials`.
template <class Run>
double best_seconds_per_rep(Run&& run, double target, int trials) {
  auto timed = [&](uint64_t reps) {
    const auto start = Clock::now();
    run(reps);
    return seconds_since(start);
  };
  timed(1);  // warm-up: first touch, kernel compilation, caches, clocks ramping up
  uint64_t reps = 1;
  double t = timed(reps);
  while (t < target * 0.5) {
    // Jump towards the target, but at most 16x at once: a very short first run is mostly timer noise.
    const double factor = t > 0 ? std::clamp(target / t, 2.0, 16.0) : 16.0;
    reps = static_cast<uint64_t>(std::ceil(static_cast<double>(reps) * factor));
    t = timed(reps);
  }
  double best = t / static_cast<double>(reps);
  for (int i = 1; i < trials; ++i) best = std::min(best, timed(reps) / static_cast<double>(reps));
  return best;
}

std::string utc_now_iso() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// The automatic buffer: 4x the last-level cache, at least 512 MiB and at most 1 GiB, bounded by the largest
// single allocation and a third of what the budget has left (copies need a host and a staging buffer too).
uint64_t buffer_bytes_for(Device& device, const ProbeOptions& options, uint64_t cache_bytes) {
  uint64_t bytes = options.buffer_bytes
                       ? options.buffer_bytes
                       : std::clamp(4 * cache_bytes, kDefaultBufferBytes, kMaxAutoBufferBytes);
  if (device.caps().max_alloc_bytes) bytes = std::min(bytes, device.caps().max_alloc_bytes);
  bytes = std::min(bytes, device.memory().available() / 3);
  bytes = bytes / (64 * 1024) * (64 * 1024);  // whole float16 vectors for every work-item count used
  if (bytes < kMinBufferBytes)
    fail("probe {}: only {} of its memory budget is free, the probe needs at least {}; free memory on the "
         "device or raise its budget",
         device.name(), format_bytes(device.memory().available()), format_bytes(3 * kMinBufferBytes));
  return bytes;
}

void check_options(const Device& device, const ProbeOptions& options) {
  if (!(options.seconds_per_test > 0) || options.seconds_per_test > 60)
    fail("probe {}: seconds_per_test {} is outside (0, 60]", device.name(), options.seconds_per_test);
  if (options.trials < 1 || options.trials > 100)
    fail("probe {}: trials {} is outside [1, 100]", device.name(), options.trials);
}

// ---------------------------------------------------------------- host

ProbeResult probe_host(HostDevice& host, const ProbeOptions& options) {
  ProbeResult result;
  const HostSimd simd = host_probe_simd(host.caps().isa);
  const int threads = host.threads();
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  result.buffer_bytes = buffer_bytes_for(host, options, l3 > 0 ? static_cast<uint64_t>(l3) : 0);
  const uint64_t n = result.buffer_bytes / sizeof(float);

  {
    auto buffer = host.allocate(result.buffer_bytes);
    const float* data = host_ptr_as<float>({buffer.get(), 0});
    host_fill_random(host_ptr_as<float>({buffer.get(), 0}), n, threads, 0x5EED);
    volatile double sink = 0;  // the sums leave the loop, so the loads must happen
    const double seconds = best_seconds_per_rep(
        [&](uint64_t reps) { sink = sink + host_read_sum(data, n, reps, threads, simd); },
        options.seconds_per_test, options.trials);
    result.read_gbps = static_cast<double>(result.buffer_bytes) / seconds / 1e9;
    // Floats per load: 16 (AVX-512), 8 (AVX2), 4 (the SSE2 code the compiler makes of the generic loop).
    result.read_vector_width = simd == HostSimd::kAvx512 ? 16 : simd == HostSimd::kAvx2 ? 8 : 4;
  }
  if (options.read_only) return result;

  const HostFmaShape shape = host_fma_shape(simd);
  constexpr uint64_t kItersPerRep = 1 << 16;
  volatile double sink = 0;
  const double seconds = best_seconds_per_rep(
      [&](uint64_t reps) { sink = sink + host_fma_chains(kItersPerRep * reps, threads, simd); },
      options.seconds_per_test, options.trials);
  const double flops = 2.0 * kItersPerRep * shape.chains * shape.lanes * threads;
  result.fp32_gflops = flops / seconds / 1e9;
  result.fp32_vector_width = shape.lanes;
  spdlog::debug("probe host: {} threads, {} kernels, {} buffer: read {:.1f} GB/s, fp32 {:.1f} GFLOP/s", threads,
                host_simd_name(simd), format_bytes(result.buffer_bytes), result.read_gbps, result.fp32_gflops);
  return result;
}

// ---------------------------------------------------------------- OpenCL

// Charges a buffer the probe makes outside Device::allocate (the pinned staging buffer) to the budget.
class BudgetCharge {
 public:
  BudgetCharge(MemoryBudget& budget, uint64_t bytes, std::string_view what) : budget_(budget), bytes_(bytes) {
    budget_.reserve(bytes_, what);
  }
  ~BudgetCharge() { budget_.release(bytes_); }
  BudgetCharge(const BudgetCharge&) = delete;
  BudgetCharge& operator=(const BudgetCharge&) = delete;

 private:
  MemoryBudget& budget_;
  uint64_t bytes_;
};

// A host buffer from CL_MEM_ALLOC_HOST_PTR, mapped for the host: the driver's pinned memory where it has any.
class MappedStaging {
 public:
  MappedStaging(OpenCLDevice& device, uint64_t bytes)
      : queue_(device.copy_queue()),
        charge_(device.memory(), bytes, "probe staging buffer"),
        buffer_(device.context(), CL_MEM_ALLOC_HOST_PTR | CL_MEM_READ_WRITE, bytes) {
    ptr_ = queue_.enqueueMapBuffer(buffer_, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes);
  }
  ~MappedStaging() {
    try {
      cl::Event done;
      queue_.enqueueUnmapMemObject(buffer_, ptr_, nullptr, &done);
      done.wait();
    } catch (const cl::Error& e) {
      spdlog::warn("probe: unmapping the staging buffer failed: {} ({})", e.what(), cl_error_name(e.err()));
    }
  }
  MappedStaging(const MappedStaging&) = delete;
  MappedStaging& operator=(const MappedStaging&) = delete;
  void* data() const { return ptr_; }

 private:
  cl::CommandQueue& queue_;
  BudgetCharge charge_;
  cl::Buffer buffer_;
  void* ptr_ = nullptr;
};

std::string vec_type(uint32_t width) { return width == 1 ? "float" : fmt::format("float{}", width); }

// Work-group size for the probe kernels: up to 256, a power of two the device accepts.
size_t probe_local_size(const OpenCLDevice& device) {
  size_t local = 256;
  while (local > 1 && local > device.caps().max_work_group_size) local /= 2;
  return local;
}

// One kernel variant of a measurement: the read kernel (read only) and the float vector width.
struct Variant {
  int kernel = 0;  // read: 0 read_blocks, 1 read_streams
  uint32_t width = 1;
  double rate = 0;
};

// Rates `measure(variant, target, trials)` for every candidate with a short screening run, then measures
// the best one again with the full time and trials.
template <class Measure>
Variant best_variant(const std::vector<Variant>& candidates, Measure&& measure, const ProbeOptions& options,
                     const char* what, const std::string& dev) {
  Variant best;
  for (Variant v : candidates) {
    v.rate = measure(v, options.seconds_per_test / 4, 1);
    spdlog::debug("probe {}: {} with {}, kernel {}: {:.2f}", dev, what, vec_type(v.width), v.kernel, v.rate);
    if (v.rate > best.rate) best = v;
  }
  best.rate = std::max(best.rate, measure(best, options.seconds_per_test, options.trials));
  return best;
}

// Read kernels of cl_kernels/probe.cl: kernel 0 "read_blocks" (many work-items, 16 coalesced fetches
// each; suits GPUs and CPU drivers that vectorise across work-items), kernel 1 "read_streams" (one
// sequential stream per work-item; suits CPU drivers that do not). The faster one is reported.
constexpr int kReadKernels[] = {0, 1};

void probe_opencl_read(OpenCLDevice& device, const cl::Buffer& data, uint64_t bytes, const ProbeOptions& options,
                       ProbeResult& result) {
  const size_t local = probe_local_size(device);
  const uint64_t stream_groups = std::max<uint64_t>(1, device.caps().compute_units) * 8;
  auto never_written = device.allocate(sizeof(float));
  auto measure = [&](const Variant& v, double target, int trials) {
    const uint64_t vectors = bytes / (4 * v.width);
    if (vectors > UINT32_MAX || vectors < local * 16)
      fail("probe {}: a {} read buffer does not suit the read kernels; pass a size between 1 MiB and 16 GiB",
           device.name(), format_bytes(bytes));
    const std::string build = fmt::format("-DWIDTH={}", v.width);
    cl::Kernel kernel;
    uint64_t global = 0, read_bytes = 0;
    if (v.kernel == 0) {
      global = vectors / 16 / local * local;
      read_bytes = global * 16 * v.width * 4;
      kernel = device.kernel("probe.cl", "read_blocks", build);
      kernel.setArg(0, data);
      kernel.setArg(1, -1.0f);
      kernel.setArg(2, cl_chunk(*never_written, 0));
    } else {
      global = std::min(stream_groups, vectors / (local * 16)) * local;
      const uint64_t steps = vectors / global;
      read_bytes = global * steps * v.width * 4;
      kernel = device.kernel("probe.cl", "read_streams", build);
      kernel.setArg(0, data);
      kernel.setArg(1, static_cast<cl_uint>(steps));
      kernel.setArg(2, -1.0f);
      kernel.setArg(3, cl_chunk(*never_written, 0));
    }
    cl::CommandQueue& queue = device.compute_queue();
    const double seconds = best_seconds_per_rep(
        [&](uint64_t reps) {
          for (uint64_t r = 0; r < reps; ++r)
            queue.enqueueNDRangeKernel(kernel, cl::NullRange, cl::NDRange(global), cl::NDRange(local));
          queue.finish();
        },
        target, trials);
    return static_cast<double>(read_bytes) / seconds / 1e9;
  };
  std::vector<Variant> candidates;
  for (int kernel : kReadKernels)
    for (uint32_t width : kVectorWidths) candidates.push_back({kernel, width});
  const Variant best = best_variant(candidates, measure, options, "read GB/s", device.name());
  result.read_gbps = best.rate;
  result.read_vector_width = best.width;
}

void probe_opencl_compute(OpenCLDevice& device, const ProbeOptions& options, ProbeResult& result) {
  const size_t local = probe_local_size(device);
  const uint64_t global = std::max<uint64_t>(1, device.caps().compute_units) * local * 4;
  const cl_device_fp_config fp = device.cl_device().getInfo<CL_DEVICE_SINGLE_FP_CONFIG>();
  const int hardware_fma = (fp & CL_FP_FMA) && !(fp & CL_FP_SOFT_FLOAT) ? 1 : 0;
  auto measure = [&](const Variant& v, double target, int trials) {
    const uint32_t width = v.width;
    const uint32_t iters = 65536 / width;  // the same flops per launch for every width
    auto out = device.allocate(global * 4 * width);
    cl::Kernel kernel =
        device.kernel("probe.cl", "fma_chains", fmt::format("-DWIDTH={} -DUSE_FMA={}", width, hardware_fma));
    kernel.setArg(0, cl_chunk(*out, 0));
    kernel.setArg(1, kHostFmaMul);
    kernel.setArg(2, kHostFmaAdd);
    kernel.setArg(3, static_cast<cl_uint>(iters));
    cl::CommandQueue& queue = device.compute_queue();
    const double seconds = best_seconds_per_rep(
        [&](uint64_t reps) {
          for (uint64_t r = 0; r < reps; ++r)
            queue.enqueueNDRangeKernel(kernel, cl::NullRange, cl::NDRange(global), cl::NDRange(local));
          queue.finish();
        },
        target, trials);
    return 16.0 * iters * width * static_cast<double>(global) / seconds / 1e9;
  };
  std::vector<Variant> candidates;
  for (uint32_t width : kVectorWidths) candidates.push_back({0, width});
  const Variant best = best_variant(candidates, measure, options, "fp32 GFLOP/s", device.name());
  result.fp32_gflops = best.rate;
  result.fp32_vector_width = best.width;
}

// Blocking enqueueWriteBuffer / enqueueReadBuffer of the whole buffer from `host` memory; GB/s both ways.
std::pair<double, double> copy_rates(OpenCLDevice& device, const cl::Buffer& buffer, void* host, uint64_t bytes,
                                     const ProbeOptions& options) {
  cl::CommandQueue& queue = device.copy_queue();
  const double target = options.seconds_per_test / 2;
  const double up = best_seconds_per_rep(
      [&](uint64_t reps) {
        for (uint64_t r = 0; r < reps; ++r) queue.enqueueWriteBuffer(buffer, CL_TRUE, 0, bytes, host);
      },
      target, options.trials);
  const double down = best_seconds_per_rep(
      [&](uint64_t reps) {
        for (uint64_t r = 0; r < reps; ++r) queue.enqueueReadBuffer(buffer, CL_TRUE, 0, bytes, host);
      },
      target, options.trials);
  const double b = static_cast<double>(bytes);
  return {b / up / 1e9, b / down / 1e9};
}

ProbeResult probe_opencl(OpenCLDevice& device, const ProbeOptions& options) {
  ProbeResult result;
  const uint64_t cache = device.cl_device().getInfo<CL_DEVICE_GLOBAL_MEM_CACHE_SIZE>();
  result.buffer_bytes = buffer_bytes_for(device, options, cache);
  const uint64_t bytes = result.buffer_bytes;
  const int host_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // Random normal floats in a plain (pageable) host allocation; also the pageable side of the copy test.
  std::unique_ptr<float[]> host(new float[bytes / sizeof(float)]);
  host_fill_random(host.get(), bytes / sizeof(float), host_threads, 0x5EED);
  auto data = device.allocate(bytes);
  if (data->chunk_count() != 1)
    fail("probe {}: a {} buffer was split into {} chunks; pass a smaller buffer size", device.name(),
         format_bytes(bytes), data->chunk_count());
  const cl::Buffer& cl_data = cl_chunk(*data, 0);
  device.upload(*data, 0, host.get(), bytes).wait();

  probe_opencl_read(device, cl_data, bytes, options, result);
  if (options.read_only) {
    device.finish();
    return result;
  }
  probe_opencl_compute(device, options, result);

  auto [up, down] = copy_rates(device, cl_data, host.get(), bytes, options);
  spdlog::debug("probe {}: pageable copies: to device {:.2f} GB/s, to host {:.2f} GB/s", device.name(), up, down);
  host.reset();  // the pinned measurement needs the memory more
  {
    MappedStaging staging(device, bytes);
    std::memset(staging.data(), 0x3F, bytes);  // touch every page (0x3F3F3F3F is a normal float)
    auto [pinned_up, pinned_down] = copy_rates(device, cl_data, staging.data(), bytes, options);
    spdlog::debug("probe {}: pinned copies: to device {:.2f} GB/s, to host {:.2f} GB/s", device.name(), pinned_up,
                  pinned_down);
    up = std::max(up, pinned_up);
    down = std::max(down, pinned_down);
  }
  result.host_to_device_gbps = up;
  result.device_to_host_gbps = down;
  device.finish();
  return result;
}

// ---------------------------------------------------------------- cache file

nlohmann::json to_json(const ProbeResult& r) {
  return {{"device", r.device},
          {"device_id", r.device_id},
          {"read_gbps", r.read_gbps},
          {"read_vector_width", r.read_vector_width},
          {"fp32_gflops", r.fp32_gflops},
          {"fp32_vector_width", r.fp32_vector_width},
          {"host_to_device_gbps", r.host_to_device_gbps},
          {"device_to_host_gbps", r.device_to_host_gbps},
          {"buffer_bytes", r.buffer_bytes},
          {"measured_at", r.measured_at}};
}

ProbeResult from_json(const nlohmann::json& j) {
  ProbeResult r;
  r.device = j.at("device").get<std::string>();
  r.device_id = j.at("device_id").get<std::string>();
  r.read_gbps = j.at("read_gbps").get<double>();
  r.read_vector_width = j.at("read_vector_width").get<uint32_t>();
  r.fp32_gflops = j.at("fp32_gflops").get<double>();
  r.fp32_vector_width = j.value("fp32_vector_width", 0u);
  r.host_to_device_gbps = j.at("host_to_device_gbps").get<double>();
  r.device_to_host_gbps = j.at("device_to_host_gbps").get<double>();
  r.buffer_bytes = j.value("buffer_bytes", uint64_t{0});
  r.measured_at = j.value("measured_at", std::string());
  return r;
}

// The parsed probe file, or nullopt when it is missing or not a probe file of this format.
std::optional<nlohmann::json> read_probe_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (!j.is_object() || j.value("format", 0) != kProbeFileFormat || !j.contains("devices") ||
        !j["devices"].is_object()) {
      spdlog::warn("probe results {} are not in format {}; ignoring them (run `mixcl devices --probe`)", path,
                   kProbeFileFormat);
      return std::nullopt;
    }
    return j;
  } catch (const nlohmann::json::exception& e) {
    spdlog::warn("probe results {} are corrupt ({}); ignoring them (run `mixcl devices --probe`)", path, e.what());
    return std::nullopt;
  }
}

}  // namespace

std::string probe_device_id(const Device& device) {
  const Capabilities& caps = device.caps();
  if (caps.kind == DeviceKind::kHost) {
    const auto* host = dynamic_cast<const HostDevice*>(&device);
    return fmt::format("{} | host | {} threads | {}", caps.name, host ? host->threads() : 0, caps.isa);
  }
  return fmt::format("{} | {} | {}", caps.name, caps.driver_version, caps.platform_version);
}

ProbeResult probe_device(Device& device, const ProbeOptions& options) {
  check_options(device, options);
  const auto start = Clock::now();
  ProbeResult result;
  if (auto* host = dynamic_cast<HostDevice*>(&device)) {
    result = probe_host(*host, options);
  } else if (auto* cl_device = dynamic_cast<OpenCLDevice*>(&device)) {
    try {
      result = probe_opencl(*cl_device, options);
    } catch (const cl::Error& e) {
      throw cl_failure(device.name(), fmt::format("probe: {}", e.what()), e.err(),
                       "; try a smaller buffer (--probe buffer size) or check the driver");
    }
  } else {
    fail("probe {}: unknown device kind", device.name());
  }
  result.device = device.name();
  result.device_id = probe_device_id(device);
  result.measured_at = utc_now_iso();
  if (options.read_only) {
    spdlog::debug("probe {}: read {:.1f} GB/s ({:.1f} s)", device.name(), result.read_gbps, seconds_since(start));
    return result;
  }
  spdlog::info("probe {}: read {:.1f} GB/s, fp32 {:.1f} GFLOP/s, to device {:.1f} GB/s, to host {:.1f} GB/s "
               "({:.1f} s)",
               device.name(), result.read_gbps, result.fp32_gflops, result.host_to_device_gbps,
               result.device_to_host_gbps, seconds_since(start));
  return result;
}

std::string probe_cache_path() {
  fs::path dir;
  if (const char* d = std::getenv("MIXCL_CACHE_DIR"); d && *d) {
    dir = d;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    dir = fs::path(x) / "mixcl";
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    dir = fs::path(h) / ".cache" / "mixcl";
  } else {
    fail("probe: no cache folder: set MIXCL_CACHE_DIR (or XDG_CACHE_HOME or HOME)");
  }
  return (dir / "probe.json").string();
}

std::string save_probe_results(const std::vector<ProbeResult>& results) {
  const std::string path = probe_cache_path();
  nlohmann::json file = read_probe_file(path).value_or(
      nlohmann::json{{"format", kProbeFileFormat}, {"devices", nlohmann::json::object()}});
  for (const ProbeResult& r : results) file["devices"][r.device_id] = to_json(r);

  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) fail("probe: cannot create the cache folder {}: {}", fs::path(path).parent_path().string(), ec.message());
  const std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << file.dump(2) << '\n';
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      fail("probe: writing {} failed: {}; check free space and permissions of the cache folder", tmp,
           std::strerror(errno));
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fail("probe: replacing {} failed: {}", path, ec.message());
  }
  return path;
}

std::optional<ProbeResult> load_probe_result(const std::string& device_id) {
  std::string path;
  try {
    path = probe_cache_path();
  } catch (const Error&) {
    return std::nullopt;  // no cache folder at all: nothing was saved
  }
  const auto file = read_probe_file(path);
  if (!file) return std::nullopt;
  const auto& devices = (*file)["devices"];
  const auto it = devices.find(device_id);
  if (it == devices.end()) return std::nullopt;
  try {
    return from_json(*it);
  } catch (const nlohmann::json::exception& e) {
    spdlog::warn("probe results {}: the entry of '{}' is corrupt ({}); ignoring it", path, device_id, e.what());
    return std::nullopt;
  }
}

}  // namespace mixcl::backend
