// Turns a resolved profile tree into a Profile, checking every key and value against the schema
// (profiles/README.md); each error names file:line:column, the key, what was found and what is allowed.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "backend/opencl/kernel_config.h"
#include "common/error.h"
#include "model/quant/quant.h"
#include "scheduler/profile.h"
#include "scheduler/profile_tree.h"

namespace mixcl::scheduler::detail {
namespace {

using Keys = std::vector<std::string>;

const Keys kTopKeys = {"name", "description", "extends", "host", "devices", "quant", "placement", "scheduling"};
const Keys kHostKeys = {"dram_budget", "threads", "isa", "weight_memory", "speeds"};
const Keys kHostSpeedKeys = {"read_gbps", "fp32_gflops", "op_overhead_us", "matvec_gbps"};
const Keys kDeviceKeys = {"match", "memory_budget", "unified_memory", "speeds", "kernels"};
const Keys kMatchKeys = {"platform", "vendor", "name", "type", "index"};
const Keys kDeviceSpeedKeys = {"read_gbps", "fp32_gflops", "h2d_gbps", "d2h_gbps", "op_overhead_us",
                                 "copy_latency_us", "matvec_gbps"};
const Keys kKernelKeys = {"variant", "macros"};
const Keys kQuantKeys = {"attention", "shared_experts", "dense_ffn", "routed_experts", "embedding", "output", "kv_cache"};
const Keys kRuleKeys = {"pattern", "target"};
const Keys kSchedulingKeys = {"stream_experts_min_batch", "overlap_host_experts", "scratch_reserve"};
// Ops of backend::Device that a profile may give kernel overrides for.
const Keys kOps = {"add",   "scale",   "rmsnorm", "matmul",  "get_rows", "rope",
                   "softmax", "swiglu", "router",  "moe_ffn", "mla_attention", "convert"};
const Keys kVariants = {"vector", "workgroup"};
const Keys kDeviceTypes = {"GPU", "CPU", "ACCELERATOR", "CUSTOM"};
const Keys kIsas = {"avx512", "avx2", "generic"};
const Keys kWeightMemories = {"mapped", "huge_pages"};

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

[[noreturn]] void bad_value(const PNode& node, const std::string& key, const std::string& expected) {
  fail("{}: {}: found {}, expected {}", node.loc.str(), key, node.describe(), expected);
}

void expect_kind(const PNode& node, PNode::Kind kind, const std::string& key) {
  if (node.kind == kind) return;
  switch (kind) {
    case PNode::Kind::kMap: bad_value(node, key, "a map of keys");
    case PNode::Kind::kSequence: bad_value(node, key, "a list (items starting with '- ')");
    default: bad_value(node, key, "a single value");
  }
}

/// Checks that a map holds only `allowed` keys; unknown ones get a did-you-mean.
void check_keys(const PNode& map, const std::string& path, const Keys& allowed) {
  for (const auto& e : map.entries) {
    if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
    fail("{}: unknown key '{}'{}; allowed in {}: {}", e.key_loc.str(), join_path(path, e.key),
         did_you_mean(e.key, allowed), path.empty() ? "the top level" : path, fmt::join(allowed, ", "));
  }
}

const std::string& scalar(const PNode& node, const std::string& key) {
  expect_kind(node, PNode::Kind::kScalar, key);
  return node.scalar;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// One of `allowed` (compared case-insensitively); returns the allowed spelling.
std::string one_of(const PNode& node, const std::string& key, const Keys& allowed) {
  const std::string& v = scalar(node, key);
  for (const auto& a : allowed)
    if (lower(a) == lower(v)) return a;
  fail("{}: {}: found '{}', expected one of: {}{}", node.loc.str(), key, v, fmt::join(allowed, ", "),
       did_you_mean(v, allowed));
}

bool boolean(const PNode& node, const std::string& key) {
  const std::string v = lower(scalar(node, key));
  if (v == "true") return true;
  if (v == "false") return false;
  bad_value(node, key, "true or false");
}

int64_t integer(const PNode& node, const std::string& key, int64_t min, int64_t max, const std::string& hint) {
  const std::string& v = scalar(node, key);
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size())
    bad_value(node, key, fmt::format("a whole number from {} to {}{}", min, max, hint));
  if (out < min || out > max)
    fail("{}: {}: found {}, expected a whole number from {} to {}{}", node.loc.str(), key, v, min, max, hint);
  return out;
}

/// A speed figure: a finite number above zero.
double rate(const PNode& node, const std::string& key) {
  const std::string& v = scalar(node, key);
  double out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(out))
    bad_value(node, key, "a number (GB/s or GFLOP/s)");
  if (out <= 0)
    fail("{}: {}: found {}, expected a number above zero; leave the key out when the figure is unknown",
         node.loc.str(), key, v);
  return out;
}

uint64_t size(const PNode& node, const std::string& key, bool allow_zero, const std::string& zero_hint) {
  const uint64_t bytes = parse_size(scalar(node, key), fmt::format("{}: {}", node.loc.str(), key));
  if (bytes == 0 && !allow_zero)
    fail("{}: {}: found '{}', expected a size above zero; {}", node.loc.str(), key, node.scalar, zero_hint);
  return bytes;
}

std::vector<std::string> storable_type_names() {
  std::vector<std::string> names;
  for (uint32_t id = 0; id < 64; ++id) {
    const auto info = dtype_info(id);
    if (info && quant::can_quantize(static_cast<DType>(id))) names.emplace_back(info->name);
  }
  return names;
}

DType weight_type(const PNode& node, const std::string& key) {
  const std::string& v = scalar(node, key);
  const auto type = dtype_from_name(v);
  static const std::vector<std::string> names = storable_type_names();
  if (!type || !quant::can_quantize(*type))
    fail("{}: {}: found '{}', expected a ggml type name that weights can be stored in: {}{}", node.loc.str(), key, v,
         fmt::join(names, ", "), did_you_mean(v, names));
  return *type;
}

bool is_identifier(const std::string& s, bool allow_dash) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (allow_dash && (c == '-' || c == '.'));
  });
}

// speeds.matvec_gbps: a map from weight format name (Q4_K, Q8_0, F32, ...) to GB/s.
void read_matvec_gbps(const PNode& node, const std::string& path, std::map<DType, double>& out) {
  expect_kind(node, PNode::Kind::kMap, path);
  static const std::vector<std::string> names = storable_type_names();
  for (const auto& e : node.entries) {
    const auto type = dtype_from_name(e.key);
    if (!type || !quant::can_quantize(*type))
      fail("{}: {}: '{}' is not a weight format; expected a ggml type name weights are stored in: {}{}",
           e.key_loc.str(), path, e.key, fmt::join(names, ", "), did_you_mean(e.key, names));
    out[*type] = rate(e.value, join_path(path, e.key));
  }
}

void read_speeds(const PNode& node, const std::string& path, const Keys& allowed, DeviceSpeeds& out) {
  expect_kind(node, PNode::Kind::kMap, path);
  check_keys(node, path, allowed);
  for (const auto& e : node.entries) {
    const std::string key = join_path(path, e.key);
    if (e.key == "matvec_gbps") {
      read_matvec_gbps(e.value, key, out.matvec_gbps);
      continue;
    }
    double& field = e.key == "read_gbps" ? out.read_gbps
                    : e.key == "fp32_gflops" ? out.fp32_gflops
                    : e.key == "h2d_gbps"    ? out.h2d_gbps
                    : e.key == "d2h_gbps"    ? out.d2h_gbps
                    : e.key == "op_overhead_us" ? out.op_overhead_us
                                                  : out.copy_latency_us;
    field = rate(e.value, key);
  }
}

HostProfile read_host(const PNode& node) {
  expect_kind(node, PNode::Kind::kMap, "host");
  check_keys(node, "host", kHostKeys);
  HostProfile host;
  for (const auto& e : node.entries) {
    const std::string key = join_path("host", e.key);
    if (e.key == "dram_budget")
      host.dram_budget = size(e.value, key, false, "leave the key out to use all physical memory");
    else if (e.key == "threads")
      host.threads = static_cast<int>(integer(e.value, key, 1, 4096, "; leave the key out to use every hardware thread"));
    else if (e.key == "isa")
      host.isa = one_of(e.value, key, kIsas);
    else if (e.key == "weight_memory")
      host.weight_memory = *parse_host_weight_memory(one_of(e.value, key, kWeightMemories));
    else if (e.key == "speeds")
      read_speeds(e.value, key, kHostSpeedKeys, host.speeds);
  }
  return host;
}

// Runs a backend check of one kernels entry, turning its error into one that names `loc` and the device path.
template <class F>
void backend_check(const Loc& loc, const std::string& device_path, F&& check) {
  try {
    check();
  } catch (const Error& e) {
    fail("{}: {}.{}", loc.str(), device_path, e.what());
  }
}

// One `kernels:` entry; `op_key` is its key ("matmul.Q4_K.decode"), `device_path` "devices.<id>".
KernelOverride read_kernel(const PNode& node, const std::string& device_path, const std::string& op_key) {
  const std::string path = join_path(device_path, "kernels." + op_key);
  expect_kind(node, PNode::Kind::kMap, path);
  check_keys(node, path, kKernelKeys);
  KernelOverride k;
  for (const auto& e : node.entries) {
    const std::string key = join_path(path, e.key);
    if (e.key == "variant") {
      k.variant = one_of(e.value, key, kVariants);
      backend_check(e.value.loc, device_path, [&] { backend::check_kernel_config(op_key, {k.variant, {}}); });
      continue;
    }
    expect_kind(e.value, PNode::Kind::kMap, key);
    for (const auto& m : e.value.entries) {
      const std::string mkey = join_path(key, m.key);
      if (!is_identifier(m.key, false))
        fail("{}: {}: macro name '{}' is not a C identifier (letters, digits, '_')", m.key_loc.str(), mkey, m.key);
      const std::string& v = scalar(m.value, mkey);
      const bool ok = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' || c == '-';
      });
      if (!ok) bad_value(m.value, mkey, "a number or a name (letters, digits, '_', '.', '+', '-')");
      backend_check(m.value.loc, device_path, [&] { backend::check_kernel_config(op_key, {"", {{m.key, v}}}); });
      k.macros[m.key] = v;
    }
  }
  return k;
}

DeviceProfile read_device(const MapEntry& entry) {
  const std::string path = join_path("devices", entry.key);
  if (!is_identifier(entry.key, true) || lower(entry.key) == "host")
    fail("{}: devices: '{}' is not a usable device id; ids start with a letter, hold letters, digits, '_', '-', '.', "
         "and 'host' is reserved for the host",
         entry.key_loc.str(), entry.key);
  const PNode& node = entry.value;
  expect_kind(node, PNode::Kind::kMap, path);
  check_keys(node, path, kDeviceKeys);
  DeviceProfile d;
  d.id = entry.key;
  d.where = entry.key_loc.file_line();
  for (const auto& e : node.entries) {
    const std::string key = join_path(path, e.key);
    if (e.key == "match") {
      expect_kind(e.value, PNode::Kind::kMap, key);
      check_keys(e.value, key, kMatchKeys);
      for (const auto& m : e.value.entries) {
        const std::string mkey = join_path(key, m.key);
        if (m.key == "platform") d.match.platform = scalar(m.value, mkey);
        if (m.key == "vendor") d.match.vendor = scalar(m.value, mkey);
        if (m.key == "name") d.match.name = scalar(m.value, mkey);
        if (m.key == "type") d.match.type = one_of(m.value, mkey, kDeviceTypes);
        if (m.key == "index") d.match.index = static_cast<int>(integer(m.value, mkey, 0, 1023, ""));
      }
    } else if (e.key == "memory_budget") {
      d.memory_budget = size(e.value, key, false, "leave the key out to use all the memory the device reports");
    } else if (e.key == "unified_memory") {
      d.unified_memory = boolean(e.value, key);
    } else if (e.key == "speeds") {
      read_speeds(e.value, key, kDeviceSpeedKeys, d.speeds);
    } else if (e.key == "kernels") {
      expect_kind(e.value, PNode::Kind::kMap, key);
      for (const auto& k : e.value.entries) {
        // Keys are op[.FORMAT][.PHASE] (backend/opencl/kernel_config.h); an unknown op gets a did-you-mean.
        const std::string op = k.key.substr(0, k.key.find('.'));
        if (std::find(kOps.begin(), kOps.end(), op) == kOps.end())
          fail("{}: unknown key '{}'{}; allowed in {}: {} (each optionally followed by .FORMAT and/or .decode / "
               ".prefill)", k.key_loc.str(), join_path(key, k.key), did_you_mean(op, kOps), key, fmt::join(kOps, ", "));
        backend_check(k.key_loc, path, [&] { backend::parse_kernel_config_key(k.key); });
        d.kernels[k.key] = read_kernel(k.value, path, k.key);
      }
    }
  }
  return d;
}

QuantChoices read_quant(const PNode& node) {
  expect_kind(node, PNode::Kind::kMap, "quant");
  check_keys(node, "quant", kQuantKeys);
  QuantChoices q;
  for (const auto& e : node.entries) {
    const std::string key = join_path("quant", e.key);
    if (e.key == "kv_cache") {
      const std::string v = upper(scalar(e.value, key));
      if (v != "F16" && v != "F32")
        fail("{}: {}: found '{}', expected F16 or F32 (the compressed MLA cache is stored as floats)", e.value.loc.str(),
             key, e.value.scalar);
      q.kv_cache = v == "F16" ? DType::F16 : DType::F32;
      continue;
    }
    const DType t = weight_type(e.value, key);
    if (e.key == "attention") q.attention = t;
    if (e.key == "shared_experts") q.shared_experts = t;
    if (e.key == "dense_ffn") q.dense_ffn = t;
    if (e.key == "routed_experts") q.routed_experts = t;
    if (e.key == "embedding") q.embedding = t;
    if (e.key == "output") q.output = t;
  }
  return q;
}

std::vector<PlacementRule> read_placement(const PNode& node, const std::vector<DeviceProfile>& devices) {
  expect_kind(node, PNode::Kind::kSequence, "placement");
  std::vector<std::string> targets = {"host"};
  for (const auto& d : devices) targets.push_back(d.id);
  std::vector<PlacementRule> rules;
  for (size_t i = 0; i < node.items.size(); ++i) {
    const PNode& item = node.items[i];
    const std::string path = fmt::format("placement[{}]", i);
    expect_kind(item, PNode::Kind::kMap, path);
    check_keys(item, path, kRuleKeys);
    PlacementRule r;
    r.where = item.loc.file_line();
    const PNode* pattern = item.find("pattern");
    const PNode* target = item.find("target");
    if (!pattern || !target)
      fail("{}: {}: a rule needs both `pattern:` (a regex on tensor names) and `target:` (a device id or host); "
           "missing {}",
           item.loc.str(), path, !pattern ? "pattern" : "target");
    r.pattern = scalar(*pattern, path + ".pattern");
    try {
      r.regex = std::make_shared<const std::regex>(r.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail("{}: {}.pattern: '{}' is not a valid regular expression (ECMAScript): {}", pattern->loc.str(), path,
           r.pattern, e.what());
    }
    r.target = scalar(*target, path + ".target");
    if (std::find(targets.begin(), targets.end(), r.target) == targets.end())
      fail("{}: {}.target: found '{}', expected host or a device id of this profile: {}{}", target->loc.str(), path,
           r.target, fmt::join(targets, ", "), did_you_mean(r.target, targets));
    rules.push_back(std::move(r));
  }
  return rules;
}

SchedulingKnobs read_scheduling(const PNode& node) {
  expect_kind(node, PNode::Kind::kMap, "scheduling");
  check_keys(node, "scheduling", kSchedulingKeys);
  SchedulingKnobs s;
  for (const auto& e : node.entries) {
    const std::string key = join_path("scheduling", e.key);
    if (e.key == "stream_experts_min_batch")
      s.stream_experts_min_batch = static_cast<uint32_t>(
          integer(e.value, key, 1, 1 << 24, "; leave the key out to let the planner decide"));
    else if (e.key == "overlap_host_experts")
      s.overlap_host_experts = boolean(e.value, key);
    else if (e.key == "scratch_reserve")
      s.scratch_reserve = size(e.value, key, true, "");
  }
  return s;
}

}  // namespace

/// Builds the Profile of a resolved tree; `default_name` is used when no `name:` is given.
Profile profile_from_tree(ResolvedTree tree, const std::string& default_name) {
  drop_nulls(tree.root);
  const PNode& root = tree.root;
  check_keys(root, "", kTopKeys);
  Profile p;
  p.name = default_name;
  p.sources = std::move(tree.sources);
  if (const PNode* n = root.find("name")) p.name = scalar(*n, "name");
  if (const PNode* n = root.find("description")) p.description = scalar(*n, "description");
  if (const PNode* n = root.find("host")) p.host = read_host(*n);
  if (const PNode* n = root.find("devices")) {
    expect_kind(*n, PNode::Kind::kMap, "devices");
    for (const auto& e : n->entries) p.devices.push_back(read_device(e));
  }
  if (const PNode* n = root.find("quant")) p.quant = read_quant(*n);
  if (const PNode* n = root.find("placement")) p.placement = read_placement(*n, p.devices);
  if (const PNode* n = root.find("scheduling")) p.scheduling = read_scheduling(*n);
  return p;
}

}  // namespace mixcl::scheduler::detail
