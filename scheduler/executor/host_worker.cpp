#include "scheduler/executor/host_worker.h"

#include <utility>

#include "common/error.h"

namespace mixcl::scheduler::exec {

HostWorker::HostWorker() : thread_([this] { loop(); }) {}

HostWorker::~HostWorker() {
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return !running_; });
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void HostWorker::start(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (pending_) fail("internal: host worker given a task while the previous one was not waited for");
    task_ = std::move(task);
    pending_ = running_ = true;
    error_ = nullptr;
  }
  wake_.notify_one();
}

void HostWorker::wait() {
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    if (!pending_) return;
    done_.wait(lock, [this] { return !running_; });
    pending_ = false;
    error = std::exchange(error_, nullptr);
  }
  if (error) std::rethrow_exception(error);
}

uint64_t HostWorker::tasks_run() const {
  std::lock_guard lock(mutex_);
  return tasks_run_;
}

void HostWorker::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || (running_ && task_); });
    if (stop_) return;
    std::function<void()> task = std::move(task_);
    task_ = nullptr;
    lock.unlock();
    std::exception_ptr error;
    try {
      task();
    } catch (...) {
      error = std::current_exception();
    }
    task = nullptr;  // captured state is released before the caller is told the task is done
    lock.lock();
    error_ = error;
    ++tasks_run_;
    running_ = false;
    done_.notify_all();
  }
}

WorkerJoin::~WorkerJoin() {
  if (!worker_) return;
  try {
    worker_->wait();
  } catch (...) {  // the exception already unwinding is the one to report
  }
}

void WorkerJoin::wait() {
  HostWorker* w = std::exchange(worker_, nullptr);
  w->wait();
}

}  // namespace mixcl::scheduler::exec
