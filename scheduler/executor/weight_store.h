#pragma once
// Puts a model's weight tensors on devices: on the host used in place from the memory-mapped GGUF or copied
// into huge pages, uploaded to OpenCL devices; checks each tensor's presence, dims and type, naming the tensor in every error.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/device.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/executor.h"

namespace mixcl::scheduler::exec {

/// Bytes of weights one device holds.
struct WeightBytes {
  uint64_t copied = 0;  // allocated on the device (uploads, converted or re-laid-out tensors)
  uint64_t mapped = 0;  // host: used in place from the mapped file (HostWeightMemory::kMapped)
};

/// Owns every weight buffer of an executor.
class WeightStore {
 public:
  /// `total_bytes` is what progress reports as the total.
  WeightStore(const gguf::GgufFile& file, std::span<backend::Device* const> devices, HostWeightMemory host_weights,
              LoadProgress progress, uint64_t total_bytes);
  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  /// The tensor `name`, or an error naming it and `role` (what needs it).
  const gguf::GgufTensor& require(std::string_view name, std::string_view role) const;
  /// Checks that `t` has exactly `dims` (ne0 first); `meaning` spells them ("{E, Lq}").
  void check_dims(const gguf::GgufTensor& t, std::span<const uint64_t> dims, std::string_view meaning) const;

  /// A weight matrix (2-D, or a 3-D stack seen as ne1*ne2 rows) on device `dev`, checked for dims and for a
  /// type the device multiplies; `granule` rows stay together in one chunk (0: one row).
  backend::WeightView matrix(std::string_view name, std::span<const uint64_t> dims, std::string_view meaning,
                             size_t dev, uint64_t granule_rows = 0);
  /// An embedding table (rows decoded by get_rows) on `dev`.
  backend::WeightView table(std::string_view name, std::span<const uint64_t> dims, std::string_view meaning,
                            size_t dev);
  /// An f32 vector of n values (norm weights, router bias) on `dev`; F16/BF16 files are converted.
  backend::View vector(std::string_view name, uint64_t n, size_t dev);
  /// Host-made bytes (re-laid-out or split tensors) placed on `dev` as `rows` x `cols` of `type`.
  backend::WeightView put(std::string_view what, std::vector<uint8_t> bytes, DType type, uint64_t cols,
                          uint64_t rows, size_t dev, uint64_t granule_rows);
  /// Throws naming the tensor and device when device `dev` has no matmul kernels for `type`.
  void check_matmul_type(std::string_view name, DType type, size_t dev) const;
  /// Waits for every upload; call once after the last tensor.
  void finish_uploads();

  /// Bytes held per device.
  const WeightBytes& bytes(size_t dev) const { return bytes_[dev]; }
  const gguf::GgufFile& file() const { return file_; }

 private:
  backend::View place(std::string_view what, const void* data, uint64_t nbytes, uint64_t granule, size_t dev,
                      bool allow_map);

  const gguf::GgufFile& file_;
  std::vector<backend::Device*> devices_;
  HostWeightMemory host_weights_;
  LoadProgress progress_;
  uint64_t total_ = 0, done_ = 0;
  std::vector<WeightBytes> bytes_;
  std::vector<std::shared_ptr<backend::Buffer>> buffers_;
  std::vector<std::vector<uint8_t>> staged_;  // host copies that pending uploads still read
  std::vector<backend::Event> uploads_;
};

/// "{256, 96}" for messages.
std::string dims_text(std::span<const uint64_t> dims);

}  // namespace mixcl::scheduler::exec
