#pragma once
// Shared by the CLI tests: a tiny synthetic deepseek2 model written once per process into a temp folder, the
// mixcl binary run with captured stdout/stderr (tests/support/command.h), and the same model run in-process
// through the Executor.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "backend/host/host_device.h"
#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "model/synth/synth_model.h"
#include "model/tokenizer/gguf_tokenizer.h"
#include "model/tokenizer/tokenizer.h"
#include "scheduler/executor.h"
#include "tests/support/command.h"
#include "tests/support/temp_dir.h"

namespace mixcl::cli::test {

namespace fs = std::filesystem;
using ::mixcl::test::CliResult;
using ::mixcl::test::TempDir;
using ::mixcl::test::run_mixcl_io;
using ::mixcl::test::shell_quote;

/// Host threads used by the binary and the in-process executor alike (same reduction order; one thread keeps
/// the tests quick on a loaded machine, where OpenMP teams wait on each other).
inline constexpr int kThreads = 1;

/// The tiny-v3 model of this test process (written on first use).
struct TinyModel {
  TempDir dir{"model"};
  fs::path path = dir / "tiny-v3.gguf";
  arch::Deepseek2Config config;
  TinyModel() {
    synth::SynthOptions o;
    o.config = arch::geometry("tiny-v3");
    o.seed = 7;
    config = synth::write_synth_model(path, o).config;
  }
};

inline const TinyModel& tiny_model() {
  static const TinyModel model;
  return model;
}

/// The whole file as bytes.
inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// "1,2,3".
inline std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

/// The little-endian float32 file as floats.
inline std::vector<float> read_floats(const fs::path& p) {
  const std::string bytes = read_file(p);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

/// The model's tokenizer.
inline tokenizer::Tokenizer tiny_tokenizer() {
  const auto file = gguf::GgufFile::open(tiny_model().path);
  return tokenizer::Tokenizer(tokenizer::tokenizer_data_from_gguf(file));
}

/// The executor's own result for `tokens` on the host (all logits and routes).
inline scheduler::ForwardResult forward_in_process(const std::vector<int32_t>& tokens) {
  const auto file = gguf::GgufFile::open(tiny_model().path);
  backend::HostOptions ho;
  ho.threads = kThreads;
  backend::HostDevice host(ho);
  scheduler::ExecutorOptions o;
  o.context = static_cast<uint32_t>(tokens.size());
  scheduler::Executor ex(file, {&host}, o);
  scheduler::ForwardRequest req;
  req.all_logits = true;
  req.routes = true;
  return ex.forward(tokens, req);
}

}  // namespace mixcl::cli::test
