#include "tune/tune_profile.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <map>

#include "common/error.h"
#include "scheduler/profile_match.h"
#include "tune/profile_edit.h"

namespace mixcl::tune {
namespace {

// Numbers as short text that parses back (profiles take plain decimals).
std::string number(double v) { return fmt::format("{:.4g}", v); }

std::string today() {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%d}", now);
}

// Sets (or, when v is 0, leaves alone) one speed key of the map at `path`.
std::string set_speed(std::string text, const std::vector<std::string>& path, const char* key, double v,
                      const std::string& source) {
  if (!(v > 0)) return text;
  return set_yaml_block(text, path, key, {number(v)}, source);
}

// "{Q4_K: 21.3, Q8_0: 26}": a flow map of GB/s per format, as the profile key speeds.matvec_gbps takes it.
std::string matvec_text(const std::map<DType, double>& rates) {
  std::vector<std::string> parts;
  for (const auto& [type, gbps] : rates) parts.push_back(fmt::format("{}: {}", dtype_name(type), number(gbps)));
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

// Writes the measured speeds; matvec_gbps is merged into `old` (the file's rates), so that formats this run
// did not measure keep their figures.
std::string write_speeds(std::string text, const std::vector<std::string>& path, const scheduler::DeviceSpeeds& s,
                         bool host, const std::string& source, const std::map<DType, double>& old) {
  if (!s.matvec_gbps.empty()) {
    std::map<DType, double> merged = old;
    for (const auto& [type, gbps] : s.matvec_gbps)
      if (gbps > 0) merged[type] = gbps;
    text = set_yaml_block(text, path, "matvec_gbps", {matvec_text(merged)}, source);
  }
  text = set_speed(text, path, "read_gbps", s.read_gbps, source);
  text = set_speed(text, path, "fp32_gflops", s.fp32_gflops, source);
  if (!host) {
    text = set_speed(text, path, "h2d_gbps", s.h2d_gbps, source);
    text = set_speed(text, path, "d2h_gbps", s.d2h_gbps, source);
    text = set_speed(text, path, "copy_latency_us", s.copy_latency_us, source);
  }
  return set_speed(text, path, "op_overhead_us", s.op_overhead_us, source);
}

// "812.3 -> 640.1 µs (1.27x)" for a winner against its default.
std::string gain_text(const TargetResult& r, const CandidateResult& w) {
  const CandidateResult* base = r.baseline();
  if (!base || base->status != "ok") return fmt::format("{:.1f} µs (default failed)", w.time_us);
  return fmt::format("{:.1f} -> {:.1f} µs ({:.2f}x)", base->time_us, w.time_us, base->time_us / w.time_us);
}

// Quotes a string for a YAML double-quoted scalar.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string kernel_entry_text(const backend::OpKernelConfig& config) {
  std::vector<std::string> parts;
  if (!config.variant.empty()) parts.push_back("variant: " + config.variant);
  if (!config.macros.empty()) {
    std::vector<std::string> m;
    for (const auto& [k, v] : config.macros) m.push_back(k + ": " + v);
    parts.push_back(fmt::format("macros: {{{}}}", fmt::join(m, ", ")));
  }
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

std::string profile_device_id(const scheduler::Profile& profile, const DeviceTuneOutcome& d,
                              const std::vector<backend::Capabilities>& opencl_caps) {
  for (const auto& pd : profile.devices) {
    if (!scheduler::device_matches(pd.match, d.caps)) continue;
    if (!pd.match.index) return pd.id;
    // With `index:`, the n-th discovered device matching the other fields must be this one.
    int rank = 0;
    for (const auto& c : opencl_caps) {
      if (!scheduler::device_matches(pd.match, c)) continue;
      if (c.name == d.caps.name && rank == *pd.match.index && d.match_index == *pd.match.index) return pd.id;
      ++rank;
    }
  }
  return "";
}

std::string update_profile_text(const std::string& text, const std::string& name, const std::string& source,
                                const std::filesystem::path& base_dir, const std::vector<DeviceTuneOutcome>& outcomes,
                                const std::vector<backend::Capabilities>& opencl_caps, double min_gain) {
  std::string out = text;
  scheduler::Profile existing;
  if (out.find_first_not_of(" \t\r\n") == std::string::npos) {
    out = fmt::format("# Hardware profile written by `mixcl tune` on {} (profiles/README.md, docs/tune.md).\n"
                      "name: {}\n", today(), name);
  } else {
    existing = scheduler::parse_profile(out, source, base_dir);  // a broken input is reported as such
  }
  for (const auto& d : outcomes) {
    if (d.caps.kind == backend::DeviceKind::kHost) {
      if (d.speeds) out = write_speeds(out, {"host", "speeds"}, *d.speeds, true, source, existing.host.speeds.matvec_gbps);
      for (const auto& r : d.results)
        if (r.target.key == "host.threads")
          if (const CandidateResult* w = r.winner(min_gain))
            out = set_yaml_block(out, {"host"}, "threads",
                                 {w->candidate.config.macros.at("threads") + "  # mixcl tune " + today() + ": " +
                                  gain_text(r, *w)},
                                 source);
      continue;
    }
    std::string id = profile_device_id(existing, d, opencl_caps);
    if (id.empty()) {  // a device the profile does not list yet: matched by platform, type and rank
      id = d.name;
      out = set_yaml_block(out, {"devices", id}, "match",
                           {fmt::format("{{platform: {}, type: {}, index: {}}}", quoted(d.caps.platform_name),
                                        d.caps.type, d.match_index)},
                           source);
    }
    if (d.speeds) {
      const scheduler::DeviceProfile* old = existing.device(id);
      out = write_speeds(out, {"devices", id, "speeds"}, *d.speeds, false, source,
                         old ? old->speeds.matvec_gbps : std::map<DType, double>{});
    }
    for (const auto& r : d.results) {
      if (!r.baseline() && !r.best()) continue;  // never measured (stopped before it)
      if (const CandidateResult* w = r.winner(min_gain)) {
        out = set_yaml_block(out, {"devices", id, "kernels"}, r.target.key,
                             {kernel_entry_text(w->candidate.config) + "  # mixcl tune " + today() + ": " +
                              gain_text(r, *w)},
                             source);
      } else if (r.complete) {
        out = remove_yaml_block(out, {"devices", id, "kernels"}, r.target.key, source);  // the default is best
      }
    }
  }
  try {
    scheduler::parse_profile(out, source, base_dir);
  } catch (const Error& e) {
    fail("{}: the updated profile does not load ({}); nothing was written. This is a bug in mixcl tune: please "
         "report it with the original file", source, e.what());
  }
  return out;
}

}  // namespace mixcl::tune
