// The bounded in-memory log served by GET /logs: the newest records, oldest dropped first, plus
// subscribers for `follow=true`. Thread-safe: one mutex; subscribers run after it is released,
// on the thread that logged, so they must be quick and must not block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "mvi/logs/record.hpp"

namespace mvi::logs {

struct LogQuery {
  std::size_t tail = 50;         // at most this many, the newest
  std::optional<double> since;   // Unix seconds: only records after it
  Level min_level = Level::trace;
};

class LogRing {
 public:
  using Listener = std::function<void(const Record&)>;

  explicit LogRing(std::size_t capacity = 10000);

  void push(Record record);
  std::vector<Record> query(const LogQuery& query) const;  // oldest first

  // Returns a handle; dropping every copy of it unsubscribes.
  std::shared_ptr<void> subscribe(Listener listener);

 private:
  struct Subscription;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Record> records_;
  std::uint64_t next_seq_ = 1;
  std::vector<std::weak_ptr<Subscription>> subscribers_;
};

}  // namespace mvi::logs
