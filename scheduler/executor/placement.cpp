// The simple placements of scheduler/executor.h: everything on one device, or layers split in ranges.
#include <charconv>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "scheduler/executor.h"

namespace mixcl::scheduler {
namespace {

// The block number of "blk.N.<rest>", or -1 for global tensors.
int64_t block_of(std::string_view name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  const auto dot = name.find('.', 4);
  uint32_t n = 0;
  const auto [ptr, ec] = std::from_chars(name.data() + 4, name.data() + (dot == std::string_view::npos ? name.size() : dot), n);
  (void)ptr;
  return ec == std::errc() ? int64_t{n} : -1;
}

}  // namespace

PlacementFn place_all_on(size_t index) {
  return [index](std::string_view) { return index; };
}

PlacementFn place_layers_split(uint32_t n_layer, size_t devices_count, std::vector<double> weights) {
  if (devices_count == 0) fail("place_layers_split: no devices to place {} layers on", n_layer);
  if (weights.empty()) weights.assign(devices_count, 1.0);
  if (weights.size() != devices_count)
    fail("place_layers_split: {} weights given for {} devices", weights.size(), devices_count);
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w)) fail("place_layers_split: weight {} is not a finite number >= 0", w);
    total += w;
  }
  if (total <= 0) fail("place_layers_split: the weights sum to 0");
  // Device of each layer: cumulative share boundaries, rounded.
  std::vector<size_t> layer_device(n_layer, devices_count - 1);
  double acc = 0;
  uint32_t begin = 0;
  for (size_t d = 0; d < devices_count; ++d) {
    acc += weights[d];
    const uint32_t end = d + 1 == devices_count ? n_layer
                                                : static_cast<uint32_t>(std::lround(acc / total * n_layer));
    for (uint32_t l = begin; l < std::min(end, n_layer); ++l) layer_device[l] = d;
    begin = std::max(begin, end);
  }
  return [layer_device, devices_count](std::string_view name) -> size_t {
    const int64_t b = block_of(name);
    if (b >= 0 && static_cast<size_t>(b) < layer_device.size()) return layer_device[static_cast<size_t>(b)];
    if (name.rfind("token_embd", 0) == 0) return 0;
    return devices_count - 1;  // output head and its norm, and anything else global
  };
}

}  // namespace mixcl::scheduler
