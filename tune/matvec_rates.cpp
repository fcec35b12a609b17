#include "tune/matvec_rates.h"

#include <spdlog/spdlog.h>

namespace mixcl::tune {
namespace {

// A decode matmul target's weight format, or nothing for other targets.
bool decode_format(const TuneTarget& t, DType* type) {
  if (t.op != "matmul" || !t.key.ends_with(".decode") || t.cases.empty()) return false;
  *type = t.cases.front().type;
  return true;
}

}  // namespace

std::map<DType, double> matvec_gbps_from(const std::vector<TargetResult>& results, double min_gain) {
  std::map<DType, double> out;
  for (const auto& r : results) {
    DType type{};
    if (!decode_format(r.target, &type)) continue;
    const CandidateResult* w = r.winner(min_gain);
    const CandidateResult* used = w ? w : r.baseline();
    if (used && used->gbps() > 0) out[type] = used->gbps();
  }
  return out;
}

std::map<DType, double> measure_matvec_gbps(backend::Device& dev, const std::vector<TuneTarget>& decode_targets,
                                            const bench::DeviceFigures& figures,
                                            const bench::KernelBenchOptions& options) {
  std::map<DType, double> out;
  for (const auto& t : decode_targets) {
    DType type{};
    if (!decode_format(t, &type)) continue;
    double time_us = 0, bytes = 0;
    bool ok = true;
    for (const auto& c : t.cases) {
      const bench::Row row = bench::run_kernel_case(dev, c, figures, options);
      if (row["check"].get<std::string>() != "ok") {
        spdlog::warn("tune {}: {} {} failed its check; its matvec rate is not written", dev.name(), c.shape(),
                     c.type_label());
        ok = false;
        break;
      }
      time_us += row["time_us"].get<double>();
      bytes += static_cast<double>(row["bytes"].get<uint64_t>());
    }
    if (ok && time_us > 0) out[type] = bytes / time_us / 1e3;
  }
  return out;
}

}  // namespace mixcl::tune
