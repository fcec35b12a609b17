#pragma once
// One persistent host thread that runs host work (routed experts) while the calling thread drives accelerators.
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace mixcl::scheduler::exec {

/// A thread started once per executor (never per token) that runs one task at a time. OpenMP regions inside a
/// task use the worker's own team, which libgomp keeps alive between tasks.
class HostWorker {
 public:
  HostWorker();
  /// Waits for a running task, then stops and joins the thread.
  ~HostWorker();
  HostWorker(const HostWorker&) = delete;
  HostWorker& operator=(const HostWorker&) = delete;

  /// Hands `task` to the worker and returns at once; throws when a task is still pending (call wait() first).
  void start(std::function<void()> task);
  /// Blocks until the started task has finished (no-op when none is pending); rethrows what the task threw.
  void wait();
  /// Tasks run since construction.
  uint64_t tasks_run() const;

 private:
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::function<void()> task_;
  bool pending_ = false;  // a task was started and wait() has not collected it yet
  bool running_ = false;  // the worker has a task in hand or queued
  bool stop_ = false;
  uint64_t tasks_run_ = 0;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts after the state above exists
};

/// Waits for a worker's task when a scope is left by an exception, so the task never outlives what it uses.
class WorkerJoin {
 public:
  explicit WorkerJoin(HostWorker& w) : worker_(&w) {}
  ~WorkerJoin();
  WorkerJoin(const WorkerJoin&) = delete;
  WorkerJoin& operator=(const WorkerJoin&) = delete;
  /// Waits now (rethrowing the task's error); the destructor then has nothing left to do.
  void wait();

 private:
  HostWorker* worker_;
};

}  // namespace mixcl::scheduler::exec
