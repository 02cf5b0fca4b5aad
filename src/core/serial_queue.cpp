// SerialQueue: one thread, a deque under a mutex; a task that throws is dropped (its own code answers).
#include "mvi/core/serial_queue.hpp"

#include "mvi/core/thread.hpp"

namespace mvi::core {

SerialQueue::SerialQueue(std::string thread_name) : name_(std::move(thread_name)), thread_([this] { run(); }) {}

SerialQueue::~SerialQueue() { stop(); }

void SerialQueue::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      tasks_.push_back(std::move(task));
      cv_.notify_one();
      return;
    }
  }
  task();
}

void SerialQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void SerialQueue::run() {
  name_this_thread(name_.c_str());
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, and everything posted has run
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (...) {
    }
    lock.lock();
  }
}

}  // namespace mvi::core
