// A resolved Profile written back as YAML (`mixcl profile show`); parse_profile of the text gives it back.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "scheduler/profile.h"

namespace mixcl::scheduler {
namespace {

// Numbers as their shortest exact text, so they parse back to the same double.
std::string number(double v) { return fmt::format("{}", v); }

void emit_string(YAML::Emitter& out, const std::string& key, const std::string& value) {
  out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
}

void emit_speeds(YAML::Emitter& out, const DeviceSpeeds& s) {
  if (s == DeviceSpeeds{}) return;
  out << YAML::Key << "speeds" << YAML::Value << YAML::BeginMap;
  if (s.read_gbps > 0) out << YAML::Key << "read_gbps" << YAML::Value << number(s.read_gbps);
  if (s.fp32_gflops > 0) out << YAML::Key << "fp32_gflops" << YAML::Value << number(s.fp32_gflops);
  if (s.h2d_gbps > 0) out << YAML::Key << "h2d_gbps" << YAML::Value << number(s.h2d_gbps);
  if (s.d2h_gbps > 0) out << YAML::Key << "d2h_gbps" << YAML::Value << number(s.d2h_gbps);
  if (s.op_overhead_us > 0) out << YAML::Key << "op_overhead_us" << YAML::Value << number(s.op_overhead_us);
  if (s.copy_latency_us > 0) out << YAML::Key << "copy_latency_us" << YAML::Value << number(s.copy_latency_us);
  if (!s.matvec_gbps.empty()) {
    out << YAML::Key << "matvec_gbps" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [type, gbps] : s.matvec_gbps)
      out << YAML::Key << std::string(dtype_name(type)) << YAML::Value << number(gbps);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void emit_device(YAML::Emitter& out, const DeviceProfile& d) {
  out << YAML::Key << d.id << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "match" << YAML::Value << YAML::BeginMap;
  if (!d.match.platform.empty()) emit_string(out, "platform", d.match.platform);
  if (!d.match.vendor.empty()) emit_string(out, "vendor", d.match.vendor);
  if (!d.match.name.empty()) emit_string(out, "name", d.match.name);
  if (!d.match.type.empty()) out << YAML::Key << "type" << YAML::Value << d.match.type;
  if (d.match.index) out << YAML::Key << "index" << YAML::Value << *d.match.index;
  out << YAML::EndMap;
  if (d.memory_budget) out << YAML::Key << "memory_budget" << YAML::Value << format_size(d.memory_budget);
  if (d.unified_memory) out << YAML::Key << "unified_memory" << YAML::Value << "true";
  emit_speeds(out, d.speeds);
  if (!d.kernels.empty()) {
    out << YAML::Key << "kernels" << YAML::Value << YAML::BeginMap;
    for (const auto& [op, k] : d.kernels) {
      out << YAML::Key << op << YAML::Value << YAML::BeginMap;
      if (!k.variant.empty()) out << YAML::Key << "variant" << YAML::Value << k.variant;
      if (!k.macros.empty()) {
        out << YAML::Key << "macros" << YAML::Value << YAML::BeginMap;
        for (const auto& [name, value] : k.macros) emit_string(out, name, value);
        out << YAML::EndMap;
      }
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void emit_type(YAML::Emitter& out, const char* key, const std::optional<DType>& t) {
  if (t) out << YAML::Key << key << YAML::Value << std::string(dtype_name(*t));
}

}  // namespace

std::string dump_profile(const Profile& p) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  emit_string(out, "name", p.name);
  if (!p.description.empty()) emit_string(out, "description", p.description);

  const HostProfile& h = p.host;
  out << YAML::Key << "host" << YAML::Value << YAML::BeginMap;
  if (h.dram_budget) out << YAML::Key << "dram_budget" << YAML::Value << format_size(h.dram_budget);
  if (h.threads) out << YAML::Key << "threads" << YAML::Value << h.threads;
  if (!h.isa.empty()) out << YAML::Key << "isa" << YAML::Value << h.isa;
  if (h.weight_memory != HostWeightMemory::kMapped)
    out << YAML::Key << "weight_memory" << YAML::Value << std::string(host_weight_memory_name(h.weight_memory));
  emit_speeds(out, h.speeds);
  out << YAML::EndMap;

  if (!p.devices.empty()) {
    out << YAML::Key << "devices" << YAML::Value << YAML::BeginMap;
    for (const auto& d : p.devices) emit_device(out, d);
    out << YAML::EndMap;
  }

  const QuantChoices& q = p.quant;
  out << YAML::Key << "quant" << YAML::Value << YAML::BeginMap;
  emit_type(out, "attention", q.attention);
  emit_type(out, "shared_experts", q.shared_experts);
  emit_type(out, "dense_ffn", q.dense_ffn);
  emit_type(out, "routed_experts", q.routed_experts);
  emit_type(out, "embedding", q.embedding);
  emit_type(out, "output", q.output);
  out << YAML::Key << "kv_cache" << YAML::Value << std::string(dtype_name(q.kv_cache));
  out << YAML::EndMap;

  if (!p.placement.empty()) {
    out << YAML::Key << "placement" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : p.placement) {
      out << YAML::BeginMap;
      out << YAML::Key << "pattern" << YAML::Value << YAML::SingleQuoted << r.pattern;
      out << YAML::Key << "target" << YAML::Value << r.target;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }

  const SchedulingKnobs& s = p.scheduling;
  out << YAML::Key << "scheduling" << YAML::Value << YAML::BeginMap;
  if (s.stream_experts_min_batch)
    out << YAML::Key << "stream_experts_min_batch" << YAML::Value << s.stream_experts_min_batch;
  out << YAML::Key << "overlap_host_experts" << YAML::Value << (s.overlap_host_experts ? "true" : "false");
  out << YAML::Key << "scratch_reserve" << YAML::Value << format_size(s.scratch_reserve);
  out << YAML::EndMap;
  out << YAML::EndMap;

  std::string text = fmt::format("# profile '{}', resolved from: {}\n", p.name, fmt::join(p.sources, ", "));
  text += out.c_str();
  text += "\n";
  return text;
}

}  // namespace mixcl::scheduler
