// Host weights copied into huge pages (HostWeightMemory::kHugePages) compute exactly what the mapped weights
// compute, are charged to the host budget, and a budget too small for them is a clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "executor_test_util.h"

namespace mixcl::scheduler::test {
namespace {

using ::testing::HasSubstr;

ExecutorOptions options(HostWeightMemory memory) {
  ExecutorOptions o;
  o.batch = 4;
  o.context = 32;
  o.host_weights = memory;
  return o;
}

// Quantized weights (the file's default mix): the copy must keep every block byte for byte.
const gguf::GgufFile& quant_v3() {
  static const gguf::GgufFile f = gguf::GgufFile::open(synth_model("v3-quant", "tiny-v3", synth::TypeChoice{}));
  return f;
}

uint64_t file_bytes(const gguf::GgufFile& f) {
  uint64_t n = 0;
  for (const auto& t : f.tensors()) n += t.nbytes;
  return n;
}

TEST(ExecutorWeightMemory, HugePagesGiveTheSameLogitsAsTheMapping) {
  const auto& file = quant_v3();
  const auto tokens = test_tokens(11, arch::from_gguf(file).n_vocab, 3);
  const RunOutput mapped = run_model(file, {&host()}, options(HostWeightMemory::kMapped), tokens, 4);
  const RunOutput copied = run_model(file, {&host()}, options(HostWeightMemory::kHugePages), tokens, 4);
  EXPECT_EQ(mapped.logits, copied.logits) << "the same bytes through the same kernels";
  EXPECT_EQ(mapped.routes, copied.routes);
}

TEST(ExecutorWeightMemory, CopiesAreChargedToTheHostBudgetAndReportedAsWeights) {
  const auto& file = quant_v3();
  const uint64_t before = host().memory().used();
  Executor ex(file, {&host()}, options(HostWeightMemory::kHugePages));
  const auto r = ex.memory_report();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].mapped, 0u) << "nothing is used in place";
  // Every file tensor is copied once; tensors the executor re-lays out or converts are copied in their new form.
  EXPECT_GE(r[0].weights, file_bytes(file) * 9 / 10);
  EXPECT_GE(host().memory().used() - before, r[0].weights + r[0].kv_cache);
  EXPECT_EQ(host().mapped_bytes(), 0u);

  Executor in_place(file, {&host()}, options(HostWeightMemory::kMapped));
  EXPECT_GT(in_place.memory_report()[0].mapped, file_bytes(file) * 9 / 10);
}

TEST(ExecutorWeightMemory, ABudgetTooSmallForTheCopiesNamesTheTensorAndTheFix) {
  const auto& file = quant_v3();
  backend::MemoryBudget& budget = host().memory();
  const uint64_t old_budget = budget.budget();
  budget.set_budget(budget.used() + file_bytes(file) / 4);
  std::string msg = "(no error)";
  try {
    Executor ex(file, {&host()}, options(HostWeightMemory::kHugePages));
  } catch (const Error& e) {
    msg = e.what();
  }
  budget.set_budget(old_budget);
  EXPECT_THAT(msg, AllOf(HasSubstr("host"), HasSubstr(".weight"), HasSubstr("weight_memory: mapped")));
  // The mapping needs no budget: the same model loads in place.
  budget.set_budget(budget.used() + file_bytes(file) / 4);
  EXPECT_NO_THROW(Executor(file, {&host()}, options(HostWeightMemory::kMapped)));
  budget.set_budget(old_budget);
}

}  // namespace
}  // namespace mixcl::scheduler::test
