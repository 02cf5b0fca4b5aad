// Runs posted tasks one at a time, in order, on its own thread: work that may wait (a state backend's disk
// or network) kept off the HTTP I/O threads. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace mvi::core {

class SerialQueue {
 public:
  explicit SerialQueue(std::string thread_name);
  ~SerialQueue();
  SerialQueue(const SerialQueue&) = delete;
  SerialQueue& operator=(const SerialQueue&) = delete;

  // Runs `task` after those posted before it. After stop(), runs it on the caller's thread.
  void post(std::function<void()> task);
  // Runs what was posted, then joins the thread. Idempotent.
  void stop();

 private:
  void run();

  std::string name_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mvi::core
