// LogRing: a deque under a mutex; subscriptions are weak so a gone follower costs nothing.
#include "mvi/logs/log_ring.hpp"

#include <algorithm>

namespace mvi::logs {

struct LogRing::Subscription {
  Listener listener;
};

LogRing::LogRing(std::size_t capacity) : capacity_(capacity ? capacity : 1) {}

void LogRing::push(Record record) {
  std::vector<std::shared_ptr<Subscription>> live;
  {
    std::lock_guard lock(mutex_);
    record.seq = next_seq_++;
    auto it = subscribers_.begin();
    while (it != subscribers_.end()) {
      if (auto s = it->lock()) {
        live.push_back(std::move(s));
        ++it;
      } else {
        it = subscribers_.erase(it);
      }
    }
    // Followers get the record after the lock is released, so the ring keeps a copy only when there are any.
    if (live.empty()) records_.push_back(std::move(record));
    else records_.push_back(record);
    while (records_.size() > capacity_) records_.pop_front();
  }
  for (const auto& s : live) s->listener(record);
}

std::vector<Record> LogRing::query(const LogQuery& q) const {
  std::lock_guard lock(mutex_);
  std::vector<Record> out;
  for (auto it = records_.rbegin(); it != records_.rend() && out.size() < q.tail; ++it) {
    if (it->level < q.min_level) continue;
    if (q.since && unix_seconds(it->time) <= *q.since) break;  // older from here on
    out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::shared_ptr<void> LogRing::subscribe(Listener listener) {
  auto s = std::make_shared<Subscription>(Subscription{std::move(listener)});
  std::lock_guard lock(mutex_);
  subscribers_.push_back(s);
  return s;
}

}  // namespace mvi::logs
