// The on-disk program cache: miss, hit in a new device, corrupt entries rebuilt silently, compile errors with
// the full build log, and a stable key hash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "opencl_test_util.h"

namespace mixcl::backend::test {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> entries(const std::string& dir) {
  std::vector<fs::path> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  return files;
}

// One add on `dev` through the cache; checks the result so a bad binary cannot pass.
void add_and_check(OpenCLDevice& dev) {
  const uint64_t n = 1029;
  auto a = random_floats(n, 7), b = random_floats(n, 8);
  auto ba = dev.allocate(n * 4), bb = dev.allocate(n * 4), bo = dev.allocate(n * 4);
  dev.wait_for(dev.upload(*ba, 0, a.data(), n * 4));
  dev.wait_for(dev.upload(*bb, 0, b.data(), n * 4));
  dev.add({ba.get()}, {bb.get()}, {bo.get()}, n);
  std::vector<float> out(n);
  dev.download(*bo, 0, out.data(), n * 4).wait();
  for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] + b[i]) << dev.name() << " element " << i;
}

std::unique_ptr<OpenCLDevice> first_device(const std::string& cache_dir) {
  auto devices = cl_devices(options_with(0, 0, cache_dir));
  if (devices.empty()) return nullptr;
  return std::move(devices[0]);
}

TEST(ProgramCache, MissThenHitInANewDevice) {
  const std::string dir = fresh_dir("cache");
  {
    auto dev = first_device(dir);
    ASSERT_TRUE(dev);
    EXPECT_EQ(dev->program_cache().dir(), dir);
    add_and_check(*dev);
    const auto s = dev->program_cache().stats();
    EXPECT_EQ(s.misses, 1u);
    EXPECT_EQ(s.hits, 0u);
    EXPECT_EQ(s.rebuilds, 0u);
    // A second use in the same device comes from memory, not from disk.
    add_and_check(*dev);
    EXPECT_EQ(dev->program_cache().stats().misses, 1u);
    EXPECT_EQ(dev->program_cache().stats().hits, 0u);
  }
  const auto files = entries(dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".bin");
  EXPECT_GT(fs::file_size(files[0]), 64u);

  auto dev = first_device(dir);
  ASSERT_TRUE(dev);
  add_and_check(*dev);
  const auto s = dev->program_cache().stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 0u);
  EXPECT_EQ(s.rebuilds, 0u);
  EXPECT_EQ(entries(dir).size(), 1u);
}

TEST(ProgramCache, DifferentOptionsAreDifferentEntries) {
  const std::string dir = fresh_dir("cache");
  auto dev = first_device(dir);
  ASSERT_TRUE(dev);
  dev->kernel("elementwise.cl", "add_vec", "-DVEC=4");
  dev->kernel("elementwise.cl", "add_vec", "-DVEC=8");
  dev->kernel("elementwise.cl", "scale_vec", "-DVEC=8");  // same program as the line above
  EXPECT_EQ(dev->program_cache().stats().misses, 2u);
  EXPECT_EQ(entries(dir).size(), 2u);
}

TEST(ProgramCache, CorruptOrTruncatedEntriesAreRebuiltSilently) {
  const std::string dir = fresh_dir("cache");
  {
    auto dev = first_device(dir);
    ASSERT_TRUE(dev);
    add_and_check(*dev);
  }
  auto files = entries(dir);
  ASSERT_EQ(files.size(), 1u);
  const fs::path entry = files[0];
  const auto good_size = fs::file_size(entry);

  // Garbage of the same length.
  {
    std::ofstream out(entry, std::ios::binary | std::ios::trunc);
    for (uintmax_t i = 0; i < good_size; ++i) out.put(static_cast<char>((i * 131) & 0xff));
  }
  {
    auto dev = first_device(dir);
    ASSERT_TRUE(dev);
    add_and_check(*dev);
    const auto s = dev->program_cache().stats();
    EXPECT_EQ(s.rebuilds, 1u);
    EXPECT_EQ(s.hits, 0u);
  }
  {
    // The rebuilt entry overwrote the garbage (its size may differ: a driver's binary need not be byte-stable).
    std::ifstream in(entry, std::ios::binary);
    char magic[8] = {};
    in.read(magic, 8);
    EXPECT_EQ(std::string(magic, 8), "MIXCLPB1") << "the rebuilt entry overwrites the corrupt one";
  }

  // Truncated in the middle of the binary.
  fs::resize_file(entry, fs::file_size(entry) / 2);
  {
    auto dev = first_device(dir);
    add_and_check(*dev);
    EXPECT_EQ(dev->program_cache().stats().rebuilds, 1u);
  }
  // Valid header but one flipped payload byte: the checksum catches it.
  {
    const auto size = static_cast<std::streamoff>(fs::file_size(entry));
    std::fstream f(entry, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(size - 10);
    const char c = static_cast<char>(f.get());
    f.seekp(size - 10);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  {
    auto dev = first_device(dir);
    add_and_check(*dev);
    EXPECT_EQ(dev->program_cache().stats().rebuilds, 1u);
  }
  // After the rebuilds the entry is valid again.
  auto dev = first_device(dir);
  add_and_check(*dev);
  EXPECT_EQ(dev->program_cache().stats().hits, 1u);
  // No temporary files are left behind.
  EXPECT_EQ(entries(dir).size(), 1u);
}

TEST(ProgramCache, CompileErrorCarriesDeviceFileAndFullBuildLog) {
  const std::string dir = fresh_dir("cache");
  auto dev = first_device(dir);
  ASSERT_TRUE(dev);
  ProgramCache cache(dir);
  const std::string source =
      "kernel void broken(global float* x) {\n"
      "  x[0] = 1.0f +;\n"
      "}\n"
      "kernel void also_broken(global float* y) { y[0] = undeclared_name; }\n";
  try {
    cache.build(dev->context(), dev->cl_device(), dev->name(), "test-device", "broken.cl", source, "-DFOO=1");
    FAIL() << "a kernel with a syntax error compiled";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cl0.0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("broken.cl"), std::string::npos) << msg;
    EXPECT_NE(msg.find("-DFOO=1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("build log"), std::string::npos) << msg;
    // Both errors of the log are there, not just the first line.
    EXPECT_NE(msg.find("expected expression"), std::string::npos) << msg;
    EXPECT_NE(msg.find("undeclared_name"), std::string::npos) << msg;
  }
  EXPECT_TRUE(entries(dir).empty()) << "a failed build must not leave a cache entry";
  // The same cache builds a correct source given as a string.
  cl::Program ok = cache.build(dev->context(), dev->cl_device(), dev->name(), "test-device", "ok.cl",
                               "kernel void fine(global float* x) { x[0] = 2.0f; }", "");
  EXPECT_NO_THROW(cl::Kernel(ok, "fine"));
  EXPECT_EQ(cache.stats().misses, 2u);
  EXPECT_EQ(entries(dir).size(), 1u);
}

TEST(ProgramCache, UnknownEmbeddedFileIsAClearError) {
  auto dev = first_device(fresh_dir("cache"));
  ASSERT_TRUE(dev);
  try {
    dev->kernel("no_such_file.cl", "k");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no_such_file.cl"), std::string::npos) << msg;
    EXPECT_NE(msg.find("rmsnorm.cl"), std::string::npos) << "should list the files that exist: " << msg;
  }
  EXPECT_THROW(dev->kernel("elementwise.cl", "no_such_kernel"), Error);
}

TEST(ProgramCache, KeyHashIsStableAndSeparatesParts) {
  // With no input, FNV-1a 128 is its offset basis (published constant).
  EXPECT_EQ(hash128_hex({}), "6c62272e07bb014262b821756295c58d");
  EXPECT_EQ(hash128_hex({"a", "b"}), hash128_hex({"a", "b"}));
  EXPECT_NE(hash128_hex({"ab", "c"}), hash128_hex({"a", "bc"}));
  EXPECT_NE(hash128_hex({"x"}), hash128_hex({"y"}));
  EXPECT_EQ(hash128_hex({"x"}).size(), 32u);
  ProgramCache cache(fresh_dir("cache"));
  EXPECT_EQ(cache.entry_path("dev", "src", "-DA=1"), cache.entry_path("dev", "src", "-DA=1"));
  EXPECT_NE(cache.entry_path("dev", "src", "-DA=1"), cache.entry_path("dev", "src", "-DA=2"));
  EXPECT_NE(cache.entry_path("dev", "src", ""), cache.entry_path("dev2", "src", ""));
  EXPECT_NE(cache.entry_path("dev", "src", ""), cache.entry_path("dev", "src ", ""));
}

TEST(ProgramCache, DefaultFolderFollowsTheEnvironment) {
  const char* saved = std::getenv("MIXCL_CACHE_DIR");
  const std::string keep = saved ? saved : "";
  setenv("MIXCL_CACHE_DIR", "/some/where", 1);
  EXPECT_EQ(ProgramCache::default_dir(), "/some/where");
  unsetenv("MIXCL_CACHE_DIR");
  EXPECT_EQ(ProgramCache::default_dir(), std::string(std::getenv("XDG_CACHE_HOME")) + "/mixcl/kernels");
  setenv("MIXCL_CACHE_DIR", keep.c_str(), 1);
}

}  // namespace
}  // namespace mixcl::backend::test
