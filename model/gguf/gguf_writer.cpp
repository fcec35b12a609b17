#include "model/gguf/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <system_error>

#include "common/error.h"
#include "model/gguf/gguf_encoder.h"

namespace mixcl::gguf {
namespace {

uint64_t align_up(uint64_t x, uint64_t a) { return x + (a - x % a) % a; }

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

GgufWriter::GgufWriter(std::filesystem::path path, uint32_t alignment) : path_(std::move(path)), alignment_(alignment) {
  if (alignment < 8 || (alignment & (alignment - 1)) != 0)
    fail("GgufWriter {}: alignment {} must be a power of two >= 8", path_.string(), alignment);
}

GgufWriter::~GgufWriter() {
  // finish() cleans up after itself; this covers a writer dropped while finish() was never called.
  if (!finished_) {
    std::error_code ec;
    std::filesystem::remove(path_.string() + ".tmp", ec);
  }
}

void GgufWriter::set(const std::string& key, GgufValue value) {
  if (key.empty()) fail("GgufWriter {}: metadata key is empty", path_.string());
  if (std::holds_alternative<std::monostate>(value.storage()))
    fail("GgufWriter {}: metadata '{}' has no value", path_.string(), key);
  if (key == "general.alignment" && (!value.is_integer() || value.as_u64() != alignment_))
    fail("GgufWriter {}: general.alignment is {} but the writer was created with alignment {}", path_.string(),
         value.summary(), alignment_);
  for (auto& [k, v] : kvs_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  kvs_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> dims, DType type, GgufFill fill) {
  const auto where = [&] { return fmt::format("GgufWriter {}: tensor '{}'", path_.string(), name); };
  if (finished_) fail("{}: added after finish()", where());
  if (name.empty()) fail("GgufWriter {}: tensor name is empty", path_.string());
  for (const auto& t : tensors_)
    if (t.name == name) fail("{}: declared twice", where());
  if (dims.empty() || dims.size() > 4) fail("{}: {} dims, must be 1..4", where(), dims.size());
  const auto info = dtype_info(static_cast<uint32_t>(type));
  if (!info) fail("{}: unknown type id {}", where(), static_cast<uint32_t>(type));
  uint64_t n_rows = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) fail("{}: dimension ne{} is 0", where(), i);
    if (i > 0) {
      if (n_rows > (UINT64_MAX >> 1) / dims[i]) fail("{}: element count overflows", where());
      n_rows *= dims[i];
    }
  }
  if (dims[0] % info->block_elems != 0)
    fail("{}: ne0 = {} is not a multiple of the {}-element {} block", where(), dims[0], info->block_elems, info->name);
  const uint64_t rb = dims[0] / info->block_elems * info->block_bytes;
  if (rb != 0 && n_rows > (UINT64_MAX >> 1) / rb) fail("{}: byte size overflows", where());
  if (!fill) fail("{}: no fill function", where());
  tensors_.push_back(Tensor{name, std::move(dims), type, rb, n_rows, rb * n_rows, std::move(fill)});
}

void GgufWriter::add_tensor_bytes(const std::string& name, std::vector<uint64_t> dims, DType type,
                                  std::vector<uint8_t> bytes) {
  auto data = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  // The row size is only known after add_tensor validated the shape; capture it through the tensor list.
  add_tensor(name, std::move(dims), type, [](uint64_t, uint64_t, uint8_t*) {});
  Tensor& t = tensors_.back();
  if (data->size() != t.nbytes) {
    const uint64_t want = t.nbytes;
    tensors_.pop_back();
    fail("GgufWriter {}: tensor '{}' has {} bytes of data, its shape needs {}", path_.string(), name, data->size(),
         want);
  }
  t.fill = [data, rb = t.row_bytes](uint64_t first, uint64_t n, uint8_t* dst) {
    std::memcpy(dst, data->data() + first * rb, n * rb);
  };
}

std::vector<uint8_t> GgufWriter::encode_header(std::vector<uint64_t>* offsets) const {
  auto kvs = kvs_;
  const bool has_alignment =
      std::any_of(kvs.begin(), kvs.end(), [](const auto& kv) { return kv.first == "general.alignment"; });
  if (alignment_ != kDefaultAlignment && !has_alignment)
    kvs.emplace_back("general.alignment", GgufValue::u32(alignment_));
  GgufEncoder enc;
  enc.header(version_, tensors_.size(), kvs.size());
  for (const auto& [k, v] : kvs) enc.kv(k, v);
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    enc.tensor_info(t.name, t.dims, static_cast<uint32_t>(t.type), offset);
    if (offsets) offsets->push_back(offset);
    offset += align_up(t.nbytes, alignment_);
  }
  enc.pad_to(alignment_);
  return std::move(enc.bytes);
}

uint64_t GgufWriter::planned_file_size() const {
  uint64_t size = encode_header(nullptr).size();
  for (const auto& t : tensors_) size += align_up(t.nbytes, alignment_);
  return size;
}

void GgufWriter::finish(GgufProgress progress) {
  if (finished_) fail("GgufWriter {}: finish() called twice", path_.string());
  const std::filesystem::path tmp = path_.string() + ".tmp";
  try {
    write_all(tmp, progress);
    std::error_code ec;
    std::filesystem::rename(tmp, path_, ec);
    if (ec) fail("GgufWriter: cannot rename {} to {}: {}", tmp.string(), path_.string(), ec.message());
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
  finished_ = true;
}

void GgufWriter::write_all(const std::filesystem::path& tmp, const GgufProgress& progress) {
  if (version_ != 2 && version_ != 3) fail("GgufWriter {}: version {} cannot be written", path_.string(), version_);
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(tmp.c_str(), "wb"));
  if (!file) fail("GgufWriter: cannot create {}: {}", tmp.string(), std::strerror(errno));
  const uint64_t total = planned_file_size();
  uint64_t done = 0;
  const auto put = [&](const uint8_t* data, uint64_t n) {
    if (n != 0 && std::fwrite(data, 1, n, file.get()) != n)
      fail("GgufWriter: writing {} failed at byte {}: {}", tmp.string(), done, std::strerror(errno));
    done += n;
    if (progress) progress(done, total);
  };
  const std::vector<uint8_t> header = encode_header(nullptr);
  put(header.data(), header.size());
  std::vector<uint8_t> slab;
  for (const auto& t : tensors_) {
    const uint64_t rows_per_slab = std::max<uint64_t>(1, slab_bytes_ / std::max<uint64_t>(1, t.row_bytes));
    for (uint64_t first = 0; first < t.n_rows; first += rows_per_slab) {
      const uint64_t n = std::min(rows_per_slab, t.n_rows - first);
      slab.assign(n * t.row_bytes, 0);
      t.fill(first, n, slab.data());
      put(slab.data(), slab.size());
    }
    const uint64_t pad = align_up(t.nbytes, alignment_) - t.nbytes;
    slab.assign(pad, 0);
    put(slab.data(), pad);
  }
  if (std::fflush(file.get()) != 0) fail("GgufWriter: flushing {} failed: {}", tmp.string(), std::strerror(errno));
  std::FILE* raw = file.release();
  if (std::fclose(raw) != 0) fail("GgufWriter: closing {} failed: {}", tmp.string(), std::strerror(errno));
  if (done != total) fail("GgufWriter: internal size mismatch writing {} ({} of {} bytes)", tmp.string(), done, total);
}

}  // namespace mixcl::gguf
