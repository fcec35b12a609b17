#include "executor_test_util.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "model/arch/deepseek2_config.h"
#include "model/quant/quant.h"

namespace mixcl::scheduler::test {
namespace {

std::filesystem::path g_temp;
std::string g_kernels;
std::unique_ptr<backend::HostDevice> g_host;
std::vector<std::unique_ptr<backend::OpenCLDevice>> g_cl;
bool g_cl_tried = false;

}  // namespace

void set_temp_dir(const std::string& dir) { g_temp = dir; }
const std::filesystem::path& temp_dir() { return g_temp; }
void set_kernel_cache_dir(const std::string& dir) { g_kernels = dir; }

void release_devices() {
  g_cl.clear();
  g_host.reset();
}

synth::TypeChoice all_f32() {
  synth::TypeChoice t;
  t.embedding = t.output = t.attention = t.dense_ffn = t.shared_experts = t.routed_experts = t.norm = DType::F32;
  return t;
}

std::filesystem::path synth_model(const std::string& name, const std::string& geometry, const synth::TypeChoice& types,
                                  arch::MlaLayout mla, uint64_t seed,
                                  const std::function<void(arch::Deepseek2Config&)>& tweak) {
  const auto path = g_temp / (name + ".gguf");
  if (std::filesystem::exists(path)) return path;
  synth::SynthOptions o;
  o.config = arch::geometry(geometry);
  o.config.mla = mla;
  if (tweak) tweak(o.config);
  o.types = types;
  o.seed = seed;
  synth::write_synth_model(path, o);
  return path;
}

backend::HostDevice& host() {
  if (!g_host) g_host = std::make_unique<backend::HostDevice>();
  return *g_host;
}

std::vector<backend::Device*> cl_devices() {
  if (!g_cl_tried) {
    g_cl_tried = true;
    backend::OpenCLOptions o;
    o.cache_dir = g_kernels.empty() ? (g_temp / "kernels").string() : g_kernels;
    g_cl = backend::discover_opencl_devices(o);
  }
  std::vector<backend::Device*> out;
  for (auto& d : g_cl) out.push_back(d.get());
  return out;
}

void append(RunOutput& run, ForwardResult&& r) {
  run.logits.insert(run.logits.end(), r.logits.begin(), r.logits.end());
  if (run.routes.size() < r.routes.size()) run.routes.resize(r.routes.size());
  for (size_t l = 0; l < r.routes.size(); ++l)
    for (auto& t : r.routes[l]) run.routes[l].push_back(std::move(t));
}

RunOutput run_model(const gguf::GgufFile& file, std::vector<backend::Device*> devices, ExecutorOptions options,
              const std::vector<int32_t>& tokens, size_t chunk, ExecutorStats* stats) {
  Executor ex(file, std::move(devices), std::move(options));
  RunOutput run;
  ForwardRequest req;
  req.all_logits = true;
  req.routes = true;
  for (size_t i = 0; i < tokens.size(); i += chunk) {
    const size_t n = std::min(chunk, tokens.size() - i);
    append(run, ex.forward(std::span(tokens).subspan(i, n), req));
  }
  if (stats) *stats = ex.stats();
  return run;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

double value_range(const std::vector<float>& a) {
  if (a.empty()) return 0;
  const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
  return static_cast<double>(*hi) - *lo;
}

void expect_same(const RunOutput& a, const RunOutput& b, double rel, const std::string& what) {
  ASSERT_EQ(a.logits.size(), b.logits.size()) << what;
  const double range = value_range(a.logits);
  ASSERT_GT(range, 0.0) << what << ": logits are constant";
  EXPECT_LE(max_abs_diff(a.logits, b.logits), rel * range) << what << " (logit range " << range << ")";
  EXPECT_EQ(a.routes, b.routes) << what;
}

std::vector<int32_t> test_tokens(size_t n, uint32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab) - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = dist(rng);
  return t;
}

std::filesystem::path rewrite(const std::filesystem::path& src, const std::string& name, const Edit& edit) {
  const auto dst = temp_dir() / (name + ".gguf");
  const gguf::GgufFile in = gguf::GgufFile::open(src);
  gguf::GgufWriter w(dst);
  for (const auto& kv : in.kvs())
    if (kv.key != "general.alignment") w.set(kv.key, kv.value);
  if (edit.metadata) edit.metadata(w);
  for (const auto& t : in.tensors()) {
    if (t.name == edit.drop) continue;
    std::vector<uint64_t> dims(t.dims().begin(), t.dims().end());
    const std::string tname(t.name);
    if (tname == edit.reshape) dims = edit.dims;
    const auto gate_at = tname.find("ffn_gate_exps");
    if (edit.fuse_gate_up && tname.find("ffn_up_exps") != std::string::npos) continue;
    if (edit.fuse_gate_up && gate_at != std::string::npos) {
      // Per expert slab: the Fe gate rows, then the Fe up rows (deepseek2.md §3.3).
      const auto& up = in.tensor(tname.substr(0, gate_at) + "ffn_up_exps.weight");
      const uint64_t slab = t.nbytes / t.ne[2];
      std::vector<uint8_t> fused;
      for (uint64_t e = 0; e < t.ne[2]; ++e) {
        fused.insert(fused.end(), t.data + e * slab, t.data + (e + 1) * slab);
        fused.insert(fused.end(), up.data + e * slab, up.data + (e + 1) * slab);
      }
      w.add_tensor_bytes(tname.substr(0, gate_at) + "ffn_gate_up_exps.weight", {t.ne[0], 2 * t.ne[1], t.ne[2]},
                         t.type, std::move(fused));
      continue;
    }
    w.add_tensor_bytes(tname, dims, t.type, std::vector<uint8_t>(t.data, t.data + t.nbytes));
  }
  w.finish();
  return dst;
}

reference::RefModel RefFile::model() const {
  reference::RefModel m;
  m.hp = hp;
  m.tensor = [this](const std::string& name) -> const reference::RefTensor* {
    auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : &it->second;
  };
  return m;
}

RefFile load_reference(const gguf::GgufFile& file) {
  const arch::Deepseek2Config c = arch::from_gguf(file);
  RefFile r;
  auto& hp = r.hp;
  hp.n_embd = c.n_embd, hp.n_layer = c.n_layer, hp.n_dense = c.n_dense, hp.n_head = c.n_head;
  hp.q_lora_rank = c.q_lora_rank, hp.kv_lora_rank = c.kv_lora_rank, hp.rope_dims = c.rope_dim;
  hp.nope_dims = c.nope_dim, hp.v_dims = c.v_head_dim, hp.ffn = c.n_ff, hp.ffn_expert = c.n_ff_exp;
  hp.n_expert = c.n_expert, hp.n_expert_used = c.n_expert_used, hp.n_shared = c.n_expert_shared;
  hp.n_group = c.n_group, hp.n_group_used = c.n_group_used, hp.vocab = c.n_vocab;
  hp.eps = c.rms_eps, hp.rope_base = c.rope_base, hp.yarn = c.yarn;
  hp.yarn_factor = c.yarn_factor, hp.yarn_orig_ctx = c.yarn_orig_ctx;
  hp.yarn_log_multiplier = file.get_f32("rope.scaling.yarn_log_multiplier", 0.0f);
  hp.yarn_beta_fast = c.yarn_beta_fast, hp.yarn_beta_slow = c.yarn_beta_slow;
  hp.expert_weights_scale = c.expert_weights_scale, hp.expert_weights_norm = c.expert_weights_norm;
  hp.gating = static_cast<int>(c.gating);
  for (const auto& t : file.tensors()) {
    reference::RefTensor rt;
    rt.dims.assign(t.dims().begin(), t.dims().end());
    std::vector<float> f(t.n_elements);
    const uint64_t rows = t.n_elements / t.ne[0];
    for (uint64_t i = 0; i < rows; ++i)
      quant::dequantize_row(t.type, t.data + i * t.row_bytes(), f.data() + i * t.ne[0], t.ne[0]);
    rt.data.assign(f.begin(), f.end());
    r.tensors.emplace(std::string(t.name), std::move(rt));
  }
  return r;
}

}  // namespace mixcl::scheduler::test
