#include "backend/opencl/program_cache.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "backend/opencl/cl_error.h"
#include "common/error.h"

namespace mixcl::backend {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'M', 'I', 'X', 'C', 'L', 'P', 'B', '1'};
constexpr size_t kKeyChars = 32;
constexpr size_t kHeaderBytes = sizeof(kMagic) + kKeyChars + 8 + 8;  // magic, key, size, checksum
// Bumped when the entry layout or the key's inputs change, so old entries simply stop matching.
constexpr std::string_view kFormatVersion = "mixcl-program-cache-1";

uint64_t fnv1a64(const unsigned char* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The binary stored for `key`, or nullopt when the entry is missing (`present` false) or not valid.
std::optional<std::vector<unsigned char>> read_entry(const std::string& path, const std::string& key,
                                                     bool& present) {
  std::ifstream in(path, std::ios::binary);
  present = static_cast<bool>(in);
  if (!in) return std::nullopt;
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0 ||
      std::memcmp(bytes.data() + sizeof(kMagic), key.data(), kKeyChars) != 0)
    return std::nullopt;
  const unsigned char* p = bytes.data() + sizeof(kMagic) + kKeyChars;
  const uint64_t size = get_u64(p), checksum = get_u64(p + 8);
  if (size == 0 || size != bytes.size() - kHeaderBytes) return std::nullopt;
  if (fnv1a64(bytes.data() + kHeaderBytes, size) != checksum) return std::nullopt;
  return std::vector<unsigned char>(bytes.begin() + kHeaderBytes, bytes.end());
}

// Writes the entry to a unique temporary file then renames it over `path`, so readers see all or nothing.
void write_entry(const std::string& dir, const std::string& path, const std::string& key,
                 const std::vector<unsigned char>& binary) {
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    spdlog::warn("program cache: cannot create {} ({}); kernels will be compiled on every run", dir,
                 ec.message());
    return;
  }
  std::string data(kMagic, sizeof(kMagic));
  data += key;
  put_u64(data, binary.size());
  put_u64(data, fnv1a64(binary.data(), binary.size()));
  data.append(reinterpret_cast<const char*>(binary.data()), binary.size());
  const std::string tmp = fmt::format("{}.tmp.{}.{}", path, getpid(), counter.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      spdlog::warn("program cache: cannot write {}; kernels will be compiled on every run", tmp);
      return;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    spdlog::warn("program cache: cannot rename {} to {} ({})", tmp, path, ec.message());
  }
}

std::string build_log(const cl::Program& program, const cl::Device& device) {
  try {
    std::string log = program.getBuildInfo<CL_PROGRAM_BUILD_LOG>(device);
    while (!log.empty() && (log.back() == '\n' || log.back() == '\0' || log.back() == ' ')) log.pop_back();
    return log.empty() ? "(the driver gave an empty build log)" : log;
  } catch (const cl::Error& e) {
    return fmt::format("(no build log: {})", cl_error_name(e.err()));
  }
}

// Compiles `source`; a compile error carries the full build log.
cl::Program compile_source(const cl::Context& context, const cl::Device& device, std::string_view device_label,
                           std::string_view label, std::string_view source, const std::string& options) {
  cl::Program program;
  try {
    program = cl::Program(context, std::string(source));
  } catch (const cl::Error& e) {
    throw cl_failure(device_label, fmt::format("clCreateProgramWithSource({})", label), e.err());
  }
  try {
    program.build(std::vector<cl::Device>{device}, options.c_str());
  } catch (const cl::Error& e) {
    if (e.err() == CL_BUILD_PROGRAM_FAILURE || e.err() == CL_COMPILE_PROGRAM_FAILURE)
      fail("device {}: compiling cl_kernels/{} with options '{}' failed; build log:\n{}", device_label, label,
           options, build_log(program, device));
    throw cl_failure(device_label, fmt::format("clBuildProgram({}, '{}')", label, options), e.err(),
                     build_log(program, device));
  }
  return program;
}

// Builds from a cached binary; nullopt when the driver refuses it.
std::optional<cl::Program> load_binary(const cl::Context& context, const cl::Device& device,
                                       const std::vector<unsigned char>& binary, const std::string& options) {
  try {
    cl::Program::Binaries binaries{binary};
    std::vector<cl_int> status;
    cl::Program program(context, std::vector<cl::Device>{device}, binaries, &status);
    program.build(std::vector<cl::Device>{device}, options.c_str());
    return program;
  } catch (const cl::Error& e) {
    spdlog::debug("program cache: cached binary refused ({}); rebuilding", cl_error_name(e.err()));
    return std::nullopt;
  }
}

}  // namespace

std::string_view embedded_kernel_source(std::string_view file) {
  const auto& table = embedded_kernel_sources();
  auto it = table.find(std::string(file));
  if (it == table.end()) {
    std::string names;
    for (const auto& [name, text] : table) names += (names.empty() ? "" : ", ") + name;
    fail("no kernel file cl_kernels/{} is built into this binary (have: {})", file, names);
  }
  return it->second;
}

std::string hash128_hex(std::initializer_list<std::string_view> parts) {
  // FNV-1a 128: offset basis and prime from the FNV specification.
  using u128 = unsigned __int128;
  const u128 prime = (static_cast<u128>(0x0000000001000000ull) << 64) | 0x000000000000013Bull;
  u128 h = (static_cast<u128>(0x6c62272e07bb0142ull) << 64) | 0x62b821756295c58dull;
  auto mix = [&](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= prime;
    }
  };
  for (std::string_view part : parts) {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((uint64_t{part.size()} >> (8 * i)) & 0xff);
    mix(len, sizeof(len));
    mix(part.data(), part.size());
  }
  return fmt::format("{:016x}{:016x}", static_cast<uint64_t>(h >> 64), static_cast<uint64_t>(h));
}

ProgramCache::ProgramCache(std::string dir) : dir_(dir.empty() ? default_dir() : std::move(dir)) {}

std::string ProgramCache::default_dir() {
  if (const char* d = std::getenv("MIXCL_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "mixcl" / "kernels").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home && *home ? home : "/tmp") / ".cache" / "mixcl" / "kernels").string();
}

std::string ProgramCache::entry_path(std::string_view device_id, std::string_view source,
                                     const std::string& options) const {
  return (fs::path(dir_) / (hash128_hex({kFormatVersion, device_id, options, source}) + ".bin")).string();
}

cl::Program ProgramCache::build(const cl::Context& context, const cl::Device& device, std::string_view device_label,
                                std::string_view device_id, std::string_view label, std::string_view source,
                                const std::string& options) {
  const std::string key = hash128_hex({kFormatVersion, device_id, options, source});
  const std::string path = (fs::path(dir_) / (key + ".bin")).string();
  bool present = false;
  if (auto binary = read_entry(path, key, present)) {
    if (auto program = load_binary(context, device, *binary, options)) {
      hits_.fetch_add(1);
      spdlog::debug("program cache: {} for {} loaded from {}", label, device_label, path);
      return *program;
    }
  }
  if (present) {
    rebuilds_.fetch_add(1);
    spdlog::debug("program cache: entry {} is corrupt or stale; rebuilding {}", path, label);
  } else {
    misses_.fetch_add(1);
  }
  cl::Program program = compile_source(context, device, device_label, label, source, options);
  try {
    auto binaries = program.getInfo<CL_PROGRAM_BINARIES>();
    if (!binaries.empty() && !binaries[0].empty())
      write_entry(dir_, path, key, binaries[0]);
    else
      spdlog::debug("program cache: the driver of {} gives no program binary; not caching {}", device_label,
                    label);
  } catch (const cl::Error& e) {
    spdlog::debug("program cache: reading the binary of {} failed ({})", label, cl_error_name(e.err()));
  }
  return program;
}

}  // namespace mixcl::backend
