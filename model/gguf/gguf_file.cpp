#include "model/gguf/gguf_file.h"

#include <cmath>
#include <limits>
#include <regex>

#include "common/error.h"

namespace mixcl::gguf {

GgufFile GgufFile::open(const std::filesystem::path& path) {
  GgufFile f;
  f.add_shard(path.string(), MappedFile::open(path));
  f.load_other_shards(path);
  f.finish_setup();
  return f;
}

GgufFile GgufFile::from_bytes(std::vector<uint8_t> bytes, std::string name) {
  GgufFile f;
  f.add_shard(std::move(name), MappedFile::from_bytes(std::move(bytes)));
  f.finish_setup();
  return f;
}

void GgufFile::add_shard(std::string path, MappedFile map) {
  GgufContents contents = parse_gguf(map.bytes(), path);
  shards_.push_back(Shard{std::move(path), std::move(map), std::move(contents)});
}

void GgufFile::load_other_shards(const std::filesystem::path& first) {
  const GgufContents& kvs = shards_.front().contents;  // only valid until the next add_shard
  const auto count_it = kvs.kv_index.find("split.count");
  if (count_it == kvs.kv_index.end()) return;
  const auto value_of = [&](const GgufContents& c, const char* key) -> uint64_t {
    auto it = c.kv_index.find(key);
    if (it == c.kv_index.end()) return UINT64_MAX;
    const GgufValue& v = c.kvs[it->second].value;
    if (!v.is_integer()) return UINT64_MAX;
    try {
      return v.as_u64();
    } catch (const Error&) {  // negative: treated like a missing value, which the callers reject
      return UINT64_MAX;
    }
  };
  const uint64_t count = value_of(kvs, "split.count");
  if (count == UINT64_MAX || count == 0 || count > 9999)
    fail("{}: split.count is {}, must be an integer 1..9999", path(), kvs.kvs[count_it->second].value.summary());
  if (count == 1) return;
  const uint64_t no = value_of(kvs, "split.no");
  if (no != 0)
    fail("{}: this is shard split.no = {} of a {}-file split model; open the first shard (-00001-of-{:05}.gguf)",
         path(), no == UINT64_MAX ? std::string("?") : std::to_string(no), count, count);
  static const std::regex kShardName(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
  std::smatch m;
  const std::string file_name = first.filename().string();
  if (!std::regex_match(file_name, m, kShardName) || std::stoull(m[2].str()) != 1 ||
      std::stoull(m[3].str()) != count)
    fail("{}: split model with {} shards, but the file name does not follow <name>-00001-of-{:05}.gguf, so the "
         "other shards cannot be found; rename the shards to that pattern",
         path(), count, count);
  for (uint64_t k = 1; k < count; ++k) {
    const std::filesystem::path shard = first.parent_path() / fmt::format("{}-{:05}-of-{:05}.gguf", m[1].str(), k + 1,
                                                                            count);
    if (!std::filesystem::exists(shard))
      fail("{}: shard {} of {} is missing: {} does not exist", path(), k + 1, count, shard.string());
    add_shard(shard.string(), MappedFile::open(shard));
    const GgufContents& c = shards_.back().contents;
    if (value_of(c, "split.no") != k || value_of(c, "split.count") != count)
      fail("{}: split.no/split.count say this is not shard {} (0-based) of {}; the shard files are mixed up",
           shard.string(), k, count);
  }
  const uint64_t total = value_of(shards_.front().contents, "split.tensors.count");  // shards_ has grown
  uint64_t have = 0;
  for (const auto& s : shards_) have += s.contents.tensors.size();
  if (total != UINT64_MAX && total != have)
    fail("{}: split.tensors.count is {} but the {} shards hold {} tensors", path(), total, count, have);
}

void GgufFile::finish_setup() {
  for (uint32_t s = 0; s < shards_.size(); ++s) {
    const Shard& shard = shards_[s];
    for (const GgufTensorInfo& info : shard.contents.tensors) {
      GgufTensor t;
      t.name = info.name;
      t.n_dims = info.n_dims;
      t.ne = info.ne;
      t.type = info.type;
      t.file_offset = shard.contents.data_start + info.offset;
      t.data = shard.map.data() + t.file_offset;
      t.nbytes = info.nbytes;
      t.n_elements = info.n_elements;
      t.shard = s;
      if (auto [it, fresh] = tensor_index_.emplace(t.name, tensors_.size()); !fresh)
        fail("{}: tensor '{}' is also in shard {}", shard.path, info.name, shards_[tensors_[it->second].shard].path);
      tensors_.push_back(t);
    }
  }
  if (const GgufValue* v = find("general.architecture")) {
    if (v->type() != GgufType::String) fail("{}: general.architecture is {}, must be a string", path(), v->summary());
    architecture_ = v->as_string();
  }
}

void GgufFile::release_pages(const void* p, uint64_t n) const {
  for (const Shard& s : shards_) s.map.release_pages(p, n);
}

uint64_t GgufFile::file_size() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s.map.size();
  return n;
}

std::string GgufFile::resolve_key(std::string_view key) const {
  const std::string_view first = key.substr(0, key.find('.'));
  static constexpr std::string_view kGlobal[] = {"general", "tokenizer", "split", "adapter", "quantize", "imatrix"};
  for (auto g : kGlobal)
    if (first == g && first.size() < key.size()) return std::string(key);
  if (!architecture_.empty() && first == architecture_ && first.size() < key.size()) return std::string(key);
  if (architecture_.empty()) return std::string(key);
  return architecture_ + "." + std::string(key);
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto& c = shards_.front().contents;
  auto it = c.kv_index.find(resolve_key(key));
  return it == c.kv_index.end() ? nullptr : &c.kvs[it->second].value;
}

const GgufValue& GgufFile::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("{}: required metadata key '{}' is missing", path(), resolve_key(key));
  return *v;
}

template <class T, class F>
T GgufFile::typed(std::string_view key, std::string_view wanted, F convert) const {
  const GgufValue& v = get(key);
  try {
    return convert(v);
  } catch (const Error& e) {
    fail("{}: metadata '{}' is {}, expected {} ({})", path(), resolve_key(key), v.summary(), wanted, e.what());
  }
}

uint32_t GgufFile::get_u32(std::string_view key) const {
  return typed<uint32_t>(key, "an unsigned 32-bit integer", [](const GgufValue& v) {
    const uint64_t x = v.as_u64();
    if (x > std::numeric_limits<uint32_t>::max()) fail("too large");
    return static_cast<uint32_t>(x);
  });
}
uint64_t GgufFile::get_u64(std::string_view key) const {
  return typed<uint64_t>(key, "an unsigned integer", [](const GgufValue& v) { return v.as_u64(); });
}
int64_t GgufFile::get_i64(std::string_view key) const {
  return typed<int64_t>(key, "an integer", [](const GgufValue& v) { return v.as_i64(); });
}
float GgufFile::get_f32(std::string_view key) const {
  return typed<float>(key, "a number", [](const GgufValue& v) { return static_cast<float>(v.as_f64()); });
}
bool GgufFile::get_bool(std::string_view key) const {
  return typed<bool>(key, "a bool", [](const GgufValue& v) { return v.as_bool(); });
}
std::string GgufFile::get_string(std::string_view key) const {
  return typed<std::string>(key, "a string", [](const GgufValue& v) { return v.as_string(); });
}

uint32_t GgufFile::get_u32(std::string_view key, uint32_t def) const { return has(key) ? get_u32(key) : def; }
uint64_t GgufFile::get_u64(std::string_view key, uint64_t def) const { return has(key) ? get_u64(key) : def; }
int64_t GgufFile::get_i64(std::string_view key, int64_t def) const { return has(key) ? get_i64(key) : def; }
float GgufFile::get_f32(std::string_view key, float def) const { return has(key) ? get_f32(key) : def; }
bool GgufFile::get_bool(std::string_view key, bool def) const { return has(key) ? get_bool(key) : def; }
std::string GgufFile::get_string(std::string_view key, std::string def) const {
  return has(key) ? get_string(key) : def;
}

std::optional<GgufTensor> GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) return std::nullopt;
  return tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) fail("{}: tensor '{}' is not in the file", path(), name);
  return tensors_[it->second];
}

}  // namespace mixcl::gguf
