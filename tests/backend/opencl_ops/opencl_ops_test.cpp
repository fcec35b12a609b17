// The op table of tests/backend/ops/op_harness.h run on every OpenCL device in both kernel shapes (the device's
// own and the forced "workgroup" GPU shape on PoCL), plus OpenCL-specific checks: error messages, the split
// (flash-decoding) attention path and determinism of moe_ffn.
#include <gtest/gtest.h>

#include "backend/opencl/ops.h"
#include "common/error.h"
#include "tests/backend/ops/op_harness.h"
#include "tests/support/opencl_devices.h"

namespace mixcl::backend::ops_test {
namespace {

/// An OpenCL device as an OpTarget.
class OpenCLTarget final : public OpTarget {
 public:
  explicit OpenCLTarget(OpenCLDevice& dev) : dev_(dev) {}
  Device& device() override { return dev_; }
  void get_rows(const WeightView& t, View ids, View out, uint64_t n) override { opencl_get_rows(dev_, t, ids, out, n); }
  void rope(View x, View pos, uint64_t nt, uint64_t nh, uint64_t hs, uint64_t off, const RopeParams& p) override {
    opencl_rope(dev_, x, pos, nt, nh, hs, off, p);
  }
  void softmax(View x, uint64_t rows, uint64_t n, float scale) override { opencl_softmax(dev_, x, rows, n, scale); }
  void swiglu(View g, View u, View o, uint64_t n, float clamp) override { opencl_swiglu(dev_, g, u, o, n, clamp); }
  void router(View l, View b, View ids, View w, uint64_t m, const RouterParams& p) override {
    opencl_router(dev_, l, b, ids, w, m, p);
  }
  void moe_ffn(const ExpertWeights& w, View x, View ids, View wt, View out, uint64_t m, uint64_t k,
               float clamp) override {
    opencl_moe_ffn(dev_, w, x, ids, wt, out, m, k, clamp);
  }
  void mla_attention(View q, View kv, DType t, View out, uint64_t m, uint64_t pos0, uint64_t h, uint64_t lkv,
                     uint64_t dr, float scale) override {
    opencl_mla_attention(dev_, q, kv, t, out, m, pos0, h, lkv, dr, scale);
  }
  void convert(View s, View d, DType t, uint64_t n) override { opencl_convert(dev_, s, d, t, n); }

 private:
  OpenCLDevice& dev_;
};

// Parameter: the forced shape ("" = the device's own choice).
class OpenCLOps : public ::testing::TestWithParam<const char*> {
 protected:
  // Runs `body` on every device in this shape.
  template <class F>
  void each_device(F body) {
    // Devices per shape for the whole program, all sharing one program cache folder (so each program is
    // compiled once per process, whichever device or shape asks first).
    auto& devs = mixcl::test::shared_opencl().devices(GetParam());
    if (devs.empty()) GTEST_SKIP() << "no OpenCL device on this machine";
    for (auto& d : devs) {
      SCOPED_TRACE(fmt::format("device {} ({})", d->name(), d->shape() == KernelShape::kVector ? "vector" : "workgroup"));
      OpenCLTarget target(*d);
      body(target, *d);
    }
  }
};

TEST_P(OpenCLOps, ShapeIsTheForcedOne) {
  each_device([&](OpTarget&, OpenCLDevice& d) {
    if (std::string(GetParam()) == "workgroup") {
      EXPECT_EQ(d.shape(), KernelShape::kWorkGroup);
    }
  });
}

TEST_P(OpenCLOps, GetRows) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 1;
    for (const auto& c : get_rows_cases()) check_get_rows(t, c, seed++);
  });
}

TEST_P(OpenCLOps, Rope) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 100;
    for (const auto& c : rope_cases()) check_rope(t, c, seed++);
  });
}

TEST_P(OpenCLOps, Softmax) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 200;
    for (const auto& c : softmax_cases()) check_softmax(t, c, seed++);
  });
}

TEST_P(OpenCLOps, Swiglu) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 300;
    for (const auto& c : swiglu_cases()) check_swiglu(t, c, seed++);
  });
}

TEST_P(OpenCLOps, Convert) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 400;
    for (const auto& c : convert_cases()) check_convert(t, c, seed++);
  });
}

TEST_P(OpenCLOps, Router) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 500;
    for (const auto& c : router_cases()) check_router(t, c, seed++);
  });
}

TEST_P(OpenCLOps, MlaAttention) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 600;
    for (const auto& c : attn_cases()) check_attention(t, c, seed++);
  });
}

TEST_P(OpenCLOps, MoeFfn) {
  each_device([](OpTarget& t, OpenCLDevice&) {
    uint32_t seed = 700;
    // The OpenCL matmul multiplies decoded weights by the f32 activations as they are (no 8-bit activation
    // rounding), so every format is held to the float bound against exact activations.
    for (const auto& c : moe_cases()) check_moe(t, c, seed++, /*int8_activations=*/false);
  });
}

// Each kernel file builds with its default macros alone (the tunables all have defaults).
TEST_P(OpenCLOps, KernelFilesCompileAlone) {
  each_device([](OpTarget&, OpenCLDevice& d) {
    for (const char* f : {"rope.cl", "softmax.cl", "swiglu.cl", "convert.cl", "get_rows.cl", "router.cl",
                          "mla_attention.cl", "moe.cl"})
      EXPECT_NO_THROW(d.program(f)) << f;
  });
}

// Bad ids are clear errors naming the id and the limit, not out-of-bounds reads.
TEST_P(OpenCLOps, BadIdsAreErrors) {
  each_device([](OpTarget& t, OpenCLDevice& d) {
    std::mt19937 rng(9);
    const auto table = random_weights(DType::Q8_0, 4, 32, rng);
    auto bt = put(d, table), bi = put(d, std::vector<int32_t>{1, 4}), bo = d.allocate(2 * 32 * 4);
    try {
      t.get_rows({at(bt), DType::Q8_0, 32, 4}, at(bi), at(bo), 2);
      ADD_FAILURE() << "get_rows accepted id 4 of a 4-row table";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("id 4 (entry 1) is outside the table's 4 rows"), std::string::npos)
          << e.what();
    }
    const auto w = random_weights(DType::F32, 2 * 8, 8, rng);
    auto bw = put(d, w), bx = put(d, normal_floats(8, rng)), bid = put(d, std::vector<int32_t>{0, 7});
    auto bwt = put(d, std::vector<float>{0.5f, 0.5f}), bout = put(d, std::vector<float>(8, 0.0f));
    ExpertWeights ew{{at(bw), DType::F32, 8, 8}, {at(bw), DType::F32, 8, 8}, {at(bw), DType::F32, 8, 8}, 2};
    try {
      t.moe_ffn(ew, at(bx), at(bid), at(bwt), at(bout), 1, 2, 0.0f);
      ADD_FAILURE() << "moe_ffn accepted expert id 7 of 2";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("1 of the 2 expert ids are outside [0, 2)"), std::string::npos) << e.what();
    }
  });
}

// Same inputs, same bits: the expert sort and the slot reduce have a fixed order (no atomics).
TEST_P(OpenCLOps, MoeFfnIsDeterministic) {
  each_device([](OpTarget& t, OpenCLDevice& d) {
    const uint64_t E = 64, Fe = 32, m = 33, k = 4;
    const uint32_t X = 8;
    std::mt19937 rng(11);
    const auto gu = random_weights(DType::Q4_0, X * Fe, E, rng, 0.1f);
    const auto dn = random_weights(DType::Q8_0, X * E, Fe, rng, 0.1f);
    std::vector<int32_t> ids(m * k);
    for (uint64_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 5 + i / k) % X);
    auto bg = put(d, gu), bd = put(d, dn), bx = put(d, normal_floats(m * E, rng)), bi = put(d, ids);
    auto bw = put(d, normal_floats(m * k, rng));
    ExpertWeights ew{{at(bg), DType::Q4_0, E, Fe}, {at(bg), DType::Q4_0, E, Fe}, {at(bd), DType::Q8_0, Fe, E}, X};
    std::vector<std::vector<float>> runs;
    for (int r = 0; r < 3; ++r) {
      auto bo = put(d, std::vector<float>(m * E, 0.0f));
      t.moe_ffn(ew, at(bx), at(bi), at(bw), at(bo), m, k, 0.0f);
      runs.push_back(get<float>(d, bo, m * E));
    }
    EXPECT_EQ(runs[0], runs[1]);
    EXPECT_EQ(runs[0], runs[2]);
  });
}

TEST_P(OpenCLOps, MatmulHeadsMatchesOneMatmulPerHead) {
  each_device([](OpTarget&, OpenCLDevice& d) {
    for (const auto& c : matmul_heads_cases()) check_matmul_heads(d, c, /*int8_activations=*/false);
    check_matmul_heads_errors(d);
  });
}

TEST_P(OpenCLOps, Copy2dGathersAndScatters) {
  each_device([](OpTarget&, OpenCLDevice& d) {
    for (const auto& c : copy_2d_cases()) check_copy_2d(d, c);
    check_copy_2d_errors(d);
  });
}

INSTANTIATE_TEST_SUITE_P(Shape, OpenCLOps, ::testing::Values("", "workgroup"),
                         [](const auto& info) { return std::string(info.param).empty() ? "native" : "workgroup"; });

}  // namespace
}  // namespace mixcl::backend::ops_test
