#pragma once
// Shared by the CLI tests: a tiny synthetic deepseek2 model written once per process into a temp folder, the
// mixcl binary run with captured stdout/stderr, and the same model run in-process through the Executor.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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

namespace mixcl::cli::test {

namespace fs = std::filesystem;

/// Host threads used by the binary and the in-process executor alike (same reduction order; one thread keeps
/// the tests quick on a loaded machine, where OpenMP teams wait on each other).
inline constexpr int kThreads = 1;

/// A temp folder removed with its contents when the object dies.
class TempFolder {
 public:
  explicit TempFolder(const std::string& tag) {
    path_ = fs::temp_directory_path() / ("mixcl_cli_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

/// The tiny-v3 model of this test process (written on first use).
struct TinyModel {
  TempFolder dir{"model"};
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

/// Exit status and captured output of one run of the binary.
struct CliResult {
  int status = -1;
  std::string out, err;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Runs `mixcl <args>` (args are passed through the shell: quote them) with stdin from `stdin_text`.
inline CliResult run_cli(const std::string& args, const std::string& stdin_text = "") {
  static int counter = 0;
  const TempFolder io("io" + std::to_string(counter++));
  {
    std::ofstream in(io / "stdin", std::ios::binary);
    in << stdin_text;
  }
  const std::string cmd = std::string(MIXCL_BINARY) + " " + args + " <" + (io / "stdin").string() + " >" +
                          (io / "stdout").string() + " 2>" + (io / "stderr").string();
  const int st = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(io / "stdout");
  r.err = read_file(io / "stderr");
  return r;
}

/// Single-quotes `s` for the shell.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
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
