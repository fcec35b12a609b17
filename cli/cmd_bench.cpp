// `mixcl bench -m model.gguf`: whole-model prefill/decode throughput (llama-bench's fields), and
// `mixcl bench kernels`: per-op speed as GB/s, GFLOP/s and % of the device's measured bandwidth and compute.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

#include "backend/registry.h"
#include "bench/lib/bench_devices.h"
#include "bench/lib/kernel_bench.h"
#include "bench/lib/kernel_cases.h"
#include "bench/lib/model_bench.h"
#include "bench/lib/report.h"
#include "cli/commands.h"
#include "common/error.h"

namespace mixcl::cli {
namespace {

struct KernelArgs {
  std::vector<std::string> devices{"all"};
  std::vector<std::string> ops{"all"};
  std::vector<std::string> types;
  std::vector<std::string> shapes;
  uint64_t m = 512;
  int reps = 10;
  std::string output = "md";
  bool json = false;
  int threads = 0;
  double rotate_mib = 512;
  double max_seconds = 5;
  bool corrupt = false;
  bool probe = false;
};

struct ModelArgs {
  bench::ModelBenchOptions o;
  std::string output = "md";
  std::string devices;
};

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    size_t start = 0;
    while (start <= item.size()) {
      const size_t comma = item.find(',', start);
      const std::string part = item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

void run_kernels(const KernelArgs& a) {
  const bench::OutputFormat format = a.json ? bench::OutputFormat::kJson : bench::parse_output_format(a.output);
  if (a.reps < 1) fail("bench kernels: -r must be at least 1 (got {})", a.reps);
  if (a.m < 1) fail("bench kernels: -m must be at least 1 (got {})", a.m);
  bench::CaseFilter filter;
  filter.ops = bench::parse_kernel_ops(split_list(a.ops));
  for (const auto& t : split_list(a.types)) {
    const auto type = dtype_from_name(t);
    if (!type) fail("bench kernels: unknown weight format '{}' (e.g. Q4_K, Q8_0, MXFP4, F16)", t);
    filter.types.push_back(*type);
  }
  for (const auto& s : split_list(a.shapes)) filter.shapes.push_back(bench::parse_shape(s));
  filter.prefill_m = a.m;
  const auto cases = bench::kernel_cases(filter);
  if (cases.empty()) fail("bench kernels: no case matches the --op/--type/--shape filters");

  const auto names = split_list(a.devices);
  backend::DiscoveryOptions dopt;
  dopt.host.threads = a.threads;
  dopt.opencl = bench::needs_opencl(names);
  const auto all = backend::discover_devices(dopt);
  const auto devices = bench::select_devices(all, names);

  bench::KernelBenchOptions opt;
  opt.reps = a.reps;
  opt.max_case_seconds = a.max_seconds;
  opt.rotate_bytes = static_cast<uint64_t>(a.rotate_mib * 1024 * 1024);
  opt.corrupt_results = a.corrupt;

  bench::Report report;
  report.columns = bench::kernel_report_columns();
  report.notes.push_back("shape: matrices are weight rows x cols (rows = outputs, cols = the contracted dimension, "
                         "GGUF ne1 x ne0); m = tokens per call; time = median per call.");
  report.notes.push_back("GB/s: bytes a call must move (weights, cache, activations, outputs) / time; GFLOP/s: "
                         "2 flops per multiply-add; % bw and % compute: of the device's measured read bandwidth "
                         "and fp32 peak.");
  const bool progress = isatty(STDERR_FILENO) != 0;
  size_t failed = 0, n_total = 0;
  for (auto* dev : devices) {
    const bench::DeviceFigures fig = bench::device_figures(*dev, a.probe);
    report.notes.push_back(fmt::format("{}: read {:.1f} GB/s, fp32 {:.1f} GFLOP/s, from the probe {}", dev->name(),
                                       fig.read_gbps, fig.fp32_gflops, fig.source));
    std::vector<const bench::KernelCase*> todo;
    for (const auto& c : cases)
      if (bench::device_supports(*dev, c)) todo.push_back(&c);
    for (size_t i = 0; i < todo.size(); ++i) {
      const auto& c = *todo[i];
      if (progress)
        fmt::print(stderr, "[{}/{}] {} {} {} {} m={}\n", i + 1, todo.size(), dev->name(),
                   bench::kernel_op_name(c.op), c.type_label(), c.shape(), c.m);
      bench::Row row = bench::run_kernel_case(*dev, c, fig, opt);
      row["probe_source"] = fig.source;
      ++n_total;
      if (row["check"] != "ok") {
        ++failed;
        spdlog::warn("{} {} {} {}: {}", dev->name(), bench::kernel_op_name(c.op), c.type_label(), c.shape(),
                     row["error"].is_string() ? row["error"].get<std::string>() : "failed");
      }
      report.rows.push_back(std::move(row));
    }
  }
  fmt::print("{}", bench::render(report, format));
  std::fflush(stdout);
  if (failed) fail("bench kernels: {} of {} cases failed their result check or could not run (see 'check' and "
                   "'error'); their speeds are not reported", failed, n_total);
}

void run_model(ModelArgs& a) {
  const bench::OutputFormat format = bench::parse_output_format(a.output);
  if (a.o.model_path.empty()) fail("bench: give a model with -m model.gguf (or run `mixcl bench kernels`)");
  a.o.devices = split_list({a.devices});
  a.o.build = MIXCL_VERSION;
  const bench::Report report = bench::run_model_bench(a.o);
  fmt::print("{}", bench::render(report, format));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  static ModelArgs model;
  static KernelArgs kernels;
  auto* cmd = app.add_subcommand("bench", "Benchmark a model (prefill and decode t/s, llama-bench fields) or, "
                                          "with `kernels`, each op against the device's measured figures");
  cmd->add_option("-m,--model", model.o.model_path, "GGUF model file");
  cmd->add_option("-p,--n-prompt", model.o.n_prompt, "Prompt tokens of the prefill test (0: none)")->capture_default_str();
  cmd->add_option("-n,--n-gen", model.o.n_gen, "Tokens of the decode test (0: none)")->capture_default_str();
  cmd->add_option("-r,--repetitions", model.o.reps, "Repetitions of each test")->capture_default_str();
  cmd->add_option("--device", model.devices, "Devices to run on, comma-separated (default: the profile's, else host)");
  cmd->add_option("--profile", model.o.profile_path, "Hardware profile (YAML): devices, budgets, placement");
  cmd->add_option("-t,--threads", model.o.threads, "Host threads (0: the profile's, else all)");
  cmd->add_option("-b,--batch-size", model.o.batch, "Tokens per forward step")->capture_default_str();
  cmd->add_flag("--probe", model.o.probe,
                "Measure each device's read bandwidth for the decode bound now, under the current load, and again "
                "before every decode repetition, instead of using the cached `mixcl devices --probe` figures");
  cmd->add_option("--weight-memory", model.o.weight_memory,
                  "Host weights: mapped (in place in the file) or huge_pages (copied into 2 MiB pages; faster "
                  "decode); default: the profile's, else mapped");
  cmd->add_option("-o,--output", model.output, "Output format: md, json or csv")->capture_default_str();

  auto* k = cmd->add_subcommand("kernels", "Time each op x weight format x shape on each device: GB/s, GFLOP/s and "
                                           "% of the measured read bandwidth and fp32 peak");
  k->add_option("--device", kernels.devices, "host, cl0.0, ... or all (comma-separated)")->capture_default_str();
  k->add_option("--op", kernels.ops,
                "matmul (= matvec,prefill), matvec, prefill, moe_ffn, mla_attention, rmsnorm, rope, router, all")
      ->capture_default_str();
  k->add_option("--type", kernels.types, "Weight formats, e.g. Q4_K,Q8_0,MXFP4 (default: every one)");
  k->add_option("--shape", kernels.shapes,
                "Matrix shapes ROWSxCOLS of the weight (default: 4096x4096,2048x1408,1408x2048,7168x2048,2048x7168)");
  k->add_option("-m", kernels.m, "Tokens of the prefill cases")->capture_default_str();
  k->add_option("-r,--repetitions", kernels.reps, "Timed samples per case (median reported)")->capture_default_str();
  k->add_option("-o,--output", kernels.output, "Output format: md, json or csv")->capture_default_str();
  k->add_flag("--json", kernels.json, "Same as -o json");
  k->add_option("-t,--threads", kernels.threads, "Host threads (0: all)");
  k->add_option("--rotate-mib", kernels.rotate_mib,
                "Decode ops cycle over copies of their weights totalling this many MiB (beyond the caches; 0: one copy)")
      ->capture_default_str();
  k->add_option("--max-seconds", kernels.max_seconds, "Stop sampling a case after this long (3 samples at least)")
      ->capture_default_str();
  k->add_flag("--probe", kernels.probe,
              "Measure the device figures now, under the current machine load, instead of using the cached ones");
  k->add_flag("--corrupt-results", kernels.corrupt,
              "Testing the check: perturb every first result, so every case must be reported as FAILED");
  cmd->callback([k] {
    if (k->parsed()) {
      run_kernels(kernels);
      return;
    }
    run_model(model);
  });
}

}  // namespace mixcl::cli
