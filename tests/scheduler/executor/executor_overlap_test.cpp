// Host routed experts overlapped with the shared expert on a PoCL device: the same logits and routes as the
// one-after-the-other run (bit for bit: the same arithmetic in the same order), close to a host-only run, the
// counters say what overlapped, and the persistent host worker runs tasks, reports errors and never hangs.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "executor_test_util.h"
#include "scheduler/executor/host_worker.h"

namespace mixcl::scheduler::test {
namespace {

// Default (Q4_K_M-like) types: the path a real model takes.
const gguf::GgufFile& q_v3() {
  static const gguf::GgufFile f = gguf::GgufFile::open(synth_model("v3-q-overlap", "tiny-v3", {}));
  return f;
}

// F32 weights: the host and PoCL compute the same function up to float rounding (quantized weights differ by
// the host's 8-bit activations, about 1.5% of the logit range), so the run can be checked against the host.
const gguf::GgufFile& f32_v3() {
  static const gguf::GgufFile f = gguf::GgufFile::open(synth_model("v3-f32-overlap", "tiny-v3", all_f32()));
  return f;
}

// Devices {cl, host}: everything on the PoCL device except the routed experts (host DRAM, host compute).
ExecutorOptions experts_on_host(bool overlap, uint32_t batch) {
  ExecutorOptions o;
  o.context = 40;
  o.batch = batch;
  o.kv_type = DType::F16;
  o.overlap_host_experts = overlap;
  o.placement = [](std::string_view name) -> size_t { return name.find("_exps.") != std::string_view::npos ? 1 : 0; };
  return o;
}

struct CountedRun {
  RunOutput out;
  ExecutorStats stats;
};

CountedRun run_counted(const gguf::GgufFile& file, std::vector<backend::Device*> devices, ExecutorOptions o,
                       const std::vector<int32_t>& tokens, size_t chunk) {
  CountedRun r;
  r.out = run_model(file, std::move(devices), std::move(o), tokens, chunk, &r.stats);
  return r;
}

TEST(ExecutorOverlap, SameLogitsAsSequentialAndCounted) {
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty()) << "needs a PoCL device";
  const auto& file = f32_v3();
  const auto c = arch::from_gguf(file);
  const uint32_t moe_layers = c.n_layer - c.n_dense;
  ASSERT_GT(moe_layers, 0u);
  ASSERT_GT(c.n_expert_shared, 0u) << "the overlap needs a shared expert";
  const auto tokens = test_tokens(13, c.n_vocab, 11);
  // A prefill of 5 (batches of 3 and 2), then one token at a time.
  auto run = [&](bool overlap) {
    Executor ex(file, {cl[0], &host()}, experts_on_host(overlap, 3));
    CountedRun r;
    ForwardRequest req;
    req.all_logits = true;
    req.routes = true;
    append(r.out, ex.forward(std::span(tokens).first(5), req));
    for (size_t i = 5; i < tokens.size(); ++i) append(r.out, ex.forward(std::span(tokens).subspan(i, 1), req));
    r.stats = ex.stats();
    return r;
  };
  const CountedRun seq = run(false), ovl = run(true);
  const uint64_t batches = 2 + (tokens.size() - 5);
  EXPECT_EQ(seq.stats.tokens, tokens.size());
  EXPECT_EQ(seq.stats.host_expert_steps, batches * moe_layers);
  EXPECT_EQ(seq.stats.overlapped_steps, 0u) << "overlap_host_experts = false must not overlap";
  EXPECT_EQ(ovl.stats.host_expert_steps, batches * moe_layers);
  EXPECT_EQ(ovl.stats.overlapped_steps, batches * moe_layers);
  ASSERT_EQ(seq.out.logits.size(), tokens.size() * c.n_vocab);
  // Same ops on the same devices, sums in the same order: equal, not merely close.
  EXPECT_EQ(max_abs_diff(seq.out.logits, ovl.out.logits), 0.0);
  EXPECT_EQ(seq.out.routes, ovl.out.routes);
  // And both are the model: close to the host alone.
  ExecutorOptions on_host = experts_on_host(true, 3);
  on_host.placement = nullptr;
  const CountedRun ref = run_counted(file, {&host()}, on_host, tokens, 5);
  EXPECT_EQ(ref.stats.host_expert_steps, 0u) << "host only: nothing is apart";
  expect_same(ref.out, ovl.out, 1e-3, "host routed experts overlapped with PoCL");
}

TEST(ExecutorOverlap, SameWhenSharedExpertsSitOnTheOtherDevice) {
  // Routed on the host, shared experts on the second PoCL device, attention on the first: three places.
  const auto cl = cl_devices();
  ASSERT_GE(cl.size(), 2u) << "POCL_DEVICES=\"pthread pthread\" should expose two PoCL devices";
  const auto& file = q_v3();
  const auto tokens = test_tokens(7, arch::from_gguf(file).n_vocab, 5);
  auto opts = [](bool overlap) {
    ExecutorOptions o = experts_on_host(overlap, 4);
    o.placement = [](std::string_view name) -> size_t {
      if (name.find("_exps.") != std::string_view::npos) return 2;
      return name.find("shexp") != std::string_view::npos ? 1 : 0;
    };
    return o;
  };
  const CountedRun seq = run_counted(file, {cl[0], cl[1], &host()}, opts(false), tokens, 1);
  const CountedRun ovl = run_counted(file, {cl[0], cl[1], &host()}, opts(true), tokens, 1);
  EXPECT_GT(ovl.stats.overlapped_steps, 0u);
  EXPECT_EQ(max_abs_diff(seq.out.logits, ovl.out.logits), 0.0);
  EXPECT_EQ(seq.out.routes, ovl.out.routes);
}

TEST(ExecutorOverlap, NoWorkerWhereNothingIsApart) {
  // Routed experts on a PoCL device with the shared expert on the host: both halves are not host-routed, the
  // old path runs and no step counts as overlapped.
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty());
  const auto& file = q_v3();
  const auto tokens = test_tokens(4, arch::from_gguf(file).n_vocab, 9);
  ExecutorOptions o = experts_on_host(true, 4);
  o.placement = [](std::string_view name) -> size_t { return name.find("_exps.") != std::string_view::npos ? 0 : 1; };
  const CountedRun r = run_counted(file, {cl[0], &host()}, o, tokens, 1);
  EXPECT_EQ(r.stats.host_expert_steps, 0u);
  EXPECT_EQ(r.stats.overlapped_steps, 0u);
}

TEST(HostWorker, RunsTasksOnOneThreadAndRethrows) {
  exec::HostWorker w;
  std::set<std::thread::id> ids;
  int sum = 0;
  for (int i = 1; i <= 200; ++i) {
    w.start([&, i] {
      ids.insert(std::this_thread::get_id());
      sum += i;
    });
    w.wait();
  }
  EXPECT_EQ(sum, 200 * 201 / 2);
  ASSERT_EQ(ids.size(), 1u) << "one persistent thread, not one per task";
  EXPECT_NE(*ids.begin(), std::this_thread::get_id());
  EXPECT_EQ(w.tasks_run(), 200u);
  w.wait();  // nothing pending: returns at once

  w.start([] { throw std::runtime_error("expert kernel failed"); });
  EXPECT_THROW(
      {
        try {
          w.wait();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "expert kernel failed");
          throw;
        }
      },
      std::runtime_error);
  // The worker survives a failed task.
  std::atomic<bool> ran{false};
  w.start([&] { ran = true; });
  w.wait();
  EXPECT_TRUE(ran);
}

TEST(HostWorker, SecondStartWithoutWaitIsAnError) {
  exec::HostWorker w;
  std::atomic<bool> release{false};
  w.start([&] {
    while (!release) std::this_thread::yield();
  });
  EXPECT_THROW(w.start([] {}), Error);
  release = true;
  w.wait();
}

TEST(HostWorker, JoinGuardWaitsWhenTheCallerThrows) {
  exec::HostWorker w;
  std::atomic<int> done{0};
  try {
    exec::WorkerJoin join(w);
    w.start([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done = 1;
    });
    throw std::runtime_error("accelerator failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(done.load(), 1) << "the guard must wait for the task before the scope's state goes away";
  // Destroying a worker with a task in flight waits for it.
  {
    exec::HostWorker w2;
    w2.start([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done = 2;
    });
  }
  EXPECT_EQ(done.load(), 2);
}

}  // namespace
}  // namespace mixcl::scheduler::test
