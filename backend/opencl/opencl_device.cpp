#include "backend/opencl/opencl_device.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/opencl_buffer.h"

namespace mixcl::backend {
namespace {

// Completion of one copy: the events of its per-chunk transfers (in order on one queue).
struct ClEvent final : Event::Impl {
  std::string device;
  cl_context context = nullptr;
  std::vector<cl::Event> events;
  void wait() override {
    try {
      if (!events.empty()) cl::Event::waitForEvents(events);
    } catch (const cl::Error& e) {
      throw cl_failure(device, "clWaitForEvents", e.err());
    }
  }
};

bool has_version(const Capabilities& caps, std::string_view v) {
  return std::find(caps.opencl_c_versions.begin(), caps.opencl_c_versions.end(), v) != caps.opencl_c_versions.end();
}

// The newest OpenCL C standard our kernels are written for that the device accepts. CL2.0 is never asked:
// some drivers (PoCL 3.1) reject it although they report it.
std::string pick_std_option(const Capabilities& caps) {
  if (has_version(caps, "3.0")) return "-cl-std=CL3.0";
  for (const auto& v : caps.opencl_c_versions)
    if (v == "1.2" || v.rfind("2.", 0) == 0) return "-cl-std=CL1.2";
  if (has_version(caps, "1.1")) return "-cl-std=CL1.1";
  return "";
}

// The source of `file`; "a.cl+b.cl" names the embedded files joined in that order (a format's definitions
// in front of shared kernel bodies, as the matmul kernels are built).
std::string program_source(std::string_view file) {
  std::string source;
  for (size_t begin = 0;;) {
    const size_t end = std::min(file.find('+', begin), file.size());
    source.append(embedded_kernel_source(file.substr(begin, end - begin)));
    if (end == file.size()) return source;
    source.push_back('\n');
    begin = end + 1;
  }
}

}  // namespace

OpenCLDevice::OpenCLDevice(cl::Platform platform, cl::Device device, std::string name, const OpenCLOptions& options)
    : Device(std::move(name), probe_opencl_capabilities(platform, device), 0),
      platform_(std::move(platform)),
      device_(std::move(device)),
      cache_(options.cache_dir) {
  try {
    context_ = cl::Context(device_);
    compute_queue_ = cl::CommandQueue(context_, device_, cl::QueueProperties::None);
    copy_queue_ = cl::CommandQueue(context_, device_, cl::QueueProperties::None);
  } catch (const cl::Error& e) {
    rethrow("creating the context and queues", e);
  }
  auto& caps = mutable_caps();
  if (options.max_alloc_override) caps.max_alloc_bytes = std::min(caps.max_alloc_bytes, options.max_alloc_override);
  memory().set_budget(options.budget_bytes ? options.budget_bytes : caps.global_mem_bytes / 10 * 9);
  std_option_ = pick_std_option(caps);
  gemm_from_m_ = options.gemm_from_m ? options.gemm_from_m : default_gemm_from_m(caps.type);
  cache_device_id_ = fmt::format("{}\n{}\n{}\n{}", caps.name, caps.vendor, caps.driver_version, caps.platform_version);
  if (options.variant == "vector")
    shape_ = KernelShape::kVector;
  else if (options.variant == "workgroup")
    shape_ = KernelShape::kWorkGroup;
  else if (options.variant.empty())
    shape_ = caps.type == "CPU" ? KernelShape::kVector : KernelShape::kWorkGroup;
  else
    fail("device {}: unknown kernel variant '{}' (allowed: vector, workgroup, or empty for automatic)", this->name(),
         options.variant);
  spdlog::debug("device {}: {} ({}), {} kernels, {}", this->name(), caps.name, caps.platform_name,
                shape_ == KernelShape::kVector ? "vector" : "work-group", std_option_);
}

OpenCLDevice::~OpenCLDevice() {
  try {
    finish();
  } catch (const std::exception& e) {
    spdlog::warn("device {}: finishing queued work at shutdown failed: {}", name(), e.what());
  }
}

void OpenCLDevice::set_kernel_configs(OpKernelConfigs configs) {
  for (const auto& [key, config] : configs) {
    try {
      check_kernel_config(key, config);
    } catch (const Error& e) {
      fail("device {}: {}", name(), e.what());
    }
  }
  kernel_configs_ = std::move(configs);
}

void OpenCLDevice::rethrow(const char* call, const cl::Error& e) const { throw cl_failure(name(), call, e.err()); }

cl::Program OpenCLDevice::program(std::string_view file, const std::string& build_options) {
  const std::string options = std_option_.empty() ? build_options : std_option_ + " " + build_options;
  std::lock_guard lock(programs_mutex_);
  auto key = std::make_pair(std::string(file), options);
  if (auto it = programs_.find(key); it != programs_.end()) return it->second;
  cl::Program prog =
      cache_.build(context_, device_, name(), cache_device_id_, file, program_source(file), options);
  programs_.emplace(std::move(key), prog);
  return prog;
}

cl::Kernel OpenCLDevice::kernel(std::string_view file, std::string_view kernel_name, const std::string& build_options) {
  cl::Program prog = program(file, build_options);
  try {
    return cl::Kernel(prog, std::string(kernel_name).c_str());
  } catch (const cl::Error& e) {
    throw cl_failure(name(), fmt::format("clCreateKernel({} in cl_kernels/{})", kernel_name, file), e.err());
  }
}

cl::Kernel& OpenCLDevice::thread_kernel(std::string_view file, std::string_view kname, const std::string& options) {
  const auto key = std::make_tuple(std::this_thread::get_id(), file, std::string_view(options), kname);
  {
    std::lock_guard lock(thread_kernels_mutex_);
    if (auto it = thread_kernels_.find(key); it != thread_kernels_.end()) return it->second;
  }
  cl::Kernel k = kernel(file, kname, options);  // built outside the lock: a first build takes seconds
  std::lock_guard lock(thread_kernels_mutex_);  // only this thread inserts keys of this thread
  return thread_kernels_
      .emplace(std::make_tuple(std::this_thread::get_id(), std::string(file), options, std::string(kname)), std::move(k))
      .first->second;
}

cl::Kernel& OpenCLDevice::op_kernel(std::string_view file, std::string_view kname, const std::string& options) {
  auto key = std::make_tuple(std::string(file), options, std::string(kname));
  if (auto it = op_kernels_.find(key); it != op_kernels_.end()) return it->second;
  return op_kernels_.emplace(std::move(key), kernel(file, kname, options)).first->second;
}

std::shared_ptr<Buffer> OpenCLDevice::allocate(uint64_t bytes, uint64_t granule) {
  return std::make_shared<OpenCLBuffer>(*this, bytes, granule, caps().max_alloc_bytes);
}

namespace {

// The OpenCL buffer behind `buffer`, which must come from `device`.
const OpenCLBuffer& own_buffer(const Buffer& buffer, const OpenCLDevice& device, std::string_view what) {
  const auto* b = dynamic_cast<const OpenCLBuffer*>(&buffer);
  if (!b || &b->owner() != &device)
    fail("device {}: {} was given a buffer of another device", device.name(), what);
  return *b;
}

}  // namespace

Event OpenCLDevice::upload(Buffer& dst, uint64_t offset, const void* src, uint64_t bytes) {
  const OpenCLBuffer& b = own_buffer(dst, *this, "upload");
  if (offset > b.size() || bytes > b.size() - offset)
    fail("device {}: upload of bytes [{}, {}) is outside the {}-byte buffer", name(), offset, offset + bytes, b.size());
  auto impl = std::make_shared<ClEvent>();
  impl->device = name();
  const auto* p = static_cast<const unsigned char*>(src);
  try {
    // The write waits for every op enqueued so far (one may still read the destination), by event: no clFinish.
    std::vector<cl::Event> after(1);
    compute_queue_.enqueueMarkerWithWaitList(nullptr, &after[0]);
    compute_queue_.flush();
    for (size_t i = 0; i < b.chunk_count() && bytes > 0; ++i) {
      const auto [begin, end] = b.chunk_range(i);
      const uint64_t lo = std::max(begin, offset), hi = std::min(end, offset + bytes);
      if (lo >= hi) continue;
      cl::Event ev;
      copy_queue_.enqueueWriteBuffer(b.chunk(i), CL_FALSE, lo - begin, hi - lo, p + (lo - offset), &after, &ev);
      impl->events.push_back(ev);
    }
    copy_queue_.flush();
  } catch (const cl::Error& e) {
    rethrow("clEnqueueWriteBuffer", e);
  }
  impl->context = context_();
  return Event(impl);
}

Event OpenCLDevice::download(const Buffer& src, uint64_t offset, void* dst, uint64_t bytes) {
  const OpenCLBuffer& b = own_buffer(src, *this, "download");
  if (offset > b.size() || bytes > b.size() - offset)
    fail("device {}: download of bytes [{}, {}) is outside the {}-byte buffer", name(), offset, offset + bytes,
         b.size());
  auto impl = std::make_shared<ClEvent>();
  impl->device = name();
  auto* p = static_cast<unsigned char*>(dst);
  try {
    // The copy waits for every op enqueued so far, so it reads finished results.
    std::vector<cl::Event> after(1);
    compute_queue_.enqueueMarkerWithWaitList(nullptr, &after[0]);
    compute_queue_.flush();
    for (size_t i = 0; i < b.chunk_count() && bytes > 0; ++i) {
      const auto [begin, end] = b.chunk_range(i);
      const uint64_t lo = std::max(begin, offset), hi = std::min(end, offset + bytes);
      if (lo >= hi) continue;
      cl::Event ev;
      copy_queue_.enqueueReadBuffer(b.chunk(i), CL_FALSE, lo - begin, hi - lo, p + (lo - offset), &after, &ev);
      impl->events.push_back(ev);
    }
    copy_queue_.flush();
  } catch (const cl::Error& e) {
    rethrow("clEnqueueReadBuffer", e);
  }
  impl->context = context_();
  return Event(impl);
}

void OpenCLDevice::wait_for(const Event& event) {
  auto* impl = dynamic_cast<ClEvent*>(event.impl());
  if (!impl) {
    event.wait();  // host or other backend: already complete or blocking
    return;
  }
  if (impl->context != context_()) {  // events of another context cannot be waited on by this queue
    impl->wait();
    return;
  }
  if (impl->events.empty()) return;
  try {
    compute_queue_.enqueueBarrierWithWaitList(&impl->events);
  } catch (const cl::Error& e) {
    rethrow("clEnqueueBarrierWithWaitList", e);
  }
}

void OpenCLDevice::finish() {
  try {
    compute_queue_.finish();
    copy_queue_.finish();
  } catch (const cl::Error& e) {
    rethrow("clFinish", e);
  }
}

}  // namespace mixcl::backend
