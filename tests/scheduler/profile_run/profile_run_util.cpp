#include "profile_run_util.h"

#include "model/arch/deepseek2_config.h"
#include "model/synth/synth_model.h"

namespace mixcl::scheduler::test {
namespace {
std::filesystem::path g_temp;
}

void set_temp_dir(const std::string& dir) { g_temp = dir; }

const std::filesystem::path& tiny_v3_model() {
  static const std::filesystem::path path = [] {
    const auto p = g_temp / "tiny-v3.gguf";
    synth::SynthOptions o;
    o.config = arch::geometry("tiny-v3");
    o.seed = 11;
    synth::write_synth_model(p, o);
    return p;
  }();
  return path;
}

}  // namespace mixcl::scheduler::test
