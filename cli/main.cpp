// The mixcl command: parses flags, runs one subcommand, turns library errors into one clear message.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"

int main(int argc, char** argv) {
  CLI::App app{"mixcl: run DeepSeek-family Mixture-of-Experts models on mixed OpenCL and host hardware"};
  app.set_version_flag("--version", std::string("mixcl ") + MIXCL_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log details to stderr");
  app.parse_complete_callback([&] { spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info); });
  spdlog::set_default_logger(spdlog::stderr_color_mt("mixcl"));  // stdout stays clean for --json output
  spdlog::set_pattern("mixcl: %^%l%$: %v");

  mixcl::cli::add_devices_command(app);
  mixcl::cli::add_inspect_command(app);
  mixcl::cli::add_synth_command(app);
  mixcl::cli::add_profile_command(app);
  mixcl::cli::add_bench_command(app);
  mixcl::cli::add_plan_command(app);
  mixcl::cli::add_run_command(app);
  mixcl::cli::add_eval_command(app);
  mixcl::cli::add_tune_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const mixcl::Error& e) {
    std::cerr << "mixcl: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mixcl: internal error: " << e.what() << "\n";
    return 2;
  }
  return EXIT_SUCCESS;
}
