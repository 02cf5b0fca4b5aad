// CancelToken: a flag plus a hook run outside the lock, so a hook may itself take locks.
#include "mvi/core/cancel.hpp"

namespace mvi::core {

void CancelToken::cancel() {
  std::function<void()> hook;
  {
    std::lock_guard lock(mutex_);
    if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
    hook.swap(hook_);
  }
  if (hook) hook();
}

void CancelToken::on_cancel(std::function<void()> hook) {
  {
    std::lock_guard lock(mutex_);
    if (!cancelled_.load(std::memory_order_acquire)) {
      hook_ = std::move(hook);
      return;
    }
  }
  if (hook) hook();
}

void CancelToken::clear_hook() {
  std::function<void()> old;
  std::lock_guard lock(mutex_);
  old.swap(hook_);
}

}  // namespace mvi::core
