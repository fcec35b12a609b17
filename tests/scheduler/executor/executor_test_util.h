#pragma once
// Shared helpers of the executor tests: tiny synthetic models in a temp folder, the host and PoCL devices,
// an executor run, comparisons, and the double-precision reference model of a GGUF.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/host/host_device.h"
#include "backend/opencl/opencl_device.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"
#include "model/synth/synth_model.h"
#include "scheduler/executor.h"
#include "tests/reference/deepseek2_reference.h"

namespace mixcl::scheduler::test {

/// Set once by main.
void set_temp_dir(const std::string& dir);
const std::filesystem::path& temp_dir();
/// Where OpenCL kernels are cached (set once by main).
void set_kernel_cache_dir(const std::string& dir);
/// Drops the shared devices (before main returns).
void release_devices();

/// All types F32 (exact comparisons with the reference).
synth::TypeChoice all_f32();
/// Writes (once per process and name) a synthetic model of `geometry` and returns its path.
std::filesystem::path synth_model(const std::string& name, const std::string& geometry, const synth::TypeChoice& types,
                                  arch::MlaLayout mla = arch::MlaLayout::kSplit, uint64_t seed = 7,
                                  const std::function<void(arch::Deepseek2Config&)>& tweak = {});

/// The host device of the process.
backend::HostDevice& host();
/// The PoCL devices of the process (two with POCL_DEVICES="pthread pthread"); empty without OpenCL.
std::vector<backend::Device*> cl_devices();

/// What a run returned, all logits and routes.
struct RunOutput {
  std::vector<float> logits;
  std::vector<std::vector<std::vector<int32_t>>> routes;
};
/// Runs `tokens` through a fresh executor in chunks of `chunk` tokens per forward call; `stats`, when given,
/// receives the executor's counters at the end.
RunOutput run_model(const gguf::GgufFile& file, std::vector<backend::Device*> devices, ExecutorOptions options,
              const std::vector<int32_t>& tokens, size_t chunk, ExecutorStats* stats = nullptr);
/// Appends the result of one forward call.
void append(RunOutput& run, ForwardResult&& r);

/// Largest |a - b| and the range (max - min) of `a`.
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);
double value_range(const std::vector<float>& a);
/// Expects logits within `rel` of the logit range and identical routes.
void expect_same(const RunOutput& a, const RunOutput& b, double rel, const std::string& what);

/// Some token ids below `vocab`.
std::vector<int32_t> test_tokens(size_t n, uint32_t vocab, uint32_t seed = 3);

/// How rewrite() changes a GGUF.
struct Edit {
  std::string drop;                                 // tensor to leave out
  std::string reshape;                              // tensor to give `dims` (same bytes)
  std::vector<uint64_t> dims;
  std::function<void(gguf::GgufWriter&)> metadata;  // extra set() calls
  bool fuse_gate_up = false;                        // ffn_gate_exps + ffn_up_exps -> ffn_gate_up_exps
};
/// Copies the model at `src` into temp_dir()/name.gguf with `edit` applied.
std::filesystem::path rewrite(const std::filesystem::path& src, const std::string& name, const Edit& edit);

/// Every tensor of a GGUF in double, viewed as the reference's model.
struct RefFile {
  reference::RefHparams hp;
  std::map<std::string, reference::RefTensor, std::less<>> tensors;
  reference::RefModel model() const;
};
RefFile load_reference(const gguf::GgufFile& file);

}  // namespace mixcl::scheduler::test
