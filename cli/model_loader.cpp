#include "cli/model_loader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "cli/progress_bar.h"
#include "common/error.h"
#include "backend/registry.h"
#include "model/arch/deepseek2_config.h"
#include "scheduler/profile_match.h"
#include "scheduler/profile_session.h"

namespace mixcl::cli {

void add_model_flags(CLI::App* cmd, ModelFlags& flags) {
  cmd->add_option("-m,--model", flags.model, "Model file (deepseek2 GGUF; the first shard of a split model)")
      ->required();
  cmd->add_option("-c,--context", flags.context, "KV cache size in tokens");
  cmd->add_option("-b,--batch", flags.batch, "Most tokens per forward step (longer prompts are split)")
      ->capture_default_str();
  cmd->add_option("--kv-type", flags.kv_type, "KV cache type: f16 (default) or f32");
  cmd->add_option("--weight-memory", flags.weight_memory,
                  "Host weights: mapped (in place in the file) or huge_pages (copied into 2 MiB pages; faster "
                  "decode); default: the profile's, else mapped");
  add_device_flags(cmd, flags.devices);
}

std::unique_ptr<gguf::GgufFile> open_deepseek2(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("model file '{}' not found (-m)", path);
  if (std::filesystem::is_directory(path, ec)) fail("-m {}: is a folder; give the .gguf file", path);
  auto file = std::make_unique<gguf::GgufFile>(gguf::GgufFile::open(path));
  const std::string& arch = file->architecture();
  if (arch != "deepseek2")
    fail("{}: general.architecture is '{}'; mixcl runs only 'deepseek2' models (DeepSeek V2/V3/R1, Kimi-K2, "
         "Moonlight)",
         path, arch.empty() ? "(missing)" : arch);
  return file;
}

LoadedModel load_model(std::unique_ptr<gguf::GgufFile> file, const ModelFlags& flags, uint32_t context) {
  LoadedModel m;
  m.file = std::move(file);
  if (flags.batch == 0) fail("-b 0: the batch must hold at least one token");
  scheduler::ExecutorOptions options;
  // --profile without --device: the profile's devices, budgets and the planner's placement.
  const bool planned = !flags.devices.profile.empty() && flags.devices.device == "host";
  if (planned) {
    const scheduler::Profile profile = scheduler::load_profile(scheduler::find_profile(flags.devices.profile));
    backend::DiscoveryOptions dopt;
    dopt.host = scheduler::host_options(profile.host, dopt.host);
    if (flags.devices.threads > 0) dopt.host.threads = flags.devices.threads;
    dopt.opencl = !profile.devices.empty();
    m.devices.owned = backend::discover_devices(dopt);
    std::vector<backend::Device*> all;
    for (auto& d : m.devices.owned) all.push_back(d.get());
    scheduler::ProfileSession session =
        scheduler::make_profile_session(*m.file, profile, all, context, flags.batch);
    for (const std::string& note : session.notes) spdlog::warn("profile {}: {}", profile.name, note);
    spdlog::info("profile {}: planned decode {:.1f} tokens/s ({})", profile.name, session.plan.decode.tokens_per_s,
                 session.plan.decode.bottleneck);
    m.devices.used = session.devices;
    m.devices.kv_type = session.options.kv_type;
    options = session.options;
  } else {
    if (flags.devices.threads < 0) fail("--threads {}: must be 0 (all) or more", flags.devices.threads);
    m.devices = select_devices(flags.devices);
    options.context = context;
  }
  options.batch = flags.batch;
  if (flags.kv_type == "f16" || flags.kv_type == "F16") options.kv_type = DType::F16;
  else if (flags.kv_type == "f32" || flags.kv_type == "F32") options.kv_type = DType::F32;
  else if (!flags.kv_type.empty()) fail("--kv-type {}: expected f16 or f32", flags.kv_type);
  else if (m.devices.kv_type) options.kv_type = *m.devices.kv_type;
  if (!planned) options.placement = m.devices.placement(arch::from_gguf(*m.file).n_layer);
  if (!flags.weight_memory.empty() || !planned)
    options.host_weights = scheduler::choose_host_weight_memory(flags.weight_memory, nullptr);
  ProgressBar bar("loading");
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  const auto t0 = std::chrono::steady_clock::now();
  m.executor = std::make_unique<scheduler::Executor>(*m.file, m.devices.used, options);
  bar.finish();
  m.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::debug("loaded {} on {} in {:.2f} s", m.file->path(), m.devices.describe(), m.load_seconds);
  return m;
}

void print_memory_report(const scheduler::Executor& executor) {
  for (const scheduler::DeviceMemoryReport& r : executor.memory_report()) {
    std::string line = fmt::format("mixcl: memory {}: weights {}", r.device, format_bytes(r.weights));
    if (r.mapped) line += fmt::format(" + {} mapped from the file", format_bytes(r.mapped));
    line += fmt::format(", KV cache {}, scratch {}, peak {}", format_bytes(r.kv_cache), format_bytes(r.scratch),
                        format_bytes(r.peak));
    if (r.budget) line += fmt::format(" of {} budget", format_bytes(r.budget));
    fmt::print(stderr, "{}\n", line);
  }
  // Only when some layer has host routed experts beside an accelerator's shared expert (never on the host alone).
  const scheduler::ExecutorStats st = executor.stats();
  if (st.host_expert_steps > 0)
    fmt::print(stderr, "mixcl: host experts: {} of {} steps overlapped with the accelerator's shared expert\n",
               st.overlapped_steps, st.host_expert_steps);
  if (st.streamed_steps > 0)
    fmt::print(stderr, "mixcl: host experts: {} prefill steps streamed to an accelerator and computed there\n",
               st.streamed_steps);
}

}  // namespace mixcl::cli
