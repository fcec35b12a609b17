// `mixcl run`: generates text from a prompt (or an interactive chat with --chat), streaming it to stdout, then
// prints prompt and generation speed, time to first token and memory per device on stderr.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "cli/commands.h"
#include "cli/generator.h"
#include "cli/model_loader.h"
#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/sampler/sampler.h"
#include "model/tokenizer/chat_template.h"
#include "model/tokenizer/gguf_tokenizer.h"

namespace mixcl::cli {
namespace {

struct RunFlags {
  ModelFlags model;
  std::string prompt;
  bool prompt_given = false;
  int n_predict = 128;
  sampler::SamplerParams sampling;
  std::optional<uint64_t> seed;
  bool chat = false;
  std::string system;
};

void print_piece(std::string_view piece) {
  std::fwrite(piece.data(), 1, piece.size(), stdout);
  std::fflush(stdout);
}

// Generates one reply; on an error (a full context) the streamed line is ended before the message.
Reply generate_line(Generator& gen, std::span<const int32_t> prompt, int n_predict) {
  try {
    Reply r = gen.generate(prompt, n_predict, print_piece);
    print_piece("\n");
    return r;
  } catch (const Error&) {
    print_piece("\n");
    throw;
  }
}

void print_stats(const GenerationStats& s, const LoadedModel& m, uint64_t seed) {
  const auto rate = [](double n, double secs) { return secs > 0 ? n / secs : 0.0; };
  fmt::print(stderr, "mixcl: load: {:.2f} s on {}\n", m.load_seconds, m.devices.describe());
  fmt::print(stderr, "mixcl: prompt: {} tokens in {:.3f} s ({:.2f} tokens/s)\n", s.prompt_tokens, s.prompt_seconds,
             rate(s.prompt_tokens, s.prompt_seconds));
  fmt::print(stderr, "mixcl: generation: {} tokens, {} decode steps in {:.3f} s ({:.2f} tokens/s)\n", s.generated,
             s.decode_steps, s.decode_seconds, rate(s.decode_steps, s.decode_seconds));
  if (s.first_token_seconds >= 0)
    fmt::print(stderr, "mixcl: time to first token: {:.3f} s\n", s.first_token_seconds);
  fmt::print(stderr, "mixcl: seed {}\n", seed);
  print_memory_report(*m.executor);
}

// One prompt, one completion.
void run_once(const RunFlags& f, LoadedModel& m, const tokenizer::Tokenizer& tok, sampler::Sampler& sampler,
              const tokenizer::ChatTemplate& tmpl, const std::vector<int32_t>& prompt, uint64_t seed) {
  Generator gen(*m.executor, tok, sampler, tmpl.stop_ids());
  generate_line(gen, prompt, f.n_predict);
  print_stats(gen.stats(), m, seed);
}

// An interactive conversation: one user message per stdin line, the KV cache kept across turns.
void run_chat(const RunFlags& f, LoadedModel& m, const tokenizer::Tokenizer& tok, sampler::Sampler& sampler,
              const tokenizer::ChatTemplate& tmpl, uint64_t seed) {
  spdlog::info("chat template: {} ({}); one message per line, end with Ctrl-D", tmpl.name(), tmpl.reason());
  Generator gen(*m.executor, tok, sampler, tmpl.stop_ids());
  std::vector<tokenizer::ChatMessage> history;
  if (!f.system.empty()) history.push_back({"system", f.system});
  const bool tty = isatty(fileno(stdin)) != 0;
  bool first = true, closed = true;
  std::optional<std::string> pending = f.prompt_given ? std::optional(f.prompt) : std::nullopt;
  while (true) {
    std::string line;
    if (pending) {
      line = *pending;
      pending.reset();
    } else {
      if (tty) fmt::print(stderr, "> ");
      if (!std::getline(std::cin, line)) break;
    }
    if (line.empty()) continue;
    const std::string before = tmpl.format(history, false);
    history.push_back({"user", line});
    const std::string text = tmpl.format(history, true);
    if (text.compare(0, before.size(), before) != 0)
      fail("chat template {}: the conversation text is not an extension of the previous turn", tmpl.name());
    // A reply cut by -n is closed here; one ended by its stop token was closed by that token.
    std::string delta = closed ? "" : tmpl.assistant_end();
    delta += text.substr(before.size());
    const std::vector<int32_t> ids = tokenizer::encode_prompt(tok, delta, first);
    first = false;
    const Reply reply = generate_line(gen, ids, f.n_predict);
    closed = reply.stopped;
    history.push_back({"assistant", reply.text});
  }
  print_stats(gen.stats(), m, seed);
}

void run(const RunFlags& f) {
  if (f.n_predict < -1) fail("-n {}: expected a token count, or -1 for as many as the context holds", f.n_predict);
  if (!f.chat && (!f.prompt_given || f.prompt.empty()))
    fail("empty prompt: give the text to continue with -p \"...\" (or use --chat)");
  std::unique_ptr<gguf::GgufFile> file = open_deepseek2(f.model.model);
  const arch::Deepseek2Config config = arch::from_gguf(*file);
  const tokenizer::Tokenizer tok(tokenizer::tokenizer_data_from_gguf(*file));
  const tokenizer::ChatTemplate tmpl = tokenizer::ChatTemplate::detect(tok.data());

  std::vector<int32_t> prompt;
  if (!f.chat) {
    prompt = tokenizer::encode_prompt(tok, f.prompt, true);
    if (prompt.empty()) fail("empty prompt: -p gave no tokens");
  }
  uint32_t context = f.model.context;
  if (context == 0) {
    // Enough for the prompt and -n (at least 4096), within what the model was trained for.
    const uint64_t want = prompt.size() + static_cast<uint64_t>(std::max(f.n_predict, 0));
    context = static_cast<uint32_t>(std::min<uint64_t>(config.context_length, std::max<uint64_t>(4096, want)));
  }
  if (context > config.context_length)
    spdlog::warn("-c {} is more than the {} positions the model was trained for", context, config.context_length);
  if (!f.chat && prompt.size() > context)
    fail("context full: the prompt has {} tokens but the context holds {} (-c); raise -c", prompt.size(), context);

  sampler::SamplerParams sp = f.sampling;
  sp.seed = f.seed ? *f.seed : std::random_device{}();
  sampler::Sampler sampler(sp);
  LoadedModel m = load_model(std::move(file), f.model, context);
  if (f.chat) run_chat(f, m, tok, sampler, tmpl, sp.seed);
  else run_once(f, m, tok, sampler, tmpl, prompt, sp.seed);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto f = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand("run", "Generate text with a deepseek2 model (or chat with --chat)");
  add_model_flags(cmd, f->model);
  cmd->add_option_function<std::string>("-p,--prompt", [f](const std::string& p) {
    f->prompt = p;
    f->prompt_given = true;
  }, "Prompt text (with --chat: the first user message)");
  cmd->add_option("-n,--n-predict", f->n_predict, "Tokens to generate (-1: until a stop token or a full context)")
      ->capture_default_str();
  cmd->add_option("--temp", f->sampling.temperature, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", f->sampling.top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", f->sampling.top_p, "Nucleus: smallest set with this probability; 1 = off")
      ->capture_default_str();
  cmd->add_option("--min-p", f->sampling.min_p, "Drop tokens below min-p x the top probability; 0 = off")
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", f->sampling.repeat_penalty, "Penalty on recent tokens; 1 = off")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", f->sampling.repeat_last_n, "Tokens the penalty looks back; -1 = all")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Sampling seed (default: random, printed at the end)");
  cmd->add_flag("--chat", f->chat, "Interactive chat on stdin with the model's chat template");
  cmd->add_option("--system", f->system, "System message for --chat");
  cmd->callback([f] { run(*f); });
}

}  // namespace mixcl::cli
