// One cancellation path for a call (SPEC §9): the HTTP side cancels when the client leaves or the
// request deadline answered 504; whoever runs the call checks cancelled() before starting it and
// may register a hook that stops it while it runs (an awaited coroutine). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
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

  // How to ask, cheaply and from any thread, whether the client is gone (the HTTP side peeks at its
  // socket). Set once, before the token is shared. An executor asks before running a call that
  // waited, so a queued call whose client left is dropped without a watch per request.
  void set_probe(std::function<bool()> client_gone) { probe_ = std::move(client_gone); }
  bool client_gone() const { return probe_ && probe_(); }

  // Whether a call that has waited `waited` in a queue should be dropped before it runs: it was
  // cancelled, or it waited longer than kProbeAfter and the probe says its client has gone. Shorter
  // waits are the normal queueing of a busy server, not worth the probe's system call.
  static constexpr std::chrono::milliseconds kProbeAfter{20};
  bool abandoned(std::chrono::steady_clock::duration waited) const {
    return cancelled() || (waited > kProbeAfter && client_gone());
  }

  // Whoever takes the call asks the HTTP side to watch for the client leaving while it is pending:
  // an awaited call can be stopped then. The watch costs a system call per request, so only calls
  // that gain from it ask.
  void request_watch() noexcept { watch_.store(true, std::memory_order_release); }
  bool watch_requested() const noexcept { return watch_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> watch_{false};
  std::mutex mutex_;
  std::function<void()> hook_;
  std::function<bool()> probe_;
};

}  // namespace mvi::core
