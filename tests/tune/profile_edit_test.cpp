// Editing a profile's text (tune/profile_edit.h): a key's block is replaced or inserted where it belongs, missing
// maps are created, every other line (comments included) stays as written, and the result loads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scheduler/profile.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"
#include "tune/profile_edit.h"
#include "tune/tune_profile.h"

namespace mixcl::tune {
namespace {

using mixcl::test::expect_error;

const std::string kProfile =
    "# my workstation: do not lose this comment\n"
    "name: mine\n"
    "host:\n"
    "  threads: 2   # pinned by hand\n"
    "devices:\n"
    "  cl0:\n"
    "    match:\n"
    "      type: CPU\n"
    "    speeds:\n"
    "      read_gbps: 5      # old figure\n"
    "      copy_latency_us: 7\n"
    "    # kernels tuned last week\n"
    "    kernels:\n"
    "      rmsnorm: {macros: {RMS_LOCAL: 8}}\n"
    "      matmul.Q8_0.decode: {variant: workgroup}\n"
    "\n"
    "# placement below is hand-written\n"
    "placement:\n"
    "  - pattern: 'output\\.weight'\n"
    "    target: cl0\n";

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

TEST(ProfileEdit, ReplacesAnEntryAndKeepsEveryOtherLine) {
  const std::string out = set_yaml_block(kProfile, {"devices", "cl0", "kernels"}, "matmul.Q8_0.decode",
                                         {"{variant: vector, macros: {MM_ROWS: 4}}"}, "p.yaml");
  EXPECT_NE(out.find("      matmul.Q8_0.decode: {variant: vector, macros: {MM_ROWS: 4}}\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("workgroup"), std::string::npos) << out;
  for (const char* kept : {"# my workstation: do not lose this comment", "threads: 2   # pinned by hand",
                           "read_gbps: 5      # old figure", "# kernels tuned last week", "RMS_LOCAL: 8",
                           "# placement below is hand-written", "pattern: 'output\\.weight'"})
    EXPECT_NE(out.find(kept), std::string::npos) << kept << "\n" << out;
  const scheduler::Profile p = scheduler::parse_profile(out, "p.yaml", ".");
  EXPECT_EQ(p.devices.at(0).kernels.at("matmul.Q8_0.decode").macros.at("MM_ROWS"), "4");
  EXPECT_EQ(p.devices.at(0).kernels.at("rmsnorm").macros.at("RMS_LOCAL"), "8");
  EXPECT_EQ(p.placement.size(), 1u);
}

TEST(ProfileEdit, InsertsNewKeysAtTheEndOfTheirMap) {
  std::string out = set_yaml_block(kProfile, {"devices", "cl0", "kernels"}, "matmul.Q4_K.prefill",
                                   {"{macros: {MM_TILE_ROWS: 4}}"}, "p.yaml");
  out = set_yaml_block(out, {"devices", "cl0", "speeds"}, "read_gbps", {"12.5"}, "p.yaml");
  out = set_yaml_block(out, {"devices", "cl0", "speeds"}, "h2d_gbps", {"3.25"}, "p.yaml");
  out = set_yaml_block(out, {"host", "speeds"}, "read_gbps", {"20"}, "p.yaml");
  out = set_yaml_block(out, {"devices", "cl1", "speeds"}, "read_gbps", {"9"}, "p.yaml");
  const scheduler::Profile p = scheduler::parse_profile(out, "p.yaml", ".");
  const auto& d = p.devices.at(0);
  EXPECT_EQ(d.kernels.size(), 3u);
  EXPECT_EQ(d.speeds.read_gbps, 12.5);
  EXPECT_EQ(d.speeds.h2d_gbps, 3.25);
  EXPECT_EQ(d.speeds.copy_latency_us, 7);
  EXPECT_EQ(p.host.speeds.read_gbps, 20);
  EXPECT_EQ(p.host.threads, 2);
  ASSERT_EQ(p.devices.size(), 2u);
  EXPECT_EQ(p.devices[1].id, "cl1");
  EXPECT_EQ(p.devices[1].speeds.read_gbps, 9);
  EXPECT_EQ(count(out, "# placement below is hand-written"), 1u);
  // The placement comment still sits right above `placement:`.
  EXPECT_NE(out.find("# placement below is hand-written\nplacement:"), std::string::npos) << out;
}

TEST(ProfileEdit, RemovesAnEntryWithTheLinesUnderIt) {
  const std::string text = "devices:\n  cl0:\n    kernels:\n      matmul:\n        variant: vector  # x\n"
                           "        macros: {MM_ROWS: 4}\n      rmsnorm: {variant: vector}\n";
  const std::string out = remove_yaml_block(text, {"devices", "cl0", "kernels"}, "matmul", "p.yaml");
  EXPECT_EQ(out, "devices:\n  cl0:\n    kernels:\n      rmsnorm: {variant: vector}\n");
  EXPECT_EQ(remove_yaml_block(out, {"devices", "cl0", "kernels"}, "absent", "p.yaml"), out);
}

TEST(ProfileEdit, EmptyTextAndNullMapsGrow) {
  std::string out = set_yaml_block("# just a comment\n", {"host", "speeds"}, "read_gbps", {"10"}, "p.yaml");
  out = set_yaml_block(out, {"host"}, "threads", {"1"}, "p.yaml");
  EXPECT_EQ(out, "# just a comment\nhost:\n  speeds:\n    read_gbps: 10\n  threads: 1\n");
  out = set_yaml_block("host:\nname: x\n", {"host"}, "threads", {"3"}, "p.yaml");
  EXPECT_EQ(out, "host:\n  threads: 3\nname: x\n");
}

TEST(ProfileEdit, FlowMapsAndBrokenYamlAreClearErrors) {
  expect_error([] { set_yaml_block("host: {threads: 2}\n", {"host"}, "isa", {"avx2"}, "f.yaml"); },
               "f.yaml: host is written in flow style");
  expect_error([] { set_yaml_block("host: [1, 2]\n", {"host"}, "isa", {"avx2"}, "f.yaml"); },
               "f.yaml: host holds a single value or a list");
  expect_error([] { set_yaml_block("host:\n  a: [\n", {"host"}, "isa", {"avx2"}, "f.yaml"); }, "not valid YAML");
}

TEST(ProfileEdit, AtomicWriteReplacesTheFileAndLeavesNoTemporary) {
  mixcl::test::TempDir dir("tune_write");
  const auto path = (dir / "p.yaml").string();
  write_file_atomically(path, "name: a\n");
  write_file_atomically(path, "name: b\n");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "name: b\n");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  expect_error([&] { write_file_atomically((dir / "missing" / "p.yaml").string(), "x"); }, "does not exist");
}

TEST(KernelEntryText, IsAFlowMapThatParsesBack) {
  EXPECT_EQ(kernel_entry_text({"vector", {{"MM_ROWS", "4"}, {"MM_LOCAL", "16"}}}),
            "{variant: vector, macros: {MM_LOCAL: 16, MM_ROWS: 4}}");
  EXPECT_EQ(kernel_entry_text({"", {{"MM_GEMM_FROM_M", "never"}}}), "{macros: {MM_GEMM_FROM_M: never}}");
}

}  // namespace
}  // namespace mixcl::tune
