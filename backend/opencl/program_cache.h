#pragma once
// Compiled OpenCL programs on disk: source + options -> device binary, keyed by a 128-bit hash of the
// source, build options, device name, driver version and platform version. Entries are written
// atomically; an unreadable, corrupt or stale entry is rebuilt from source without complaint.
#include <CL/opencl.hpp>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace mixcl::backend {

/// The cl_kernels/*.cl sources embedded at build time, keyed by file name ("rmsnorm.cl").
const std::map<std::string, std::string_view>& embedded_kernel_sources();
/// The embedded source of `file`, or a mixcl::Error listing the files that exist.
std::string_view embedded_kernel_source(std::string_view file);

/// A 128-bit FNV-1a hash as 32 lowercase hex digits; each part is length-prefixed so that
/// ("ab","c") and ("a","bc") differ.
std::string hash128_hex(std::initializer_list<std::string_view> parts);

/// Counts of what a ProgramCache did.
struct ProgramCacheStats {
  uint64_t hits = 0;      // binary loaded from disk and built
  uint64_t misses = 0;    // no entry: compiled from source and stored
  uint64_t rebuilds = 0;  // entry present but corrupt, stale or refused by the driver: recompiled
};

/// Builds programs for one device through the on-disk cache.
class ProgramCache {
 public:
  /// `dir` "": $MIXCL_CACHE_DIR, else $XDG_CACHE_HOME/mixcl/kernels, else $HOME/.cache/mixcl/kernels.
  explicit ProgramCache(std::string dir = "");
  /// Where entries of this cache live.
  const std::string& dir() const { return dir_; }
  /// The cache folder picked when none is given.
  static std::string default_dir();

  /// Builds `source` for `device` with `options`, from the cached binary when a valid one exists.
  /// `label` names the source in errors (a file name); `device_id` is the device name, driver version and
  /// platform version (part of the key); `device_label` names the device in errors ("cl0.1").
  /// A compile error raises mixcl::Error with the device, the label and the full build log.
  cl::Program build(const cl::Context& context, const cl::Device& device, std::string_view device_label,
                    std::string_view device_id, std::string_view label, std::string_view source,
                    const std::string& options);
  /// The file that holds (or would hold) the entry of these inputs.
  std::string entry_path(std::string_view device_id, std::string_view source, const std::string& options) const;

  ProgramCacheStats stats() const { return {hits_.load(), misses_.load(), rebuilds_.load()}; }

 private:
  std::string dir_;
  std::atomic<uint64_t> hits_{0}, misses_{0}, rebuilds_{0};
};

}  // namespace mixcl::backend
