// Buffers on an OpenCL device: splitting beyond the max allocation, copies across chunk boundaries, the memory
// budget, and views that are refused.
#include <gtest/gtest.h>

#include <cstring>

#include "opencl_test_util.h"
#include "tests/support/test_data.h"

namespace mixcl::backend::test {
namespace {

using ::mixcl::test::random_bytes;

TEST(OpenCLBuffer, SplitsBeyondTheMaxAllocationAtGranuleMultiples) {
  const uint64_t max_alloc = 4096, granule = 96, bytes = 10 * 4032 + 500;
  auto devices = cl_devices(options_with(0, max_alloc));
  ASSERT_FALSE(devices.empty());
  OpenCLDevice& dev = *devices[0];
  EXPECT_EQ(dev.caps().max_alloc_bytes, max_alloc);
  auto buf = dev.allocate(bytes, granule);
  EXPECT_EQ(buf->size(), bytes);
  EXPECT_EQ(dev.memory().used(), bytes);
  ASSERT_EQ(buf->chunk_count(), 11u);
  uint64_t expect_begin = 0;
  for (size_t i = 0; i < buf->chunk_count(); ++i) {
    const auto [begin, end] = buf->chunk_range(i);
    EXPECT_EQ(begin, expect_begin) << "chunk " << i;
    EXPECT_EQ(begin % granule, 0u) << "chunk " << i;
    EXPECT_LE(end - begin, max_alloc) << "chunk " << i;
    EXPECT_GT(end, begin);
    EXPECT_EQ(cl_chunk(*buf, i).getInfo<CL_MEM_SIZE>(), end - begin) << "chunk " << i;
    expect_begin = end;
  }
  EXPECT_EQ(expect_begin, bytes);

  // Whole round trip, then pieces that start and end inside chunks and cross several boundaries.
  const auto data = random_bytes(bytes, 1);
  dev.upload(*buf, 0, data.data(), bytes).wait();
  std::vector<uint8_t> back(bytes, 0);
  dev.download(*buf, 0, back.data(), bytes).wait();
  ASSERT_EQ(back, data);
  const auto patch = random_bytes(20001, 2);
  auto ev = dev.upload(*buf, 4031, patch.data(), patch.size());  // starts one byte before the first boundary
  ev.wait();
  std::vector<uint8_t> expect = data;
  std::memcpy(expect.data() + 4031, patch.data(), patch.size());
  std::vector<uint8_t> piece(9000);
  dev.download(*buf, 8000, piece.data(), piece.size()).wait();
  EXPECT_TRUE(std::equal(piece.begin(), piece.end(), expect.begin() + 8000));
  dev.download(*buf, 0, back.data(), bytes).wait();
  EXPECT_EQ(back, expect);
  // The last, short chunk.
  std::vector<uint8_t> tail(600);
  dev.download(*buf, bytes - 600, tail.data(), 600).wait();
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), expect.end() - 600));

  buf.reset();
  EXPECT_EQ(dev.memory().used(), 0u);
}

TEST(OpenCLBuffer, OpsOnAChunkedBufferUseViewsInsideOneChunk) {
  // Rows of 250 floats (1000 bytes) as the granule: 4 rows per 4096-byte chunk.
  const uint64_t n = 250, rows = 10;
  auto devices = cl_devices(options_with(0, 4096));
  ASSERT_FALSE(devices.empty());
  OpenCLDevice& dev = *devices[0];
  auto x = random_floats(rows * n, 3);
  auto bx = dev.allocate(rows * n * 4, n * 4), bo = dev.allocate(rows * n * 4, n * 4);
  ASSERT_EQ(bx->chunk_count(), 3u);
  dev.wait_for(dev.upload(*bx, 0, x.data(), x.size() * 4));
  for (uint64_t r = 0; r < rows; ++r) dev.scale({bx.get(), r * n * 4}, 3.0f, {bo.get(), r * n * 4}, n);
  std::vector<float> out(rows * n);
  dev.download(*bo, 0, out.data(), out.size() * 4).wait();
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], x[i] * 3.0f) << i;
  // Two rows starting at row 3 cross the boundary between chunk 0 (rows 0-3) and chunk 1.
  try {
    dev.scale({bx.get(), 3 * n * 4}, 2.0f, {bo.get(), 4 * n * 4}, 2 * n);
    FAIL() << "a view across a chunk boundary was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("chunk"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cl0.0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'x'"), std::string::npos) << msg;
  }
}

TEST(OpenCLBuffer, GranuleLargerThanMaxAllocationIsAnErrorOnlyWhenSplitting) {
  auto devices = cl_devices(options_with(0, 4096));
  ASSERT_FALSE(devices.empty());
  EXPECT_THROW(devices[0]->allocate(100000, 5000), Error);
  EXPECT_EQ(devices[0]->memory().used(), 0u);
  // A buffer that fits in one allocation needs no split, whatever its granule.
  auto small = devices[0]->allocate(3000, 5000);
  EXPECT_EQ(small->chunk_count(), 1u);
}

TEST(OpenCLBuffer, BudgetErrorNamesDeviceBytesAskedAndLeft) {
  auto devices = cl_devices(options_with(10000, 0));
  ASSERT_FALSE(devices.empty());
  OpenCLDevice& dev = *devices[0];
  EXPECT_EQ(dev.memory().budget(), 10000u);
  auto a = dev.allocate(6000);
  try {
    dev.allocate(5000);
    FAIL() << "allocation beyond the budget succeeded";
  } catch (const OutOfBudget& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cl0.0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("5000 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find(format_bytes(4000) + " left"), std::string::npos) << msg;
  }
  EXPECT_EQ(dev.memory().used(), 6000u);
  auto b = dev.allocate(4000);  // exactly what is left
  EXPECT_EQ(dev.memory().available(), 0u);
  a.reset();
  b.reset();
  EXPECT_EQ(dev.memory().used(), 0u);
}

TEST(OpenCLBuffer, BadViewsAndCopiesAreClearErrors) {
  auto devices = cl_devices();
  ASSERT_EQ(devices.size(), 2u);
  OpenCLDevice &d0 = *devices[0], &d1 = *devices[1];
  auto b0 = d0.allocate(64), b1 = d1.allocate(64);
  std::vector<float> host(32);
  EXPECT_THROW(d0.upload(*b0, 60, host.data(), 8), Error);     // past the end
  EXPECT_THROW(d0.download(*b0, 0, host.data(), 65), Error);   // past the end
  EXPECT_THROW(d0.upload(*b1, 0, host.data(), 8), Error);      // another device's buffer
  EXPECT_THROW(d0.add({b0.get()}, {b0.get()}, {b0.get(), 8}, 16), Error);  // out of range
  EXPECT_THROW(d0.scale({b0.get(), 2}, 1.0f, {b0.get()}, 4), Error);       // not f32-aligned
  try {
    d0.add({b0.get()}, {b1.get()}, {b0.get()}, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cl0.1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(d0.rmsnorm({nullptr}, {b0.get()}, {b0.get()}, 1, 4, 1e-6f), Error);
  // Zero-length work is fine.
  EXPECT_NO_THROW(d0.add({b0.get()}, {b0.get()}, {b0.get()}, 0));
  auto empty = d0.allocate(0);
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_NO_THROW(d0.upload(*empty, 0, host.data(), 0).wait());
}

TEST(OpenCLBuffer, WaitForOrdersComputeAfterAnUpload) {
  auto devices = cl_devices();
  ASSERT_FALSE(devices.empty());
  OpenCLDevice& dev = *devices[0];
  const uint64_t n = 1 << 20;
  auto bx = dev.allocate(n * 4), bo = dev.allocate(n * 4);
  for (int round = 0; round < 3; ++round) {
    auto x = random_floats(n, 40 + round);
    dev.wait_for(dev.upload(*bx, 0, x.data(), n * 4));
    dev.scale({bx.get()}, -2.0f, {bo.get()}, n);
    std::vector<float> out(n);
    dev.download(*bo, 0, out.data(), n * 4).wait();
    for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], x[i] * -2.0f) << "round " << round << " element " << i;
  }
  dev.finish();
}

}  // namespace
}  // namespace mixcl::backend::test
