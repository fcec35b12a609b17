// `mixcl eval`: runs a token sequence through the model and writes the float32 logits of every position (and
// optionally the routed experts of every MoE layer), for comparing mixcl with other engines.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/model_loader.h"
#include "common/error.h"
#include "model/arch/deepseek2_config.h"

namespace mixcl::cli {
namespace {

struct EvalFlags {
  ModelFlags model;
  std::string tokens;
  std::string tokens_file;
  std::string logits_out;
  std::string routes_out;
};

// Token ids separated by commas and/or whitespace; `where` names the source in messages.
std::vector<int32_t> parse_tokens(const std::string& text, const std::string& where) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  const auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (pos < text.size()) {
    if (is_sep(text[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && !is_sep(text[end])) ++end;
    int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + end, v);
    if (ec != std::errc() || ptr != text.data() + end || v < 0 || v > INT32_MAX)
      fail("{}: '{}' (token {}, byte {}) is not a token id (a non-negative integer)", where,
           text.substr(pos, end - pos), ids.size(), pos);
    ids.push_back(static_cast<int32_t>(v));
    pos = end;
  }
  return ids;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--tokens-file {}: cannot open it: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `bytes` to `path` through path.tmp + rename, so an error never leaves a half-written file.
void write_atomically(const std::string& path, const void* data, size_t bytes, const char* flag) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("{} {}: cannot create {}: {}", flag, path, tmp, std::strerror(errno));
  const bool ok = std::fwrite(data, 1, bytes, f) == bytes;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    fail("{} {}: writing {} bytes failed: {}", flag, path, bytes, std::strerror(err));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail("{} {}: cannot rename {} into place: {}", flag, path, tmp, ec.message());
  }
}

nlohmann::json routes_json(const scheduler::ForwardResult& r, const arch::Deepseek2Config& c,
                           const std::vector<int32_t>& tokens) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < r.routes.size(); ++i)
    layers.push_back({{"layer", c.n_dense + i}, {"experts", r.routes[i]}});
  return {{"n_tokens", tokens.size()}, {"n_expert", c.n_expert}, {"n_expert_used", c.n_expert_used},
          {"tokens", tokens}, {"layers", std::move(layers)}};
}

void eval(const EvalFlags& f) {
  if (f.tokens.empty() == f.tokens_file.empty()) fail("give the tokens with exactly one of --tokens or --tokens-file");
  if (f.logits_out.empty() && f.routes_out.empty())
    fail("nothing to write: give --logits-out FILE and/or --routes-out FILE");
  const std::vector<int32_t> tokens = f.tokens.empty() ? parse_tokens(read_text_file(f.tokens_file), f.tokens_file)
                                                       : parse_tokens(f.tokens, "--tokens");
  if (tokens.empty()) fail("empty prompt: no token ids in {}", f.tokens.empty() ? f.tokens_file : "--tokens");
  std::unique_ptr<gguf::GgufFile> file = open_deepseek2(f.model.model);
  const arch::Deepseek2Config config = arch::from_gguf(*file);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (static_cast<uint32_t>(tokens[i]) >= config.n_vocab)
      fail("token {} at position {} is out of range: the model's vocabulary has ids 0..{}", tokens[i], i,
           config.n_vocab - 1);
  const uint32_t context = f.model.context ? f.model.context : static_cast<uint32_t>(tokens.size());
  if (tokens.size() > context)
    fail("context full: {} tokens do not fit a context of {} (-c); raise -c", tokens.size(), context);

  LoadedModel m = load_model(std::move(file), f.model, context);
  const auto t0 = std::chrono::steady_clock::now();
  scheduler::ForwardRequest request;
  request.all_logits = true;
  request.routes = !f.routes_out.empty();
  scheduler::ForwardResult r = m.executor->forward(tokens, request);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const size_t want = tokens.size() * config.n_vocab;
  if (r.logits.size() != want)
    fail("the forward pass returned {} logits, expected {} tokens x {} vocabulary", r.logits.size(), tokens.size(),
         config.n_vocab);
  if (!f.logits_out.empty()) {
    if constexpr (std::endian::native == std::endian::big) {  // the file is little-endian everywhere
      for (float& v : r.logits) v = std::bit_cast<float>(__builtin_bswap32(std::bit_cast<uint32_t>(v)));
    }
    write_atomically(f.logits_out, r.logits.data(), r.logits.size() * sizeof(float), "--logits-out");
  }
  if (!f.routes_out.empty()) {
    const std::string text = routes_json(r, config, tokens).dump() + "\n";
    write_atomically(f.routes_out, text.data(), text.size(), "--routes-out");
  }
  fmt::print(stderr, "mixcl: eval: {} tokens x {} vocabulary in {:.3f} s ({:.2f} tokens/s) on {}\n", tokens.size(),
             config.n_vocab, secs, secs > 0 ? tokens.size() / secs : 0.0, m.devices.describe());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  auto* cmd = app.add_subcommand("eval", "Run token ids through a model; write every position's logits and routes");
  add_model_flags(cmd, f->model);
  cmd->add_option("--tokens", f->tokens, "Token ids, comma-separated: 1,2,3");
  cmd->add_option("--tokens-file", f->tokens_file, "File of token ids separated by commas or whitespace");
  cmd->add_option("--logits-out", f->logits_out,
                  "Output: float32 little-endian logits, row-major [n_tokens][n_vocab]");
  cmd->add_option("--routes-out", f->routes_out,
                  "Output: JSON with the chosen expert ids per MoE layer (real layer index) and position");
  cmd->callback([f] { eval(*f); });
}

}  // namespace mixcl::cli
