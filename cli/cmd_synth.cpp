// `mixcl synth`: writes a synthetic deepseek2 GGUF model (random weights, tiny real tokenizer) of a named
// geometry, streaming tensor by tensor with a progress display; Ctrl-C leaves no file behind.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/synth/synth_model.h"

namespace mixcl::cli {
namespace {

// Set by the SIGINT handler, polled by the tensor fill callbacks (a lock-free atomic is signal-safe).
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_sigint(int) { g_interrupted.store(true); }

// Installs on_sigint for its lifetime and restores the previous handler afterwards.
class SigintGuard {
 public:
  SigintGuard() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~SigintGuard() { sigaction(SIGINT, &old_, nullptr); }
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

 private:
  struct sigaction old_ {};
};

// A one-line bar redrawn in place on a terminal; a line every few seconds otherwise (logs, pipes).
class ProgressDisplay {
 public:
  ProgressDisplay() : tty_(isatty(fileno(stderr)) != 0), start_(Clock::now()), last_(start_) {}

  void update(uint64_t done, uint64_t total) {
    const auto now = Clock::now();
    const bool final = done == total;
    if (!final && now - last_ < (tty_ ? std::chrono::milliseconds(200) : std::chrono::seconds(5))) return;
    last_ = now;
    const double secs = std::max(1e-3, std::chrono::duration<double>(now - start_).count());
    const double mbps = done / 1e6 / secs;
    const double frac = total ? static_cast<double>(done) / total : 1.0;
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(frac * kWidth);
      const double eta = mbps > 0 ? (total - done) / 1e6 / mbps : 0.0;
      fmt::print(stderr, "\r[{}{}] {:5.1f}%  {:.2f}/{:.2f} GB  {:7.1f} MB/s  ETA {:4.0f} s ",
                 std::string(filled, '#'), std::string(kWidth - filled, '.'), 100 * frac, done / 1e9, total / 1e9,
                 mbps, eta);
      if (final) fmt::print(stderr, "\n");
    } else {
      fmt::print(stderr, "synth: {:5.1f}% ({:.2f} of {:.2f} GB, {:.1f} MB/s)\n", 100 * frac, done / 1e9,
                 total / 1e9, mbps);
    }
    std::fflush(stderr);
  }

  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  bool tty_;
  Clock::time_point start_, last_;
};

// Everything the flags set, applied to the geometry before writing.
struct SynthFlags {
  std::string geometry;
  std::string output;
  bool list = false;
  std::optional<uint32_t> layers, experts;
  uint64_t seed = 1;
  std::string type_experts, type_attn, type_shared, type_dense, type_embd, type_output, type_norm;
  std::string mla;
  bool no_q_lora = false;
  std::string gating;
  bool no_router_bias = false;
  std::string groups;
  bool tied_output = false;
  size_t merges = 250;
};

DType parse_type(const std::string& name, const char* flag) {
  auto t = dtype_from_name(name);
  if (!t) fail("{} {}: unknown weight type (examples: Q4_K, Q5_K, Q6_K, Q8_0, Q4_0, IQ4_NL, F16, F32)", flag, name);
  return *t;
}

synth::SynthOptions options_from(const SynthFlags& f) {
  synth::SynthOptions o;
  arch::Deepseek2Config& c = o.config;
  c = arch::geometry(f.geometry);
  if (f.layers) {
    if (*f.layers == 0) fail("--layers must be at least 1");
    c.n_layer = *f.layers;
    c.n_dense = std::min(c.n_dense, c.n_layer);
  }
  if (f.experts) c.n_expert = *f.experts;
  if (!f.mla.empty()) {
    if (f.mla != "split" && f.mla != "legacy") fail("--mla {}: expected 'split' or 'legacy'", f.mla);
    c.mla = f.mla == "split" ? arch::MlaLayout::kSplit : arch::MlaLayout::kLegacy;
  }
  if (f.no_q_lora) c.q_lora_rank = 0;
  if (!f.gating.empty()) {
    if (f.gating == "softmax") c.gating = arch::GatingFunc::kSoftmax;
    else if (f.gating == "sigmoid") c.gating = arch::GatingFunc::kSigmoid;
    else if (f.gating == "sqrt-softplus") c.gating = arch::GatingFunc::kSqrtSoftplus;
    else fail("--gating {}: expected softmax, sigmoid or sqrt-softplus", f.gating);
    c.router_bias = c.gating != arch::GatingFunc::kSoftmax;  // V3-style routers carry the selection bias
  }
  if (f.no_router_bias) c.router_bias = false;
  if (!f.groups.empty()) {
    unsigned g = 0, gk = 0;
    char extra = 0;
    if (std::sscanf(f.groups.c_str(), "%u/%u%c", &g, &gk, &extra) != 2)
      fail("--groups {}: expected G/Gk, e.g. 8/4", f.groups);
    c.n_group = g, c.n_group_used = gk;
  }
  c.tied_output = f.tied_output;
  o.seed = f.seed;
  o.tokenizer_merges = f.merges;
  const auto set = [](DType& dst, const std::string& v, const char* flag) {
    if (!v.empty()) dst = parse_type(v, flag);
  };
  set(o.types.routed_experts, f.type_experts, "--type-experts");
  set(o.types.attention, f.type_attn, "--type-attn");
  set(o.types.shared_experts, f.type_shared, "--type-shared");
  set(o.types.dense_ffn, f.type_dense, "--type-dense");
  set(o.types.embedding, f.type_embd, "--type-embd");
  set(o.types.output, f.type_output, "--type-output");
  set(o.types.norm, f.type_norm, "--type-norm");
  return o;
}

void run_synth(const SynthFlags& f) {
  if (f.list) {
    for (auto name : arch::geometry_names()) fmt::print("{:20} {}\n", name, arch::geometry_description(name));
    return;
  }
  if (f.geometry.empty()) fail("--geometry is required (see --list for the names)");
  if (f.output.empty()) fail("-o/--output is required");
  synth::SynthOptions options = options_from(f);
  options.cancel = &g_interrupted;
  options.slab_bytes = 16ull << 20;  // smaller slabs: smoother progress while K-quants encode slowly
  SigintGuard guard;
  ProgressDisplay progress;
  const synth::SynthResult r = synth::write_synth_model(
      f.output, options, [&](uint64_t done, uint64_t total) { progress.update(done, total); });
  const double secs = progress.seconds();
  const arch::ParamCounts active = arch::active_params(r.config);
  fmt::print("wrote {}: deepseek2 '{}' with {} layers ({} dense), {} experts, vocab {}\n", f.output,
             r.config.name, r.config.n_layer, r.config.n_dense, r.config.n_expert, r.config.n_vocab);
  fmt::print("  {} tensors, {} parameters ({:.3f} B; {:.3f} B active per token), {} ({} bytes)\n", r.n_tensors,
             r.n_params, r.n_params / 1e9, active.total() / 1e9, format_bytes(r.file_bytes), r.file_bytes);
  fmt::print("  written in {:.1f} s ({:.1f} MB/s)\n", secs, r.file_bytes / 1e6 / std::max(secs, 1e-3));
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto flags = std::make_shared<SynthFlags>();
  auto* cmd = app.add_subcommand("synth", "Write a synthetic deepseek2 GGUF model with random weights");
  cmd->add_option("--geometry", flags->geometry, "Named geometry (v2-lite, v3, tiny-v3, ...; see --list)");
  cmd->add_flag("--list", flags->list, "List the geometries and exit");
  cmd->add_option("-o,--output", flags->output, "Output GGUF path");
  cmd->add_option("--layers", flags->layers, "Number of blocks (dense blocks are capped at this)");
  cmd->add_option("--experts", flags->experts, "Number of routed experts X");
  cmd->add_option("--seed", flags->seed, "Random seed of the weights")->capture_default_str();
  cmd->add_option("--type-experts", flags->type_experts, "Routed-expert weight type (default Q4_K)");
  cmd->add_option("--type-attn", flags->type_attn, "Attention weight type (default Q8_0)");
  cmd->add_option("--type-shared", flags->type_shared, "Shared-expert weight type (default Q8_0)");
  cmd->add_option("--type-dense", flags->type_dense, "Dense-FFN weight type (default Q8_0)");
  cmd->add_option("--type-embd", flags->type_embd, "Token-embedding type (default Q4_K)");
  cmd->add_option("--type-output", flags->type_output, "Output-head type (default Q6_K)");
  cmd->add_option("--type-norm", flags->type_norm, "Norm/router type: F32, F16 or BF16 (default F32)");
  cmd->add_option("--mla", flags->mla, "MLA layout: split (attn_k_b/attn_v_b) or legacy (attn_kv_b)");
  cmd->add_flag("--no-q-lora", flags->no_q_lora, "Store attn_q instead of the q-LoRA pair");
  cmd->add_option("--gating", flags->gating, "Router: softmax, sigmoid or sqrt-softplus (non-softmax adds a bias)");
  cmd->add_flag("--no-router-bias", flags->no_router_bias, "Leave out exp_probs_b.bias");
  cmd->add_option("--groups", flags->groups, "Group-limited routing G/Gk, e.g. 8/4");
  cmd->add_flag("--tied-output", flags->tied_output, "Leave out output.weight (the head is token_embd)");
  cmd->add_option("--merges", flags->merges, "BPE merges learned for the tokenizer")->capture_default_str();
  cmd->callback([flags] { run_synth(*flags); });
}

}  // namespace mixcl::cli
