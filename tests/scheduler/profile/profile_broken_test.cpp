// The corpus of broken profiles (tests/data/profiles_broken/): each file fails to load with its own specific
// message, naming file:line:column, the key, what was found and what is allowed.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "common/error.h"
#include "scheduler/profile.h"

namespace mixcl::scheduler {
namespace {

namespace fs = std::filesystem;

const fs::path kBrokenDir = fs::path(MIXCL_TEST_DATA_DIR) / "profiles_broken";

// file -> substrings its error message must contain.
const std::map<std::string, std::vector<std::string>> kExpected = {
    {"unknown_key.yaml",
     {"unknown_key.yaml:4:3: unknown key 'host.thread' (did you mean 'threads'?); allowed in host: dram_budget, "
      "threads, isa, weight_memory, speeds"}},
    {"unknown_top_key.yaml",
     {"unknown_top_key.yaml:3:1: unknown key 'device' (did you mean 'devices'?); allowed in the top level: name,"}},
    {"bad_size_unit.yaml",
     {"bad_size_unit.yaml:6:20: devices.gpu0.memory_budget: found '24GiBs', expected a size such as 24GiB",
      "unknown unit 'GiBs'", "KiB, MiB, GiB, TiB (powers of 1024), kB, MB, GB, TB (powers of 1000)"}},
    {"zero_budget.yaml",
     {"zero_budget.yaml:4:16: host.dram_budget: found '0GiB', expected a size above zero; leave the key out to use "
      "all physical memory"}},
    {"negative_budget.yaml",
     {"negative_budget.yaml:6:20: devices.gpu0.memory_budget: found '-1GiB', expected a size",
      "a size cannot be negative"}},
    {"bad_dtype.yaml",
     {"bad_dtype.yaml:5:19: quant.routed_experts: found 'Q4_KM', expected a ggml type name that weights can be "
      "stored in: ",
      "Q4_K, Q5_K", "(did you mean 'Q4_K'?)"}},
    {"kv_cache_quantized.yaml", {"kv_cache_quantized.yaml:4:13: quant.kv_cache: found 'Q8_0', expected F16 or F32"}},
    {"bad_regex.yaml",
     {"bad_regex.yaml:4:14: placement[0].pattern: 'blk\\.[0-9+\\.ffn_up_exps\\.weight' is not a valid regular "
      "expression (ECMAScript): "}},
    {"missing_device.yaml",
     {"missing_device.yaml:12:13: placement[1].target: found 'gpu2', expected host or a device id of this profile: "
      "host, gpu0, gpu1 (did you mean 'gpu0'?)"}},
    {"missing_extends.yaml",
     {"missing_extends.yaml:2:10: extends: profile 'no-such-profile' not found; looked for: ",
      "profiles_broken/no-such-profile.yaml"}},
    {"extends_cycle_a.yaml",
     {"extends_cycle_b.yaml:2:10: extends cycle: ", "extends_cycle_a.yaml -> ", "extends_cycle_b.yaml -> ",
      "a profile may not extend itself"}},
    {"extends_cycle_b.yaml", {"extends_cycle_a.yaml:2:10: extends cycle: ", "extends_cycle_b.yaml -> "}},
    {"self_extends.yaml", {"self_extends.yaml:2:10: extends cycle: ", "self_extends.yaml -> "}},
    {"list_for_map.yaml", {"list_for_map.yaml:3:7: host: found a list, expected a map of keys"}},
    {"map_for_list.yaml", {"map_for_list.yaml:4:3: placement: found a map, expected a list"}},
    {"duplicate_device.yaml",
     {"duplicate_device.yaml:7:3: duplicate key 'gpu0' (first written at line 4); each key may appear once"}},
    {"syntax_error.yaml", {"syntax_error.yaml:5:8: YAML syntax error: end of sequence flow not found"}},
    {"bad_device_type.yaml",
     {"bad_device_type.yaml:4:19: devices.npu0.match.type: found 'NPU', expected one of: GPU, CPU, ACCELERATOR, "
      "CUSTOM"}},
    {"bad_bool.yaml", {"bad_bool.yaml:5:21: devices.igpu.unified_memory: found 'sometimes', expected true or false"}},
    {"bad_threads.yaml", {"bad_threads.yaml:3:12: host.threads: found -4, expected a whole number from 1 to 4096"}},
    {"bad_weight_memory.yaml",
     {"bad_weight_memory.yaml:4:18: host.weight_memory: found 'hugepages', expected one of: mapped, huge_pages (did "
      "you mean 'huge_pages'?)"}},
    {"bad_variant.yaml",
     {"bad_variant.yaml:6:25: devices.gpu0.kernels.matmul.variant: found 'workgroups', expected one of: vector, "
      "workgroup (did you mean 'workgroup'?)"}},
    {"unknown_op.yaml",
     {"unknown_op.yaml:6:7: unknown key 'devices.gpu0.kernels.matmull' (did you mean 'matmul'?); allowed in "
      "devices.gpu0.kernels: add, scale,"}},
    {"rule_without_target.yaml", {"rule_without_target.yaml:3:5: placement[0]: a rule needs both", "missing target"}},
    {"reserved_device_id.yaml",
     {"reserved_device_id.yaml:4:3: devices: 'host' is not a usable device id", "'host' is reserved"}},
    {"zero_speed.yaml",
     {"zero_speed.yaml:6:18: devices.gpu0.speeds.read_gbps: found 0, expected a number above zero; leave the key "
      "out when the figure is unknown"}},
    {"bad_macro.yaml",
     {"bad_macro.yaml:8:27: devices.gpu0.kernels.matmul.macros.MM_ROWS: found '4 -DEVIL', expected a number or a "
      "name"}},
    {"empty.yaml", {"empty.yaml: the profile is empty"}},
    {"bad_matvec_format.yaml",
     {"bad_matvec_format.yaml:7:32: devices.gpu0.speeds.matvec_gbps: 'Q5K' is not a weight format; expected a ggml "
      "type name weights are stored in: ",
      "(did you mean 'Q5_K'?)"}},
    {"host_copy_latency.yaml",
     {"host_copy_latency.yaml:4:5: unknown key 'host.speeds.copy_latency_us'", "allowed in host.speeds: read_gbps, "
      "fp32_gflops, op_overhead_us"}},
};

TEST(BrokenProfiles, EachFileGetsItsSpecificError) {
  std::set<std::string> seen;
  for (const auto& entry : fs::directory_iterator(kBrokenDir)) {
    const std::string file = entry.path().filename().string();
    SCOPED_TRACE(file);
    seen.insert(file);
    const auto expected = kExpected.find(file);
    ASSERT_NE(expected, kExpected.end()) << "no expected message for " << file << ": add it to kExpected";
    try {
      load_profile(entry.path());
      ADD_FAILURE() << file << " loaded without an error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      for (const auto& part : expected->second) EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg;
      // Every message starts with the file it is about.
      EXPECT_NE(msg.find(".yaml"), std::string::npos) << msg;
    }
  }
  for (const auto& [file, parts] : kExpected) EXPECT_TRUE(seen.count(file)) << file << " is missing from " << kBrokenDir;
}

TEST(BrokenProfiles, TextGivesTheSameErrorsAsFiles) {
  try {
    parse_profile("name: x\nhost:\n  isa: avx3\n", "inline.yaml", ".");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "inline.yaml:3:8: host.isa: found 'avx3', expected one of: avx512, avx2, generic "
                           "(did you mean 'avx2'?)");
  }
}

}  // namespace
}  // namespace mixcl::scheduler
