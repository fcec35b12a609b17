// `mixcl plan -m model.gguf --profile P [-c N] [-b N] [--json]` or `mixcl plan --geometry v3 --types Q4_K_M
// --profile P`: where every tensor and step of a model goes under a hardware profile, memory per place, and
// the predicted decode and prefill speed. Reads metadata only.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <string>

#include "cli/commands.h"
#include "common/error.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/plan.h"
#include "scheduler/profile.h"

namespace mixcl::cli {

void add_plan_command(CLI::App& app) {
  struct Options {
    std::string model, geometry, types = "Q4_K_M", profile;
    uint32_t context = 4096, batch = 512, position = 0;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("plan", "Plan a model on a hardware profile: placement, memory, predicted speed");
  cmd->add_option("-m,--model", opts->model, "GGUF model (header only is read)");
  cmd->add_option("--geometry", opts->geometry, "Plan a named geometry instead of a file (v3, v2-lite, tiny-v3, ...)");
  cmd->add_option("--types", opts->types,
                  fmt::format("Weight-type mix of --geometry: {}", fmt::join(scheduler::type_mix_names(), ", ")))
      ->capture_default_str();
  cmd->add_option("--profile", opts->profile, "Profile name (cpu, templates/...) or YAML path")->required();
  cmd->add_option("-c,--context", opts->context, "KV cache positions")->capture_default_str();
  cmd->add_option("-b,--batch", opts->batch, "Prefill batch (tokens per forward step)")->capture_default_str();
  cmd->add_option("--position", opts->position, "Cached positions a decode token attends to (default: context / 2)");
  cmd->add_flag("--json", opts->json, "Print the whole plan as JSON");
  cmd->callback([opts] {
    if (opts->model.empty() == opts->geometry.empty())
      fail("plan: give a model file (-m model.gguf) or a geometry (--geometry v3 --types Q4_K_M), not both");
    const scheduler::Profile profile = scheduler::load_profile(scheduler::find_profile(opts->profile));
    scheduler::PlanOptions po;
    po.context = opts->context;
    po.batch = opts->batch;
    po.decode_position = opts->position;
    scheduler::ModelInfo model;
    if (!opts->model.empty()) {
      const gguf::GgufFile file = gguf::GgufFile::open(opts->model);
      model = scheduler::model_info(file);
    } else {
      model = scheduler::model_info(opts->geometry, opts->types);
    }
    const scheduler::Plan plan = scheduler::make_plan(model, profile, po);
    std::cout << (opts->json ? scheduler::plan_json(plan) + "\n" : scheduler::format_plan(plan));
  });
}

}  // namespace mixcl::cli
