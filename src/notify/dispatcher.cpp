// The notification dispatcher: callers push into a bounded inbox under one mutex; the dispatcher's own thread
// (its own io_context) fans each notification out to one queue per sink target and delivers them one at a time
// per target, in order, retrying with exponential back-off on a steady_timer.
// Thread-safety: only enqueue(), stop() and stats() run on other threads; everything else runs on the
// dispatcher thread. Ordering rule: io_context is declared before the targets, so it is destroyed last.
#include "mvi/notify/dispatcher.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mvi/core/thread.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/notify/http_client.hpp"
#include "mvi/notify/payload.hpp"
#include "mvi/notify/smtp_client.hpp"
#include "mvi/notify/tls.hpp"

namespace mvi::notify {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kDropWarningInterval = std::chrono::seconds(10);

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double steady_seconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

struct Event {
  state::Notification notification;
  std::string service_name;
  std::string service_version;
};

struct Job {
  std::string delivery_id;
  std::string what;  // "notification 3 (counter 2)", for logs
  std::variant<HttpPost, EmailEnvelope> payload;
  int attempts = 0;
};

enum class Kind { webhook, manager, email };

struct Target {
  Target(net::io_context& ioc, Kind k, std::string n, std::optional<Url> u = std::nullopt)
      : kind(k), name(std::move(n)), url(std::move(u)), backoff(ioc) {}

  Kind kind;
  std::string name;        // for logs: never a path, query or credential
  std::optional<Url> url;  // where a webhook or the manager is posted to
  std::deque<Job> pending;
  std::optional<Job> current;  // being attempted, or waiting for its next attempt
  bool in_flight = false;      // an attempt of `current` is running
  net::steady_timer backoff;
};

}  // namespace

struct Dispatcher::Impl {
  explicit Impl(NotifyConfig c) : config(std::move(c)) {
    if (config.needs_tls()) tls = make_tls_context(config.ca_file);
    for (const auto& url : config.webhooks)
      targets.push_back(std::make_unique<Target>(ioc, Kind::webhook, "webhook " + url.redacted(), url));
    if (config.manager)
      targets.push_back(std::make_unique<Target>(ioc, Kind::manager, "manager " + config.manager->redacted(),
                                                 manager_endpoint(*config.manager)));
    if (config.smtp)
      targets.push_back(std::make_unique<Target>(ioc, Kind::email, "email via " + config.smtp->host));
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    id_prefix = buf;
  }

  // ---- any thread ----

  void enqueue(const state::Notification& n, const std::string& service, const std::string& version) {
    Event event{n, service, version};
    std::lock_guard lock(mutex);
    if (!accepting) return;
    ++enqueued;
    if (inbox.size() >= config.queue_limit) {
      inbox.pop_front();
      ++dropped;
    }
    inbox.push_back(std::move(event));
    if (!drain_posted) {
      drain_posted = true;
      net::post(ioc, [this] { drain(); });
    }
  }

  // ---- dispatcher thread ----

  void run() {
    for (;;) {
      try {
        ioc.run();
        break;
      } catch (const std::exception& e) {
        logs::get("mvi.notify")->error("notification delivery: unexpected error: {}", e.what());
      } catch (...) {
        logs::get("mvi.notify")->error("notification delivery: unexpected error");
      }
    }
    std::lock_guard lock(done_mutex);
    finished = true;
    done_cv.notify_all();
  }

  void drain() {
    std::deque<Event> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(inbox);
      drain_posted = false;
    }
    for (auto& e : batch) {
      try {
        fan_out(e);
      } catch (const std::exception& ex) {
        logs::get("mvi.notify")->error("notification {}: cannot prepare its deliveries: {}", e.notification.id,
                                       ex.what());
      }
    }
    report_drops(false);
  }

  void fan_out(const Event& e) {
    const auto& n = e.notification;
    std::string id = id_prefix + "-" + std::to_string(++sequence);
    std::string what = "notification " + std::to_string(n.id) + " (counter " + std::to_string(n.counter) + ")";
    std::optional<std::string> webhook_json;
    for (auto& t : targets) {
      Job job{id, what, {}, 0};
      switch (t->kind) {
        case Kind::webhook: {
          if (!webhook_json) webhook_json = webhook_body(n, e.service_name, e.service_version, id);
          HttpPost post{*t->url, common_headers(id), *webhook_json};
          if (!config.secret.empty())
            post.headers.emplace_back("X-MVI-Signature", signature_header_value(config.secret, post.body));
          job.payload = std::move(post);
          break;
        }
        case Kind::manager: {
          HttpPost post{*t->url, common_headers(id), manager_body(n, e.service_name, e.service_version)};
          if (!config.manager_token.empty())
            post.headers.emplace_back("Authorization", "Bearer " + config.manager_token);
          job.payload = std::move(post);
          break;
        }
        case Kind::email: {
          std::vector<std::string> rejected;
          auto to = email_recipients(n.input.emails, config.smtp->to, &rejected);
          for (const auto& r : rejected)
            logs::get("mvi.notify")->warn("{}: skipping e-mail address '{}': not a plain address", what, r);
          if (to.empty()) continue;
          auto key = EmailSuppressor::key(n.input.msg, n.input.severity, to);
          if (!suppressor.allow(key, n.input.timer, steady_seconds())) {
            ++suppressed;
            logs::get("mvi.notify")->debug("{}: e-mail suppressed (repeat within timer={} s)", what, n.input.timer);
            continue;
          }
          job.payload = email_message(n, e.service_name, e.service_version, config.smtp->from, to, id);
          break;
        }
      }
      push(*t, std::move(job));
    }
  }

  std::vector<std::pair<std::string, std::string>> common_headers(const std::string& id) const {
    return {{"Content-Type", "application/json"}, {"User-Agent", "mvi-runtime"}, {"X-MVI-Delivery", id}};
  }

  void push(Target& t, Job job) {
    if (t.pending.size() >= config.queue_limit) {
      t.pending.pop_front();
      std::lock_guard lock(mutex);
      ++dropped;
    }
    t.pending.push_back(std::move(job));
    pump(t);
  }

  void pump(Target& t) {
    if (stopping || t.current || t.pending.empty()) return;
    t.current = std::move(t.pending.front());
    t.pending.pop_front();
    attempt(t);
  }

  void attempt(Target& t) {
    Job& job = *t.current;
    ++job.attempts;
    t.in_flight = true;
    ++in_flight;
    if (auto* post = std::get_if<HttpPost>(&job.payload)) {
      async_http_post(ioc, tls, *post, config.retry.timeout_s, [this, &t](HttpOutcome o) {
        std::string why = o.error.empty() ? "HTTP " + std::to_string(o.status) : o.error;
        finished_attempt(t, classify_http_status(o.status), why);
      });
    } else {
      async_smtp_send(ioc, tls, *config.smtp, std::get<EmailEnvelope>(job.payload), [this, &t](SmtpOutcome o) {
        Verdict v = o.error.empty() ? Verdict::delivered : o.permanent ? Verdict::give_up : classify_smtp_code(o.code);
        finished_attempt(t, v, o.error.empty() ? "SMTP " + std::to_string(o.code) : o.error);
      });
    }
  }

  void finished_attempt(Target& t, Verdict verdict, const std::string& why) {
    t.in_flight = false;
    --in_flight;
    Job& job = *t.current;
    auto log = logs::get("mvi.notify");
    if (verdict == Verdict::delivered) {
      ++delivered;
      log->debug("{} delivered to {} ({}, attempt {}, delivery {})", job.what, t.name, why, job.attempts,
                 job.delivery_id);
      return next(t);
    }
    if (verdict == Verdict::give_up) {
      ++failed;
      log->warn("{} not delivered to {}: {} (not retried, delivery {})", job.what, t.name, why, job.delivery_id);
      return next(t);
    }
    if (stopping || job.attempts >= config.retry.max_attempts) {
      ++failed;
      log->warn("{} not delivered to {} after {} attempt(s){}: {} (delivery {})", job.what, t.name, job.attempts,
                stopping ? ", shutting down" : "", why, job.delivery_id);
      return next(t);
    }
    double delay = backoff_delay_s(config.retry, job.attempts);
    log->debug("{} to {}: attempt {} failed ({}); retrying in {} s", job.what, t.name, job.attempts, why, delay);
    t.backoff.expires_after(seconds(delay));
    t.backoff.async_wait([this, &t](const boost::system::error_code& ec) {
      if (ec || stopping) return;  // cancelled by stop(): the job is counted there
      attempt(t);
    });
  }

  void next(Target& t) {
    t.current.reset();
    pump(t);
    if (stopping) maybe_finish_stop();
  }

  void begin_stop() {
    drain();  // what was enqueued before stop() still gets its first attempt where a target is idle
    stopping = true;
    std::uint64_t abandoned = 0;
    for (auto& t : targets) {
      abandoned += t->pending.size();
      t->pending.clear();
      if (t->current && !t->in_flight) {  // waiting for a retry
        ++abandoned;
        t->current.reset();
        t->backoff.cancel();
      }
    }
    failed += abandoned;
    if (abandoned)
      logs::get("mvi.notify")->warn("shutdown: {} notification deliveries still queued are abandoned", abandoned);
    report_drops(true);
    maybe_finish_stop();
  }

  void maybe_finish_stop() {
    if (in_flight != 0) return;
    work.reset();
    ioc.stop();
  }

  void report_drops(bool force) {
    std::uint64_t total;
    {
      std::lock_guard lock(mutex);
      total = dropped;
    }
    if (total == reported_drops) return;
    auto now = Clock::now();
    if (!force && now - last_drop_warning < kDropWarningInterval && reported_drops != 0) return;
    logs::get("mvi.notify")
        ->warn("notification queue full: {} delivery(ies) dropped, oldest first ({} in total; MVI_NOTIFY_QUEUE_LIMIT={})",
               total - reported_drops, total, config.queue_limit);
    reported_drops = total;
    last_drop_warning = now;
  }

  NotifyConfig config;
  std::shared_ptr<TlsContext> tls;
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work{ioc.get_executor()};
  std::vector<std::unique_ptr<Target>> targets;  // destroyed before ioc
  std::thread thread;

  // Shared with callers of enqueue(), under `mutex`.
  mutable std::mutex mutex;
  std::deque<Event> inbox;
  bool drain_posted = false;
  bool accepting = false;
  bool stop_requested = false;
  std::uint64_t dropped = 0;

  std::atomic<std::uint64_t> enqueued{0}, delivered{0}, failed{0}, suppressed{0};

  // Dispatcher thread only.
  EmailSuppressor suppressor;
  std::string id_prefix;
  std::uint64_t sequence = 0;
  bool stopping = false;
  int in_flight = 0;
  std::uint64_t reported_drops = 0;
  Clock::time_point last_drop_warning{};

  // Tells stop() that run() returned.
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool finished = false;
};

Dispatcher::Dispatcher(NotifyConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->thread.joinable() || impl_->stop_requested) return;
  impl_->accepting = true;
  impl_->thread = std::thread([impl = impl_.get()] {
    core::name_this_thread("mvi-notify");
    core::schedule_as_batch();
    impl->run();
  });
}

void Dispatcher::enqueue(const state::Notification& n, const std::string& service_name,
                         const std::string& service_version) noexcept {
  try {
    impl_->enqueue(n, service_name, service_version);
  } catch (...) {
    std::lock_guard lock(impl_->mutex);  // bad_alloc: the notification is lost, and counted
    ++impl_->dropped;
  }
}

void Dispatcher::stop() noexcept {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (d.stop_requested) return;
    d.stop_requested = true;
    d.accepting = false;
  }
  if (!d.thread.joinable()) return;
  try {
    net::post(d.ioc, [&d] { d.begin_stop(); });
    // begin_stop() ends the loop once nothing is in flight; the grace period bounds the wait for that.
    auto grace = seconds(d.config.stop_grace_s) + std::chrono::milliseconds(100);
    std::unique_lock lock(d.done_mutex);
    if (!d.done_cv.wait_for(lock, grace, [&d] { return d.finished; })) {
      lock.unlock();
      logs::get("mvi.notify")->warn("shutdown: notification deliveries still in flight after {} s are abandoned",
                                    d.config.stop_grace_s);
      d.ioc.stop();
    }
  } catch (...) {
    d.ioc.stop();
  }
  d.thread.join();
}

DispatcherStats Dispatcher::stats() const {
  DispatcherStats s;
  s.enqueued = impl_->enqueued;
  s.delivered = impl_->delivered;
  s.failed = impl_->failed;
  s.suppressed = impl_->suppressed;
  std::lock_guard lock(impl_->mutex);
  s.dropped = impl_->dropped;
  return s;
}

}  // namespace mvi::notify
