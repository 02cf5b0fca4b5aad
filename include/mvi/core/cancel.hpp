// One cancellation path for a call (SPEC §9): the HTTP side cancels when the client leaves or the
// request deadline answered 504; whoever runs the call checks cancelled() before starting it and
// may register a hook that stops it while it runs (an awaited coroutine). Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>

namespace mvi::core {

class CancelToken {
 public:
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  // Marks the call cancelled and runs the hook once (on the calling thread, which may be an I/O
  // thread: hooks must not block or take the GIL). Idempotent.
  void cancel();

  // Sets the hook; runs it at once when the token is already cancelled. Replaces an earlier hook.
  void on_cancel(std::function<void()> hook);

  // Drops the hook (the call finished), so it never runs late.
  void clear_hook();

  // Whoever takes the call asks the HTTP side to watch for the client leaving: only a call that may
  // wait (queued behind others) or can be stopped (awaited) gains from it, and the watch costs a
  // system call per request.
  void request_watch() noexcept { watch_.store(true, std::memory_order_release); }
  bool watch_requested() const noexcept { return watch_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> watch_{false};
  std::mutex mutex_;
  std::function<void()> hook_;
};

}  // namespace mvi::core
