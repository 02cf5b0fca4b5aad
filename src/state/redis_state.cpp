// The Redis backend: one command connection (mutex; every call bounded by a timeout), one subscriber
// connection on its own thread (blocking reads, woken for stop() by shutting its socket down), one writer
// thread for notifications (so notify() in an entrypoint never waits for Redis). Parameter values are
// stored as JSON text {"g": generation, "v": value} and never decoded by Lua, so their exact JSON survives.
#include "mvi/state/redis_state.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "mvi/core/error.hpp"
#include "mvi/core/json.hpp"
#include "mvi/core/thread.hpp"
#include "mvi/core/time.hpp"
#include "mvi/logs/log.hpp"

namespace mvi::state {
namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t kNotificationCapacity = 1000;
constexpr std::size_t kQueueLimit = 1000;
constexpr double kBackoffMin = 0.1;
constexpr double kBackoffMax = 2.0;

// KEYS: generation, parameters. ARGV: name, value JSON, channel, publication time.
constexpr const char* kSetParameter = R"lua(
local g = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], '{"g":' .. g .. ',"v":' .. ARGV[2] .. '}')
redis.call('PUBLISH', ARGV[3], '{"t":"p","n":' .. cjson.encode(ARGV[1]) .. ',"g":' .. g .. ',"ts":' .. ARGV[4] ..
  ',"v":' .. ARGV[2] .. '}')
return g
)lua";

// KEYS: generation. ARGV: the highest generation a replica knows. Generations never go back.
constexpr const char* kRaiseGeneration = R"lua(
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
)lua";

// KEYS: parameters. ARGV: name, value JSON, generation, channel, publication time. Written back (and
// published: replicas that resynchronised first learn of it) unless Redis has it as new or newer.
constexpr const char* kRestoreParameter = R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and cjson.decode(old).g >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], '{"g":' .. ARGV[3] .. ',"v":' .. ARGV[2] .. '}')
redis.call('PUBLISH', ARGV[4], '{"t":"p","n":' .. cjson.encode(ARGV[1]) .. ',"g":' .. ARGV[3] .. ',"ts":' ..
  ARGV[5] .. ',"v":' .. ARGV[2] .. '}')
return 1
)lua";

// KEYS: notifications, order. ARGV: field, notification JSON, timestamp, channel. Written back (and
// published) unless Redis has it already: after a restart that lost its data.
constexpr const char* kRestoreNotification = R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('PUBLISH', ARGV[4], '{"t":"n","n":' .. ARGV[2] .. '}')
return 1
)lua";

// KEYS: notifications, order. ARGV: field, notification JSON (counter 1), timestamp, channel, capacity.
// A repeat anywhere counts on from the shared counter; the oldest beyond the capacity are dropped.
constexpr const char* kNotify = R"lua(
local n = cjson.decode(ARGV[2])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then n.counter = cjson.decode(old).counter + 1 end
local text = cjson.encode(n)
redis.call('HSET', KEYS[1], ARGV[1], text)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
while redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[5]) do
  local oldest = redis.call('ZPOPMIN', KEYS[2])
  redis.call('HDEL', KEYS[1], oldest[1])
end
redis.call('PUBLISH', ARGV[4], '{"t":"n","n":' .. text .. '}')
return text
)lua";

double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct ReplyFree {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// Null when the connection broke (c->err says why); an error reply is returned as such.
Reply command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

std::string reply_error(redisContext* c, const Reply& r) {
  if (!r) return c->errstr[0] ? c->errstr : "the connection was lost";
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return {};
}

std::string text(const redisReply* r) { return r && r->str ? std::string(r->str, r->len) : std::string(); }

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

timeval to_timeval(double s) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(s);
  tv.tv_usec = static_cast<suseconds_t>((s - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

// One entry per (severity, msg), as the store dedups them.
std::string notification_field(const Notification& n) { return std::to_string(n.input.severity) + ":" + n.input.msg; }

std::optional<StoredParameter> stored_from(const std::string& entry) {
  auto parsed = parse_json(entry, 512);
  if (!parsed.value || !parsed.value->is_object() || !parsed.value->contains("v")) return std::nullopt;
  const json& j = *parsed.value;
  if (!j.contains("g") || !j["g"].is_number_unsigned()) return std::nullopt;
  return StoredParameter{j["v"], j["g"].get<std::uint64_t>()};
}

}  // namespace

std::string RedisAddress::shown() const {
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisAddress parse_redis_url(const std::string& url) {
  const auto bad = [&url](const std::string& why) {
    const auto at = url.find('@');
    const std::string shown = at == std::string::npos ? url : url.substr(0, url.find("//") + 2) + "…" + url.substr(at);
    return core::Error::usage("--state " + shown + ": " + why);
  };
  if (url.rfind("rediss://", 0) == 0)
    throw core::Error::usage("--state rediss://: TLS to Redis needs a hiredis built with TLS, and this one (Debian "
                             "12's hiredis 0.14) has none; use redis:// on a trusted network or a TLS tunnel");
  if (url.rfind("redis://", 0) != 0) throw bad("not a redis:// address");
  RedisAddress a;
  std::string rest = url.substr(8);
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = auth.find(':'); colon != std::string::npos) {
      a.user = auth.substr(0, colon);
      a.password = auth.substr(colon + 1);
    } else {
      a.password = auth;
    }
  }
  std::string hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    hostport = rest.substr(0, slash);
    const std::string db = rest.substr(slash + 1);
    if (!db.empty()) {
      char* end = nullptr;
      const long n = std::strtol(db.c_str(), &end, 10);
      if (*end || n < 0 || n > 65535) throw bad("the database '" + db + "' is not a number");
      a.db = static_cast<int>(n);
    }
  }
  // host:port, [v6]:port; a bare v6 address without brackets has no port.
  const auto colon = hostport.rfind(':');
  const auto bracket = hostport.find(']');
  const bool bracketed = !hostport.empty() && hostport.front() == '[';
  if (colon != std::string::npos && (bracketed ? bracket != std::string::npos && bracket < colon
                                               : hostport.find(':') == colon)) {
    a.host = hostport.substr(0, colon);
    const std::string port = hostport.substr(colon + 1);
    char* end = nullptr;
    const long n = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || n < 1 || n > 65535) throw bad("the port '" + port + "' is not a port");
    a.port = static_cast<int>(n);
  } else {
    a.host = hostport;
  }
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  if (a.host.empty()) throw bad("no host");
  return a;
}

RedisState::RedisState(RedisAddress address, std::string ns, double timeout_s)
    : address_(std::move(address)),
      ns_(std::move(ns)),
      timeout_s_(timeout_s),
      k_generation_(ns_ + ":generation"),
      k_parameters_(ns_ + ":parameters"),
      k_notifications_(ns_ + ":notifications"),
      k_order_(ns_ + ":notification-order"),
      channel_(ns_ + ":events"),
      cmd_(nullptr, redisFree) {
  std::lock_guard lock(cmd_mutex_);
  std::string error;
  cmd_ = connect(error);
  if (!cmd_) {
    cmd_error_ = error;
    logs::runtime().warn("state: Redis at {} cannot be reached ({}); serving the values in the code until it can "
                         "(degraded: parameter changes answer 503)", address_.shown(), error);
  }
}

RedisState::~RedisState() { stop(); }

RedisState::Connection RedisState::connect(std::string& error) const {
  Connection c(redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(timeout_s_)), redisFree);
  if (!c || c->err) {
    error = c ? c->errstr : "out of memory";
    return Connection(nullptr, redisFree);
  }
  redisSetTimeout(c.get(), to_timeval(timeout_s_));
  redisEnableKeepAlive(c.get());
  std::vector<std::vector<std::string>> setup;
  if (!address_.password.empty()) {
    if (address_.user.empty()) setup.push_back({"AUTH", address_.password});
    else setup.push_back({"AUTH", address_.user, address_.password});
  }
  if (address_.db) setup.push_back({"SELECT", std::to_string(address_.db)});
  for (const auto& args : setup) {
    Reply r = command(c.get(), args);
    if (auto why = reply_error(c.get(), r); !why.empty()) {
      error = args[0] + ": " + why;
      return Connection(nullptr, redisFree);
    }
  }
  return c;
}

redisContext* RedisState::command_connection() {
  if (cmd_) return cmd_.get();
  const double now = monotonic();
  if (now < next_attempt_)
    throw StateUnavailable("Redis at " + address_.shown() + " cannot be reached (" + cmd_error_ + ")");
  std::string error;
  cmd_ = connect(error);
  if (!cmd_) {
    cmd_error_ = error;
    next_attempt_ = now + kBackoffMin * 5;
    throw StateUnavailable("Redis at " + address_.shown() + " cannot be reached (" + error + ")");
  }
  return cmd_.get();
}

void RedisState::drop_command_connection(const std::string& why) {
  cmd_.reset();
  cmd_error_ = why;
}

std::map<std::string, StoredParameter> RedisState::parameters() {
  std::lock_guard lock(cmd_mutex_);
  std::map<std::string, StoredParameter> out;
  if (!cmd_) return out;  // degraded from the start: the resync brings them when Redis is back
  Reply r = command(cmd_.get(), {"HGETALL", k_parameters_});
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    drop_command_connection(reply_error(cmd_.get(), r));
    return out;
  }
  for (std::size_t i = 0; i + 1 < r->elements; i += 2)
    if (auto p = stored_from(text(r->element[i + 1]))) out[text(r->element[i])] = std::move(*p);
  return out;
}

std::uint64_t RedisState::generation() {
  std::lock_guard lock(cmd_mutex_);
  if (!cmd_) return 0;
  Reply r = command(cmd_.get(), {"GET", k_generation_});
  if (!r) {
    drop_command_connection(reply_error(cmd_.get(), r));
    return 0;
  }
  return r->type == REDIS_REPLY_STRING ? std::strtoull(r->str, nullptr, 10) : 0;
}

std::uint64_t RedisState::store_parameter(const std::string& name, const json& value, std::uint64_t) {
  // Degraded (the subscription is down): refuse rather than change a value other replicas would not see.
  if (watching_.load() && !subscribed_.load())
    throw StateUnavailable("Redis at " + address_.shown() + " cannot be reached; other replicas would not see it");
  std::lock_guard lock(cmd_mutex_);
  redisContext* c = command_connection();
  Reply r = command(c, {"EVAL", kSetParameter, "2", k_generation_, k_parameters_, name, dump_json(value), channel_,
                        number(core::unix_now())});
  if (!r || r->type != REDIS_REPLY_INTEGER) {
    const std::string why = reply_error(c, r);
    if (!r) drop_command_connection(why);
    throw StateUnavailable("Redis at " + address_.shown() + " did not store it (" + why + ")");
  }
  writes_.fetch_add(1);
  return static_cast<std::uint64_t>(r->integer);
}

std::vector<Notification> RedisState::notifications() {
  std::lock_guard lock(cmd_mutex_);
  std::vector<Notification> out;
  if (!cmd_) return out;
  Reply r = command(cmd_.get(), {"HGETALL", k_notifications_});
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    drop_command_connection(reply_error(cmd_.get(), r));
    return out;
  }
  for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
    auto parsed = parse_json(text(r->element[i + 1]), 16);
    if (parsed.value && parsed.value->is_object()) out.push_back(notification_from_stored(*parsed.value));
  }
  std::sort(out.begin(), out.end(), [](const Notification& a, const Notification& b) { return a.timestamp < b.timestamp; });
  for (std::size_t i = 0; i < out.size(); ++i) out[i].id = i + 1;
  return out;
}

void RedisState::store_notification(const Notification& n, const std::vector<std::uint64_t>&) {
  const std::string field = notification_field(n);
  Notification first = n;
  first.counter = 1;  // the script counts on from the shared counter
  const std::string body = dump_json(stored_notification(first));
  const std::string ts = number(n.timestamp);
  std::lock_guard lock(queue_mutex_);
  if (queue_.size() >= kQueueLimit) queue_.pop_front();  // kept in memory here; only sharing is lost
  queue_.push_back([this, field, body, ts](redisContext* c) {
    Reply r = command(c, {"EVAL", kNotify, "2", k_notifications_, k_order_, field, body, ts, channel_,
                          std::to_string(kNotificationCapacity)});
    if (!r) throw StateUnavailable(reply_error(c, r));
  });
  queue_cv_.notify_one();
}

void RedisState::clear_notifications() {
  std::lock_guard lock(queue_mutex_);
  queue_.push_back([this](redisContext* c) {
    Reply r = command(c, {"DEL", k_notifications_, k_order_});
    if (!r) throw StateUnavailable(reply_error(c, r));
  });
  queue_cv_.notify_one();
}

void RedisState::watch(Remote remote) {
  remote_ = std::move(remote);
  watching_.store(true);  // after remote_ is set: readers of remote_ check this first
  subscriber_ = std::thread([this] { subscribe_loop(); });
  writer_ = std::thread([this] { write_loop(); });
}

void RedisState::stop() {
  if (stopping_.exchange(true)) return;
  if (int fd = sub_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
  queue_cv_.notify_all();
  if (subscriber_.joinable()) subscriber_.join();
  if (writer_.joinable()) writer_.join();
}

void RedisState::write_loop() {
  core::name_this_thread("mvi-state-write");
  std::unique_lock lock(queue_mutex_);
  while (!stopping_.load()) {
    // Degraded: what is queued waits for the resync (a wait without a predicate: no spin on a full queue).
    if (queue_.empty() || !subscribed_.load()) {
      queue_cv_.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    auto task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      std::lock_guard cmd(cmd_mutex_);
      try {
        task(command_connection());
      } catch (const StateUnavailable& e) {
        drop_command_connection(e.what());
        throw;
      }
    } catch (const std::exception& e) {
      logs::runtime().warn("state: a notification was not shared through Redis ({})", e.what());
    }
    lock.lock();
  }
}

void RedisState::subscribe_loop() {
  core::name_this_thread("mvi-state-sub");
  double backoff = kBackoffMin;
  bool was_up = true;  // so the first failure is logged
  while (!stopping_.load()) {
    std::string error;
    Connection sub = connect(error);
    if (sub) {
      // Blocking reads from here on: stop() shuts the socket down to wake this thread.
      redisSetTimeout(sub.get(), timeval{0, 0});
      sub_fd_.store(sub->fd);
      if (stopping_.load()) break;
      Reply r = command(sub.get(), {"SUBSCRIBE", channel_});
      if (r && r->type == REDIS_REPLY_ARRAY) {
        try {
          resync();  // after subscribing: nothing published from now on is missed
          subscribed_.store(true);
          backoff = kBackoffMin;
          if (!was_up) logs::runtime().info("state: Redis at {} is back; state resynchronised", address_.shown());
          was_up = true;
        } catch (const std::exception& e) {
          error = e.what();
        }
        while (subscribed_.load() && !stopping_.load()) {
          void* raw = nullptr;
          if (redisGetReply(sub.get(), &raw) != REDIS_OK) {
            error = sub->errstr;
            break;
          }
          Reply message(static_cast<redisReply*>(raw));
          if (!message || message->type != REDIS_REPLY_ARRAY || message->elements != 3) continue;
          auto parsed = parse_json(text(message->element[2]), 512);
          if (!parsed.value || !parsed.value->is_object()) continue;
          const json& m = *parsed.value;
          const std::string kind = m.value("t", std::string());
          try {
            if (kind == "p" && remote_.parameter) {
              const double ts = m.value("ts", 0.0);
              remote_.parameter(m.at("n").get<std::string>(), m.at("v"), m.at("g").get<std::uint64_t>());
              if (remote_.propagation) remote_.propagation(std::max(0.0, core::unix_now() - ts));
            } else if (kind == "n" && remote_.notification) {
              remote_.notification(notification_from_stored(m.at("n")));
            }
          } catch (const std::exception& e) {
            logs::runtime().warn("state: a change from Redis could not be applied ({})", e.what());
          }
        }
      } else {
        error = reply_error(sub.get(), r);
      }
      sub_fd_.store(-1);
    }
    subscribed_.store(false);
    if (stopping_.load()) break;
    if (was_up)
      logs::runtime().warn("state: Redis at {} cannot be reached ({}); degraded: parameter changes answer 503 "
                           "until it is back", address_.shown(), error);
    was_up = false;
    std::unique_lock lock(queue_mutex_);
    queue_cv_.wait_for(lock, std::chrono::duration<double>(backoff), [this] { return stopping_.load(); });
    backoff = std::min(backoff * 2, kBackoffMax);
  }
  subscribed_.store(false);
}

void RedisState::resync() {
  // What this replica knows goes back first if Redis has less (a restart that lost its data, or a new
  // Redis): the generation never goes back, and no value set while it was away is lost.
  auto [known, known_generation] =
      remote_.known ? remote_.known() : std::pair<std::map<std::string, StoredParameter>, std::uint64_t>{};
  std::vector<std::pair<std::string, StoredParameter>> parameters;
  std::vector<Notification> notes;
  {
    std::lock_guard lock(cmd_mutex_);
    redisContext* c = nullptr;
    try {
      c = command_connection();
    } catch (const StateUnavailable&) {
      next_attempt_ = 0;  // the subscriber just connected: try again now
      c = command_connection();
    }
    const auto fail = [&](const Reply& r) {
      const std::string why = reply_error(c, r);
      drop_command_connection(why);
      throw StateUnavailable("resynchronising: " + why);
    };
    if (known_generation > 0) {
      Reply r = command(c, {"EVAL", kRaiseGeneration, "1", k_generation_, std::to_string(known_generation)});
      if (!r || r->type == REDIS_REPLY_ERROR) fail(r);
      for (const auto& [name, p] : known) {
        Reply w = command(c, {"EVAL", kRestoreParameter, "1", k_parameters_, name, dump_json(p.value),
                              std::to_string(p.generation), channel_, number(core::unix_now())});
        if (!w || w->type == REDIS_REPLY_ERROR) fail(w);
      }
    }
    if (remote_.notifications) {
      Reply count = command(c, {"HLEN", k_notifications_});
      if (!count || count->type != REDIS_REPLY_INTEGER) fail(count);
      if (count->integer == 0)
        for (const auto& n : remote_.notifications()) {
          Reply w = command(c, {"EVAL", kRestoreNotification, "2", k_notifications_, k_order_,
                                notification_field(n), dump_json(stored_notification(n)), number(n.timestamp), channel_});
          if (!w || w->type == REDIS_REPLY_ERROR) fail(w);
        }
    }
    // Then everything Redis has that is newer than what this replica has.
    Reply all = command(c, {"HGETALL", k_parameters_});
    if (!all || all->type != REDIS_REPLY_ARRAY) fail(all);
    for (std::size_t i = 0; i + 1 < all->elements; i += 2)
      if (auto p = stored_from(text(all->element[i + 1]))) parameters.emplace_back(text(all->element[i]), std::move(*p));
    Reply stored = command(c, {"HGETALL", k_notifications_});
    if (!stored || stored->type != REDIS_REPLY_ARRAY) fail(stored);
    for (std::size_t i = 0; i + 1 < stored->elements; i += 2) {
      auto parsed = parse_json(text(stored->element[i + 1]), 16);
      if (parsed.value && parsed.value->is_object()) notes.push_back(notification_from_stored(*parsed.value));
    }
  }
  // Applied without the command connection's lock: a change being made here holds the store's writer
  // lock and waits for that connection.
  for (const auto& [name, p] : parameters)
    if (remote_.parameter) remote_.parameter(name, p.value, p.generation);
  for (const auto& n : notes)
    if (remote_.notification) remote_.notification(n);
}

}  // namespace mvi::state
