// `mixcl synth` through the real binary: tiny geometries, flags, errors, and Ctrl-C during a large write.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "model/arch/deepseek2_config.h"
#include "model/gguf/gguf_file.h"
#include "tests/model/synth/synth_test_util.h"
#include "tests/support/command.h"

namespace mixcl::synth {
namespace {

using testing::TempDir;

using ::mixcl::test::CommandResult;
using ::mixcl::test::run_mixcl;

TEST(SynthCli, WritesTinyGeometries) {
  TempDir dir;
  // The library tests cover every variant; here two geometries go through the binary.
  for (std::string name : {"tiny-v3", "tiny-moonlight"}) {
    const auto path = dir / (name + ".gguf");
    const CommandResult r = run_mixcl("synth --geometry " + name + " --type-experts Q8_0 -o " + path.string());
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("wrote " + path.string()), std::string::npos) << r.output;
    const auto f = gguf::GgufFile::open(path);
    EXPECT_EQ(arch::from_gguf(f).n_layer, arch::geometry(name).n_layer);
  }
}

TEST(SynthCli, FlagsReachTheFile) {
  TempDir dir;
  const auto path = dir / "m.gguf";
  const CommandResult r = run_mixcl(
      "synth --geometry tiny-v2-lite --layers 2 --experts 4 --seed 9 --mla legacy --gating sigmoid --groups 2/1 "
      "--tied-output --type-experts Q5_K --type-attn Q4_K --type-shared Q6_K --type-dense F16 --type-embd Q8_0 "
      "--type-norm BF16 -o " +
      path.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto f = gguf::GgufFile::open(path);
  const arch::Deepseek2Config c = arch::from_gguf(f);
  EXPECT_EQ(c.n_layer, 2u);
  EXPECT_EQ(c.n_dense, 1u);
  EXPECT_EQ(c.n_expert, 4u);
  EXPECT_EQ(c.mla, arch::MlaLayout::kLegacy);
  EXPECT_EQ(c.gating, arch::GatingFunc::kSigmoid);
  EXPECT_TRUE(c.router_bias);
  EXPECT_EQ(c.n_group, 2u);
  EXPECT_EQ(c.n_group_used, 1u);
  EXPECT_TRUE(c.tied_output);
  EXPECT_EQ(c.q_lora_rank, 0u);
  EXPECT_EQ(f.get_u64("general.synth.seed"), 9u);
  EXPECT_EQ(f.tensor("blk.1.ffn_up_exps.weight").type, DType::Q5_K);
  EXPECT_EQ(f.tensor("blk.1.attn_q.weight").type, DType::Q4_K);
  EXPECT_EQ(f.tensor("blk.1.attn_kv_b.weight").type, DType::Q5_0);  // ne0 = Lkv = 64: Q4_K does not fit
  EXPECT_EQ(f.tensor("blk.1.ffn_down_shexp.weight").type, DType::Q6_K);  // ne0 = 2 Fe = 512
  EXPECT_EQ(f.tensor("blk.0.ffn_up.weight").type, DType::F16);
  EXPECT_EQ(f.tensor("token_embd.weight").type, DType::Q8_0);
  EXPECT_EQ(f.tensor("blk.0.attn_norm.weight").type, DType::BF16);
  EXPECT_EQ(f.tensor("blk.1.ffn_gate_inp.weight").type, DType::BF16);
  EXPECT_FALSE(f.find_tensor("output.weight"));
  const CommandResult q = run_mixcl(
      "synth --geometry tiny-v3 --no-q-lora --gating sqrt-softplus --type-experts Q8_0 -o " + path.string());
  ASSERT_EQ(q.status, 0) << q.output;
  const arch::Deepseek2Config c2 = arch::from_gguf(gguf::GgufFile::open(path));  // overwrote the file
  EXPECT_EQ(c2.q_lora_rank, 0u);
  EXPECT_EQ(c2.gating, arch::GatingFunc::kSqrtSoftplus);
}

TEST(SynthCli, BadFlagsGiveAClearErrorAndNoFile) {
  TempDir dir;
  const auto path = dir / "m.gguf";
  const struct {
    std::string args, message;
  } cases[] = {
      {"--geometry tiny-v9", "unknown deepseek2 geometry 'tiny-v9'"},
      {"--geometry tiny-v3 --type-experts Q9_K", "Q9_K"},
      {"--geometry tiny-v3 --type-norm Q8_0", "F32, F16 or BF16"},
      {"--geometry tiny-v3 --groups 5/2", "5 equal groups"},
      {"--geometry tiny-v3 --groups four", "expected G/Gk"},
      {"--geometry tiny-v3 --mla mixed", "'split' or 'legacy'"},
      {"--geometry tiny-v3 --experts 2", "4 experts used per token but only 2"},
      {"--geometry tiny-v3 --layers 0", "at least 1"},
  };
  for (const auto& tc : cases) {
    const CommandResult r = run_mixcl("synth " + tc.args + " -o " + path.string());
    EXPECT_EQ(r.status, 1) << tc.args << "\n" << r.output;
    EXPECT_NE(r.output.find(tc.message), std::string::npos) << tc.args << "\n" << r.output;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  const CommandResult list = run_mixcl("synth --list");
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.output.find("v2-lite"), std::string::npos);
  EXPECT_NE(list.output.find("tiny-sqrt-softplus"), std::string::npos);
}

TEST(SynthCli, SigintDuringALargeWriteLeavesNoFile) {
  TempDir dir;
  const auto path = dir / "big.gguf";
  const auto tmp = path.string() + ".tmp";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // child: a multi-GB write that must not finish before the signal
    execl(MIXCL_BINARY, MIXCL_BINARY, "synth", "--geometry", "v3", "--layers", "5", "-o", path.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(tmp) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const bool started = std::filesystem::exists(tmp);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGINT);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(started) << "the write never started";
  ASSERT_TRUE(WIFEXITED(st)) << "killed by a signal instead of exiting cleanly";
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(tmp));
}

}  // namespace
}  // namespace mixcl::synth
