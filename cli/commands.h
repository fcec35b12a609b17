#pragma once
// Each subcommand of the mixcl binary registers itself on the app through one of these functions.
#include <CLI/CLI.hpp>

namespace mixcl::cli {

void add_devices_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_profile_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_tune_command(CLI::App& app);

}  // namespace mixcl::cli
