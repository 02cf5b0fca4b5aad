// A list of listeners that state stores fan changes out to: added at start-up, called after the
// store's own lock is released, each call on a snapshot so a listener may add another or call back
// into the store. Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

namespace mvi::core {

template <class... Args>
class Listeners {
 public:
  using Listener = std::function<void(const Args&...)>;

  void add(Listener listener) {
    std::lock_guard lock(mutex_);
    listeners_.push_back(std::move(listener));
  }

  // Calls every listener in the order added; the caller holds none of its own locks.
  void notify(const Args&... args) const {
    std::vector<Listener> snapshot;
    {
      std::lock_guard lock(mutex_);
      snapshot = listeners_;
    }
    for (const auto& l : snapshot) l(args...);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Listener> listeners_;
};

}  // namespace mvi::core
