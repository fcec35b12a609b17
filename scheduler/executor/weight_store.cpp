#include "scheduler/executor/weight_store.h"

#include <cstring>

#include "backend/host/host_device.h"
#include "backend/host/host_ops.h"
#include "backend/host/kernels/matmul.h"
#include "backend/opencl/matmul.h"
#include "model/quant/quant.h"

namespace mixcl::scheduler::exec {

std::string dims_text(std::span<const uint64_t> dims) {
  std::string s = "{";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "}";
}

WeightStore::WeightStore(const gguf::GgufFile& file, std::span<backend::Device* const> devices,
                         HostWeightMemory host_weights, LoadProgress progress, uint64_t total_bytes)
    : file_(file),
      devices_(devices.begin(), devices.end()),
      host_weights_(host_weights),
      progress_(std::move(progress)),
      total_(total_bytes),
      bytes_(devices.size()) {}

WeightStore::~WeightStore() {
  // Pending uploads read staged host copies; let them finish before those are freed.
  for (const auto& e : uploads_) {
    try {
      e.wait();
    } catch (...) {
    }
  }
}

const gguf::GgufTensor& WeightStore::require(std::string_view name, std::string_view role) const {
  if (file_.find_tensor(name)) return file_.tensor(name);
  fail("{}: tensor {} is missing ({}); the file is incomplete or not a deepseek2 model this engine understands",
       file_.path(), name, role);
}

void WeightStore::check_dims(const gguf::GgufTensor& t, std::span<const uint64_t> dims,
                             std::string_view meaning) const {
  bool same = t.n_dims == dims.size();
  for (size_t i = 0; same && i < dims.size(); ++i) same = t.ne[i] == dims[i];
  if (!same)
    fail("{}: tensor {} has dims {}, expected {} = {} from the model's hyperparameters", file_.path(), t.name,
         dims_text(t.dims()), meaning, dims_text(dims));
}

void WeightStore::check_matmul_type(std::string_view name, DType type, size_t dev) const {
  backend::Device& d = *devices_[dev];
  const bool ok = d.caps().kind == backend::DeviceKind::kHost ? backend::matmul_supports(type)
                                                              : backend::opencl_matmul_supports(type);
  if (!ok)
    fail("{}: tensor {} is stored as {}, which device {} cannot multiply; place it on another device or "
         "requantize the file",
         file_.path(), name, dtype_name(type), d.name());
}

backend::View WeightStore::place(std::string_view what, const void* data, uint64_t nbytes, uint64_t granule,
                                 size_t dev, bool allow_map) {
  backend::Device& d = *devices_[dev];
  std::shared_ptr<backend::Buffer> buffer;
  auto* host = dynamic_cast<backend::HostDevice*>(&d);
  if (host && allow_map && host_weights_ == HostWeightMemory::kMapped) {
    buffer = host->map_external(data, nbytes);  // used in place: no copy, not charged to the budget
    bytes_[dev].mapped += nbytes;
  } else {
    try {
      buffer = d.allocate(nbytes, granule);
    } catch (const Error& e) {
      const bool copy = host && allow_map;  // a copy the profile asked for (host.weight_memory: huge_pages)
      fail("{}: placing {} ({}) on device {}: {}{}", file_.path(), what, format_bytes(nbytes), d.name(), e.what(),
           copy ? "; or leave host weights in the file mapping (host.weight_memory: mapped, --weight-memory mapped),"
                  " which needs no budget"
                : "");
    }
    uploads_.push_back(d.upload(*buffer, 0, data, nbytes));
    bytes_[dev].copied += nbytes;
    if (host && allow_map) {
      uploads_.back().wait();  // a host upload is a copy done by now; waiting makes that explicit
      file_.release_pages(data, nbytes);  // the huge-page copy is now the only resident one
    }
  }
  buffers_.push_back(buffer);
  done_ += nbytes;
  if (progress_) progress_(std::min(done_, total_), total_);
  return {buffer.get(), 0};
}

backend::WeightView WeightStore::matrix(std::string_view name, std::span<const uint64_t> dims,
                                        std::string_view meaning, size_t dev, uint64_t granule_rows) {
  const auto& t = require(name, meaning);
  check_dims(t, dims, meaning);
  check_matmul_type(name, t.type, dev);
  const uint64_t rb = t.row_bytes();
  const uint64_t rows = t.n_elements / t.ne[0];
  backend::View v = place(name, t.data, t.nbytes, rb * std::max<uint64_t>(granule_rows, 1), dev, true);
  return {v, t.type, t.ne[0], rows};
}

backend::WeightView WeightStore::table(std::string_view name, std::span<const uint64_t> dims,
                                       std::string_view meaning, size_t dev) {
  const auto& t = require(name, meaning);
  check_dims(t, dims, meaning);
  if (devices_[dev]->caps().kind == backend::DeviceKind::kHost && !backend::get_rows_supports(t.type))
    fail("{}: tensor {} is stored as {}, which device {} cannot decode rows of", file_.path(), name,
         dtype_name(t.type), devices_[dev]->name());
  backend::View v = place(name, t.data, t.nbytes, t.row_bytes(), dev, true);
  return {v, t.type, t.ne[0], t.ne[1]};
}

backend::View WeightStore::vector(std::string_view name, uint64_t n, size_t dev) {
  const auto& t = require(name, "a norm weight or router bias vector");
  const uint64_t want[] = {n};
  check_dims(t, want, "{n}");
  if (t.type == DType::F32) return place(name, t.data, t.nbytes, 4, dev, true);
  if (t.type != DType::F16 && t.type != DType::BF16)
    fail("{}: tensor {} is stored as {}; vectors (norms, router bias) must be F32, F16 or BF16", file_.path(), name,
         dtype_name(t.type));
  std::vector<uint8_t> f32(n * 4);
  quant::dequantize_row(t.type, t.data, reinterpret_cast<float*>(f32.data()), n);
  staged_.push_back(std::move(f32));
  return place(name, staged_.back().data(), n * 4, 4, dev, false);
}

backend::WeightView WeightStore::put(std::string_view what, std::vector<uint8_t> bytes, DType type, uint64_t cols,
                                     uint64_t rows, size_t dev, uint64_t granule_rows) {
  check_matmul_type(what, type, dev);
  const uint64_t rb = row_bytes(type, cols);
  if (rb * rows != bytes.size())
    fail("internal: {} has {} bytes for {} rows of {} {}", what, bytes.size(), rows, cols, dtype_name(type));
  staged_.push_back(std::move(bytes));
  auto& b = staged_.back();
  backend::View v = place(what, b.data(), b.size(), rb * std::max<uint64_t>(granule_rows, 1), dev, false);
  return {v, type, cols, rows};
}

void WeightStore::finish_uploads() {
  for (const auto& e : uploads_) e.wait();
  uploads_.clear();
  staged_.clear();
  staged_.shrink_to_fit();
}

}  // namespace mixcl::scheduler::exec
