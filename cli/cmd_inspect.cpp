// `mixcl inspect model.gguf [--json]`: what a GGUF file holds: architecture, hyperparameters, tokenizer,
// tensor table and sizes per tensor class.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "common/error.h"
#include "model/arch/tensor_class.h"
#include "model/gguf/gguf_file.h"

namespace mixcl::cli {
namespace {

using gguf::GgufFile;
using gguf::GgufType;
using gguf::GgufValue;
using json = nlohmann::ordered_json;  // keeps keys in the order they are added

constexpr size_t kMaxJsonArray = 64;  // longer arrays (token lists) are summarised, not dumped

json value_to_json(const GgufValue& v) {
  if (v.is_array()) {
    if (v.array_size() > kMaxJsonArray || v.elem_type() == GgufType::Array)
      return json{{"type", v.summary()}, {"length", v.array_size()}};
    if (v.elem_type() == GgufType::String) return v.as_string_array();
    if (v.elem_type() == GgufType::Bool) {
      json out = json::array();
      for (uint8_t b : v.array<uint8_t>()) out.push_back(b != 0);
      return out;
    }
    if (v.elem_type() == GgufType::F32 || v.elem_type() == GgufType::F64) return v.as_f64_array();
    if (v.elem_type() == GgufType::U64) return v.array<uint64_t>();
    return v.as_i64_array();
  }
  switch (v.type()) {
    case GgufType::Bool: return v.as_bool();
    case GgufType::String: return v.as_string();
    case GgufType::F32: return static_cast<float>(v.as_f64());
    case GgufType::F64: return v.as_f64();
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64: return v.as_i64();
    default: return v.as_u64();
  }
}

// Tokenizer facts worth a glance: which tokenizer, how big, special ids and flags.
json tokenizer_summary(const GgufFile& f) {
  json t = json::object();
  const auto str = [&](const char* key, const char* name) {
    if (const GgufValue* v = f.find(key); v && v->type() == GgufType::String) t[name] = v->as_string();
  };
  const auto count = [&](const char* key, const char* name) {
    if (const GgufValue* v = f.find(key); v && v->is_array()) t[name] = v->array_size();
  };
  const auto scalar = [&](const char* key, const char* name) {
    if (const GgufValue* v = f.find(key); v && !v->is_array()) t[name] = value_to_json(*v);
  };
  str("tokenizer.ggml.model", "model");
  str("tokenizer.ggml.pre", "pre");
  count("tokenizer.ggml.tokens", "vocab_size");
  count("tokenizer.ggml.merges", "merges");
  count("tokenizer.ggml.token_type", "token_types");
  scalar("tokenizer.ggml.bos_token_id", "bos_token_id");
  scalar("tokenizer.ggml.eos_token_id", "eos_token_id");
  scalar("tokenizer.ggml.padding_token_id", "padding_token_id");
  scalar("tokenizer.ggml.add_bos_token", "add_bos_token");
  scalar("tokenizer.ggml.add_eos_token", "add_eos_token");
  const GgufValue* tmpl = f.find("tokenizer.chat_template");
  t["chat_template"] = tmpl != nullptr;
  if (tmpl && tmpl->type() == GgufType::String) t["chat_template_chars"] = tmpl->as_string().size();
  return t;
}

json build_report(const GgufFile& f) {
  json r;
  r["file"] = f.path();
  r["version"] = f.version();
  r["alignment"] = f.alignment();
  r["shards"] = f.shard_count();
  r["file_size"] = f.file_size();
  r["architecture"] = f.architecture();
  json general = json::object(), hyper = json::object();
  const std::string prefix = f.architecture() + ".";
  for (const auto& kv : f.kvs()) {
    if (!f.architecture().empty() && kv.key.rfind(prefix, 0) == 0) hyper[kv.key] = value_to_json(kv.value);
    else if (kv.key.rfind("tokenizer.", 0) != 0) general[kv.key] = value_to_json(kv.value);
  }
  r["metadata"] = general;
  r["hyperparameters"] = hyper;
  r["tokenizer"] = tokenizer_summary(f);
  json tensors = json::array();
  for (const auto& t : f.tensors()) {
    tensors.push_back({{"name", t.name},
                       {"dims", std::vector<uint64_t>(t.dims().begin(), t.dims().end())},
                       {"type", dtype_name(t.type)},
                       {"bytes", t.nbytes},
                       {"params", t.n_elements},
                       {"class", arch::tensor_class_name(arch::classify_tensor(t.name))},
                       {"shard", t.shard},
                       {"offset", t.file_offset}});
  }
  r["tensors"] = tensors;
  json classes = json::object();
  arch::ClassTotals all;
  const auto totals = arch::tensor_class_totals(f);
  for (size_t c = 0; c < arch::kTensorClassCount; ++c) {
    const auto& x = totals[c];
    if (x.tensors == 0) continue;
    classes[std::string(arch::tensor_class_name(static_cast<arch::TensorClass>(c)))] =
        json{{"tensors", x.tensors}, {"params", x.params}, {"bytes", x.bytes}};
    all.tensors += x.tensors;
    all.params += x.params;
    all.bytes += x.bytes;
  }
  r["classes"] = classes;
  r["total"] = json{{"tensors", all.tensors}, {"params", all.params}, {"bytes", all.bytes}};
  return r;
}

std::string dims_text(const json& dims) {
  std::string s = "{";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i].get<uint64_t>());
  return s + "}";
}

std::string params_text(uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1'000) return fmt::format("{:.2f} K", n / 1e3);
  return std::to_string(n);
}

void print_text(const GgufFile& f, const json& r) {
  fmt::print("file:          {} ({} shard{}, {}, GGUF v{}, alignment {})\n", f.path(), f.shard_count(),
             f.shard_count() == 1 ? "" : "s", format_bytes(f.file_size()), f.version(), f.alignment());
  fmt::print("architecture:  {}\n", f.architecture().empty() ? "(none)" : f.architecture());
  fmt::print("\nmetadata:\n");
  for (const auto& kv : f.kvs())
    if (kv.key.rfind("tokenizer.", 0) != 0 && !r["hyperparameters"].contains(kv.key))
      fmt::print("  {:48} {}\n", kv.key, kv.value.summary());
  fmt::print("\nhyperparameters:\n");
  for (const auto& kv : f.kvs())
    if (r["hyperparameters"].contains(kv.key)) fmt::print("  {:48} {}\n", kv.key, kv.value.summary());
  fmt::print("\ntokenizer:\n");
  for (const auto& [k, v] : r["tokenizer"].items())
    fmt::print("  {:48} {}\n", k, v.dump(-1, ' ', false, json::error_handler_t::replace));
  fmt::print("\ntensors ({}):\n", r["tensors"].size());
  fmt::print("  {:44} {:26} {:8} {:>12} {}\n", "name", "dims", "type", "bytes", "class");
  for (const auto& t : r["tensors"])
    fmt::print("  {:44} {:26} {:8} {:>12} {}\n", t["name"].get<std::string>(), dims_text(t["dims"]),
               t["type"].get<std::string>(), t["bytes"].get<uint64_t>(), t["class"].get<std::string>());
  fmt::print("\nby class:\n");
  fmt::print("  {:16} {:>8} {:>12} {:>12}\n", "class", "tensors", "params", "bytes");
  for (const auto& [name, c] : r["classes"].items())
    fmt::print("  {:16} {:>8} {:>12} {:>12}\n", name, c["tensors"].get<uint64_t>(),
               params_text(c["params"].get<uint64_t>()), format_bytes(c["bytes"].get<uint64_t>()));
  const auto& t = r["total"];
  fmt::print("  {:16} {:>8} {:>12} {:>12}\n", "total", t["tensors"].get<uint64_t>(),
             params_text(t["params"].get<uint64_t>()), format_bytes(t["bytes"].get<uint64_t>()));
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Show what a GGUF file holds: metadata, tokenizer, tensors, sizes");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("model", *path, "GGUF file (the first shard of a split model)")->required();
  cmd->add_flag("--json", *as_json, "Print one JSON object instead of tables");
  cmd->callback([path, as_json] {
    const GgufFile f = GgufFile::open(*path);
    const json r = build_report(f);
    // Metadata strings need not be valid UTF-8: replace bad bytes instead of failing.
    if (*as_json) fmt::print("{}\n", r.dump(2, ' ', false, json::error_handler_t::replace));
    else print_text(f, r);
  });
}

}  // namespace mixcl::cli
