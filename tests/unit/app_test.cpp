// Tests for mvi::api::App, driven with plain http::Request values and a fake exec::Invoker:
// no sockets, no Python (DESIGN rule 2). Covers SPEC §4's routes, §5's 422 shape and §8's
// JSON depth limit and queue back-pressure.
#include "mvi/api/app.hpp"

#include <gtest/gtest.h>

#include <spdlog/logger.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mvi/logs/log.hpp"

namespace mvi::api {
namespace {

using json = nlohmann::ordered_json;
using http::Header;
using http::Response;
using namespace std::chrono_literals;

// ---- the access log, read back from the log ring (stderr keeps the test output clean) ----

class CaptureLogs : public ::testing::Environment {
 public:
  void SetUp() override {
    logs::LogOptions options;
    options.level = "info";
    options.format = "text";
    options.service_name = "svc";
    options.to_stderr = true;
    logs::init(options);
  }
};

[[maybe_unused]] ::testing::Environment* const kCaptureLogs = ::testing::AddGlobalTestEnvironment(new CaptureLogs);

// The access-log lines logged since the last mark, as text.
struct AccessLog {
  std::uint64_t mark = 0;
  std::string str() const {
    logs::LogQuery q;
    q.tail = 100000;
    std::string out;
    for (const auto& r : logs::ring().query(q))
      if (r.seq > mark && r.logger == "mvi.access") out += logs::format_text(r, "svc");
    return out;
  }
  void str(const std::string&) {  // clears: only later lines count
    logs::LogQuery q;
    q.tail = 1;
    auto last = logs::ring().query(q);
    mark = last.empty() ? 0 : last.back().seq;
  }
};

AccessLog& access_log() {
  static AccessLog log;
  return log;
}

// ---- a fake Invoker ----

class FakeInvoker : public exec::Invoker {
 public:
  enum class Mode { sync, thread };

  ~FakeInvoker() override { join(); }

  bool submit(exec::Call call, exec::Completion done) override {
    exec::CallResult result;
    {
      std::lock_guard lock(mutex_);
      calls_.push_back(call);
      if (!accept) return false;
      result = respond ? respond(call) : this->result;
    }
    if (mode == Mode::sync) {
      done(std::move(result));
    } else {
      std::lock_guard lock(mutex_);
      threads_.emplace_back([done = std::move(done), result = std::move(result)]() mutable {
        std::this_thread::sleep_for(5ms);  // the I/O thread has long returned from handle()
        done(std::move(result));
      });
    }
    return true;
  }
  std::size_t queued() const override { return queued_value; }
  std::size_t busy() const override { return busy_value; }
  std::size_t executors() const override { return 2; }
  std::vector<exec::RunningCall> running() const override {
    std::lock_guard lock(mutex_);
    return running_value;
  }
  void stop() override { join(); }

  std::vector<exec::Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  // Configuration, set before requests are made.
  Mode mode = Mode::sync;
  bool accept = true;
  std::size_t queued_value = 0;
  std::size_t busy_value = 1;
  std::vector<exec::RunningCall> running_value;
  exec::CallResult result;
  std::function<exec::CallResult(const exec::Call&)> respond;

 private:
  void join() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  mutable std::mutex mutex_;
  std::vector<exec::Call> calls_;
  std::vector<std::thread> threads_;
};

exec::CallResult ok_result(json value) { return exec::CallResult::ok(std::move(value)); }

// What the mvi package exports for a small service.
const char* const kRegistry = R"({
  "entrypoints": [
    {"name": "hello", "params": [{"name": "name", "type": {"kind": "str"}},
                                 {"name": "times", "type": {"kind": "int"}, "required": false}]},
    {"name": "square", "method": "GET",
     "params": [{"name": "x", "type": {"kind": "int"}},
                {"name": "tags", "type": {"kind": "list", "items": {"kind": "str"}}, "required": false}]},
    {"name": "created", "status_code": 201},
    {"name": "nothing", "status_code": 204},
    {"name": "quiet", "disable_http_logs": true},
    {"name": "anything", "params": [{"name": "data", "type": {"kind": "any"}}]},
    {"name": "awaited", "is_async": true}
  ]
})";

std::optional<std::string> header(const Response& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (http::iequals(h.name, name)) return h.value;
  return std::nullopt;
}

json body_of(const Response& r) {
  try {
    return json::parse(r.body);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "body is not JSON: " << e.what() << "\n" << r.body.substr(0, 200);
    return nullptr;
  }
}

bool is_generated_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

class AppTest : public ::testing::Test {
 protected:
  AppTest() : notifications_("svc", "1.0.0") {
    config_.name = "svc";
    config_.version = "1.0.0";
    config_.service_path = "service.py";
    state::Parameter count;
    count.name = "count";
    count.type = schema::scalar(schema::Kind::int_);
    count.value = 3;
    parameters_.add(count);
    state::Parameter mode;
    mode.name = "mode";
    mode.type = schema::scalar(schema::Kind::str);
    mode.value = "fast";
    mode.expose = false;
    parameters_.add(mode);
    access_log().str("");
  }

  App& app() {
    if (!app_) app_ = std::make_unique<App>(AppDeps{config_, parameters_, notifications_, lifecycle_});
    return *app_;
  }

  // Loads the registry, attaches it and marks the service RUNNING, as the runtime does.
  void start() {
    registry_ = registry::parse_registry(json::parse(kRegistry));
    lifecycle_.set(core::LifeState::starting);
    app().attach_service(registry_, invoker_, fresh_metrics());
    lifecycle_.set(core::LifeState::running);
  }

  Response call(const std::string& method, const std::string& target, const std::string& body = "",
                std::vector<Header> headers = {}) {
    http::Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.headers = std::move(headers);
    req.body = body;
    auto promise = std::make_shared<std::promise<Response>>();
    auto future = promise->get_future();
    auto responses = std::make_shared<std::atomic<int>>(0);
    app().handle(std::move(req), [promise, responses](Response r) {
      if (responses->fetch_add(1) == 0) promise->set_value(std::move(r));
      else ADD_FAILURE() << "the request was answered twice";
    });
    if (future.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << method << " " << target << ": no response";
      Response none;
      none.status = -1;
      return none;
    }
    return future.get();
  }

  // Declaration order matters: the invoker (whose threads call into the App) is destroyed
  // first, then the App, then what the App refers to.
  config::Config config_;
  state::ParameterStore parameters_;
  state::NotificationStore notifications_;
  core::Lifecycle lifecycle_;
  registry::Registry registry_;
  std::optional<metrics::Metrics> metrics_;
  metrics::Metrics& fresh_metrics() {
    std::vector<std::string> names;
    for (const auto& ep : registry_.entrypoints) names.push_back(ep.name);
    metrics_.emplace(std::move(names));
    return *metrics_;
  }
  std::unique_ptr<App> app_;
  FakeInvoker invoker_;
};

// ======================= health =======================

TEST_F(AppTest, LiveIsAlwaysOk) {
  auto r = call("GET", "/health/live");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"status", "alive"}}));
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  lifecycle_.set(core::LifeState::starting);
  EXPECT_EQ(call("GET", "/health/live").status, 200);
}

TEST_F(AppTest, HeadOnLiveIsOk) { EXPECT_EQ(call("HEAD", "/health/live").status, 200); }

TEST_F(AppTest, ReadyIs503BeforeAttach) {
  auto r = call("GET", "/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r), (json{{"status", "not_started"}}));
}

TEST_F(AppTest, ReadyIs503WhileStarting) {
  lifecycle_.set(core::LifeState::starting);
  auto r = call("GET", "/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r), (json{{"status", "starting"}}));

  registry_ = registry::parse_registry(json::parse(kRegistry));
  app().attach_service(registry_, invoker_, fresh_metrics());
  r = call("GET", "/health/ready");
  EXPECT_EQ(r.status, 503) << "attached but still STARTING";
  EXPECT_EQ(body_of(r), (json{{"status", "starting"}}));
}

TEST_F(AppTest, ReadyIs503WhenRunningWithoutAService) {
  lifecycle_.set(core::LifeState::running);
  EXPECT_EQ(call("GET", "/health/ready").status, 503);
}

TEST_F(AppTest, ReadyIsOkWhenRunning) {
  start();
  auto r = call("GET", "/health/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"status", "ready"}}));
}

TEST_F(AppTest, ReadyIs503WhenTheQueueIsFull) {
  config_.limits.queue_limit = 4;
  start();
  invoker_.queued_value = 3;
  EXPECT_EQ(call("GET", "/health/ready").status, 200);
  invoker_.queued_value = 4;
  auto r = call("GET", "/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r), (json{{"status", "busy"}}));
}

TEST_F(AppTest, ReadyIs503WhenEveryExecutorIsStuckWhileCallsWait) {
  config_.limits.request_timeout_s = 5;
  start();
  const auto now = std::chrono::steady_clock::now();
  invoker_.running_value = {{"spin", "r-1", now - std::chrono::seconds(60)}, {"nap", "r-2", now - std::chrono::seconds(9)}};
  EXPECT_EQ(call("GET", "/health/ready").status, 200) << "nothing waits: not stuck";
  invoker_.queued_value = 1;
  auto r = call("GET", "/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r)["status"], "stuck");
  EXPECT_NE(body_of(r)["detail"].get<std::string>().find("'spin'"), std::string::npos) << r.body;
  auto status = body_of(call("GET", "/status"));
  EXPECT_EQ(status["stuck"]["entrypoint"], "spin");
  EXPECT_EQ(status["stuck"]["request_id"], "r-1");
  EXPECT_EQ(status["executors"]["running"].size(), 2u);
  // One executor still within the timeout, or one idle: calls will be taken, so not stuck.
  invoker_.running_value[1].started = now - std::chrono::seconds(1);
  EXPECT_EQ(call("GET", "/health/ready").status, 200);
  invoker_.running_value.pop_back();
  EXPECT_EQ(call("GET", "/health/ready").status, 200);
}

TEST_F(AppTest, ACancelledCallIsCountedAs499) {
  start();
  invoker_.result = exec::CallResult::cancelled();
  auto r = call("POST", "/hello", R"({"name": "x"})");
  EXPECT_EQ(r.status, 499);
  EXPECT_NE(metrics_->render({}).find("mvi_entrypoint_cancelled_total{entrypoint=\"hello\"} 1"), std::string::npos);
}

// POSTs `body` to `path` with a cancel token, as the server hands requests over; returns the token.
std::shared_ptr<core::CancelToken> post_with_token(App& app, const char* path, const char* body) {
  http::Request req;
  req.method = "POST";
  req.target = req.path = path;
  req.body = body;
  req.cancel = std::make_shared<core::CancelToken>();
  auto token = req.cancel;
  app.handle(std::move(req), [](http::Response) {});
  return token;
}

TEST_F(AppTest, TheRequestsCancelTokenReachesTheCall) {
  start();
  invoker_.result = ok_result("hi");
  auto token = post_with_token(app(), "/hello", R"({"name": "x"})");
  ASSERT_EQ(invoker_.calls().size(), 1u);
  EXPECT_EQ(invoker_.calls()[0].cancel, token);
  EXPECT_FALSE(token->watch_requested()) << "an executor is free: the call starts at once, nothing to drop";
}

TEST_F(AppTest, OnlyAnAwaitedCallAsksTheServerToWatchItsClient) {
  start();
  invoker_.result = ok_result("hi");
  invoker_.busy_value = 2;  // every executor busy: a def call will queue, and the executor probes it
  EXPECT_FALSE(post_with_token(app(), "/hello", R"({"name": "x"})")->watch_requested());
  EXPECT_TRUE(post_with_token(app(), "/awaited", "{}")->watch_requested());
}
TEST_F(AppTest, ReadyIs503WhileStoppingOrFailed) {
  start();
  lifecycle_.set(core::LifeState::stopping);
  auto r = call("GET", "/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r), (json{{"status", "stopping"}}));
  lifecycle_.set(core::LifeState::failed);
  EXPECT_EQ(body_of(call("GET", "/health/ready")), (json{{"status", "failed"}}));
}

// ======================= the route table =======================

TEST(RouteTable, ReservedSegmentsAreTheBuiltinRoutesFirstSegments) {
  auto names = App::reserved_segments();
  for (const char* expected : {"health", "status", "parameters", "~parameters", "notifications", "openapi.json", "logs",
                               "docs", "static", "login", "metrics", "~monitor", "redoc"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  EXPECT_EQ(std::find(names.begin(), names.end(), ""), names.end()) << "/ reserves nothing";
}

TEST(RouteTable, EveryDocumentedRouteHasItsOperation) {
  auto documented = App::documented_routes();
  ASSERT_FALSE(documented.empty());
  for (const auto& r : documented) {
    json op = openapi::builtin_operation(r.operation_id);  // throws for an unknown id
    EXPECT_EQ(op["operationId"], r.operation_id);
  }
  EXPECT_THROW(openapi::builtin_operation("no_such_operation"), std::logic_error);
}

// ======================= routing =======================

TEST_F(AppTest, UnknownPathIs404) {
  start();
  auto r = call("GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(r), (json{{"detail", "Not Found"}}));
}

TEST_F(AppTest, UnknownPathBeforeAttachIs404WhenNotStarting) {
  auto r = call("POST", "/hello", "{}");
  EXPECT_EQ(r.status, 404);
}

TEST_F(AppTest, UnknownPathWhileStartingIs503) {
  lifecycle_.set(core::LifeState::starting);
  auto r = call("POST", "/hello", R"({"name": "x"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(header(r, "Retry-After"), "1");
}

TEST_F(AppTest, WrongMethodIs405WithAllow) {
  start();
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Case& c : {Case{"PUT", "/health/live", "GET"}, Case{"DELETE", "/parameters/count", "GET, POST"},
                        Case{"GET", "/hello", "POST"}, Case{"POST", "/notifications", "GET, DELETE"},
                        Case{"POST", "/square", "GET"}, Case{"POST", "/parameters", "GET"}}) {
    auto r = call(c.method, c.path);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path;
    EXPECT_EQ(header(r, "Allow"), c.allow) << c.method << " " << c.path;
    EXPECT_EQ(body_of(r), (json{{"detail", "Method Not Allowed"}}));
  }
  EXPECT_TRUE(invoker_.calls().empty());
}

TEST_F(AppTest, BadPathIs400) {
  start();
  for (const char* path : {"/parameters/a%2Fb", "/../health/live", "/hello%00", "/x%zz"}) {
    auto r = call("GET", path);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(body_of(r), (json{{"detail", "Invalid request path"}})) << path;
  }
}

TEST_F(AppTest, RootPathPrefixIsOptional) {
  config_.root_path = "/svc";
  start();
  invoker_.result = ok_result("hi");
  EXPECT_EQ(call("GET", "/svc/health/live").status, 200);
  EXPECT_EQ(call("GET", "/health/live").status, 200);
  EXPECT_EQ(call("GET", "/svc/parameters/count").status, 200);
  EXPECT_EQ(call("POST", "/svc/hello", R"({"name": "a"})").status, 200);
  EXPECT_EQ(call("POST", "/hello", R"({"name": "b"})").status, 200);
  EXPECT_EQ(invoker_.calls().size(), 2u);
  EXPECT_EQ(call("GET", "/svc/nope").status, 404);
}

TEST_F(AppTest, RootPathPrefixWorksBeforeAttachToo) {
  config_.root_path = "/svc";
  EXPECT_EQ(call("GET", "/svc/health/live").status, 200);
}

// ======================= request ids =======================

TEST_F(AppTest, ValidRequestIdIsEchoed) {
  start();
  for (const char* id : {"abc-123", "A.b_C-9", "x"}) {
    auto r = call("GET", "/health/live", "", {{"X-Request-ID", id}});
    EXPECT_EQ(header(r, "X-Request-ID"), id);
  }
  std::string longest(128, 'a');
  EXPECT_EQ(header(call("GET", "/health/live", "", {{"x-request-id", longest}}), "X-Request-ID"), longest);
}

TEST_F(AppTest, InvalidRequestIdIsReplaced) {
  start();
  for (const std::string& id : {std::string("bad id"), std::string("a\r\nSet-Cookie: x=1"), std::string(129, 'a'),
                               std::string(""), std::string("caf\xC3\xA9"), std::string("a/b")}) {
    auto r = call("GET", "/health/live", "", {{"X-Request-ID", id}});
    auto got = header(r, "X-Request-ID");
    ASSERT_TRUE(got);
    EXPECT_NE(*got, id);
    EXPECT_TRUE(is_generated_id(*got)) << *got;
  }
}

TEST_F(AppTest, EveryResponseCarriesAFreshRequestId) {
  start();
  auto a = header(call("GET", "/health/live"), "X-Request-ID");
  auto b = header(call("GET", "/nope"), "X-Request-ID");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(is_generated_id(*a));
  EXPECT_TRUE(is_generated_id(*b));
  EXPECT_NE(*a, *b);
  EXPECT_EQ(header(call("GET", "/nope"), "X-Content-Type-Options"), "nosniff");
}

TEST_F(AppTest, RequestIdReachesTheInvoker) {
  start();
  invoker_.result = ok_result(nullptr);
  auto r = call("POST", "/hello", R"({"name": "a"})", {{"X-Request-ID", "trace-77"}});
  ASSERT_EQ(invoker_.calls().size(), 1u);
  EXPECT_EQ(invoker_.calls()[0].request_id, "trace-77");
  EXPECT_EQ(header(r, "X-Request-ID"), "trace-77");
}

// ======================= parameters =======================

TEST_F(AppTest, ParametersList) {
  start();
  auto r = call("GET", "/parameters");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"count", 3}, {"mode", "fast"}}));
  EXPECT_EQ(body_of(call("GET", "/parameters/")), (json{{"count", 3}, {"mode", "fast"}}));
}

TEST_F(AppTest, ParametersWorkBeforeTheServiceIsAttached) {
  EXPECT_EQ(call("GET", "/parameters").status, 200);
  EXPECT_EQ(call("POST", "/parameters/count", R"({"count": 4})").status, 200);
}

TEST_F(AppTest, ParameterGet) {
  start();
  auto r = call("GET", "/parameters/count");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"count", 3}}));
  r = call("GET", "/parameters/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(body_of(r)["detail"].get<std::string>().find("nope"), std::string::npos);
}

TEST_F(AppTest, ParameterPostBothBodyShapes) {
  start();
  auto r = call("POST", "/parameters/count", R"({"count": "7"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"count", 7}}));
  EXPECT_EQ(header(r, "X-Parameters-Generation"), "1");

  r = call("POST", "/parameters/count", R"({"value": 8})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"count", 8}}));
  EXPECT_EQ(header(r, "X-Parameters-Generation"), "2");
  EXPECT_EQ(parameters_.get("count"), json(8));
  EXPECT_EQ(body_of(call("GET", "/parameters/count")), (json{{"count", 8}}));
}

TEST_F(AppTest, ParameterPostUnknownIs404) {
  start();
  EXPECT_EQ(call("POST", "/parameters/nope", R"({"value": 1})").status, 404);
  EXPECT_EQ(parameters_.generation(), 0u);
}

TEST_F(AppTest, ParameterPostReadOnlyIs405) {
  start();
  auto r = call("POST", "/parameters/mode", R"({"mode": "slow"})");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET");
  EXPECT_EQ(parameters_.get("mode"), json("fast"));
  EXPECT_EQ(parameters_.generation(), 0u);
  EXPECT_EQ(call("POST", "/~parameters/mode", R"({"value": "slow"})").status, 405);
  EXPECT_EQ(parameters_.get("mode"), json("fast"));
}

TEST_F(AppTest, ParameterPostWrongTypeIs422AndUnchanged) {
  start();
  auto r = call("POST", "/parameters/count", R"({"count": "abc"})");
  EXPECT_EQ(r.status, 422);
  auto detail = body_of(r)["detail"];
  ASSERT_EQ(detail.size(), 1u) << r.body;
  EXPECT_EQ(detail[0]["type"], "int_parsing");
  EXPECT_EQ(detail[0]["loc"], json::array({"body", "count"}));
  EXPECT_EQ(detail[0]["input"], "abc");
  EXPECT_EQ(parameters_.get("count"), json(3));
  EXPECT_EQ(parameters_.generation(), 0u);
}

TEST_F(AppTest, ParameterPostWithoutTheValueIs422) {
  start();
  for (const char* body : {R"({"other": 1})", "", "[5]", "5"}) {
    auto r = call("POST", "/parameters/count", body);
    EXPECT_EQ(r.status, 422) << "body: " << body;
    auto detail = body_of(r)["detail"];
    ASSERT_TRUE(detail.is_array()) << r.body;
    EXPECT_EQ(detail[0]["type"], "missing") << r.body;
    EXPECT_EQ(detail[0]["loc"], json::array({"body", "count"})) << r.body;
  }
  EXPECT_EQ(parameters_.get("count"), json(3));
}

TEST_F(AppTest, ParameterPostInvalidJsonIs422JsonInvalid) {
  start();
  auto r = call("POST", "/parameters/count", "{\"count\": ");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(body_of(r)["detail"][0]["type"], "json_invalid");
  EXPECT_EQ(parameters_.get("count"), json(3));
}

TEST_F(AppTest, BareParameterRoutes) {
  start();
  EXPECT_EQ(body_of(call("GET", "/~parameters")), (json{{"count", 3}, {"mode", "fast"}}));
  auto r = call("GET", "/~parameters/count");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "3");
  EXPECT_EQ(call("GET", "/~parameters/mode").body, "\"fast\"");
  EXPECT_EQ(call("GET", "/~parameters/nope").status, 404);

  r = call("POST", "/~parameters/count", R"({"value": 9})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), json("OK"));
  EXPECT_EQ(header(r, "X-Parameters-Generation"), "1");
  EXPECT_EQ(parameters_.get("count"), json(9));

  r = call("POST", "/~parameters/count", R"({"value": "nine"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(parameters_.get("count"), json(9));
}

// ======================= entrypoints =======================

TEST_F(AppTest, EntrypointCallsTheInvokerWithCoercedArguments) {
  start();
  invoker_.result = ok_result("Hello Bob");
  auto r = call("POST", "/hello", R"({"name": "Bob", "times": "2", "extra": true})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "\"Hello Bob\"");
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  auto calls = invoker_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].entrypoint, 0u);
  EXPECT_EQ(calls[0].entrypoint_name, "hello");
  EXPECT_EQ(calls[0].args, (json{{"name", "Bob"}, {"times", 2}})) << "coerced, extras dropped";
  EXPECT_TRUE(calls[0].args["times"].is_number_integer());
}

TEST_F(AppTest, EntrypointIndexMatchesTheRegistry) {
  start();
  invoker_.result = ok_result(1);
  call("POST", "/anything", R"({"data": [1, {"a": null}]})");
  auto calls = invoker_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].entrypoint, registry_.find("anything")->index);
  EXPECT_EQ(calls[0].args, (json{{"data", {1, {{"a", nullptr}}}}}));
}

TEST_F(AppTest, EntrypointValidationErrorIs422InFastApiShape) {
  start();
  auto r = call("POST", "/hello", R"({"times": "x"})");
  EXPECT_EQ(r.status, 422);
  json body = body_of(r);
  ASSERT_TRUE(body.is_object());
  ASSERT_EQ(body.size(), 1u) << r.body;
  const json& detail = body["detail"];
  ASSERT_EQ(detail.size(), 2u) << r.body;
  for (const auto& e : detail) {
    EXPECT_EQ(e.size(), 4u) << e.dump();
    EXPECT_TRUE(e["type"].is_string());
    EXPECT_TRUE(e["loc"].is_array());
    EXPECT_TRUE(e["msg"].is_string());
    EXPECT_TRUE(e.contains("input"));
  }
  EXPECT_EQ(detail[0]["type"], "missing");
  EXPECT_EQ(detail[0]["loc"], json::array({"body", "name"}));
  EXPECT_EQ(detail[0]["msg"], "Field required");
  EXPECT_TRUE(detail[0]["input"].is_null());  // FastAPI's input for a missing body field
  EXPECT_EQ(detail[1]["type"], "int_parsing");
  EXPECT_EQ(detail[1]["loc"], json::array({"body", "times"}));
  EXPECT_EQ(detail[1]["input"], "x");
  EXPECT_TRUE(invoker_.calls().empty());
}

TEST_F(AppTest, EntrypointNonObjectBodyIs422) {
  start();
  auto r = call("POST", "/hello", "[1, 2]");
  EXPECT_EQ(r.status, 422);
  auto detail = body_of(r)["detail"];
  EXPECT_EQ(detail[0]["type"], "dict_type");
  EXPECT_EQ(detail[0]["loc"], json::array({"body"}));
  EXPECT_TRUE(invoker_.calls().empty());
}

TEST_F(AppTest, EntrypointInvalidJsonIs422JsonInvalid) {
  start();
  for (const char* body : {"{", "{\"name\": }", "nul", "{} x", "{'name': 'a'}", "\xFF"}) {
    auto r = call("POST", "/hello", body);
    EXPECT_EQ(r.status, 422) << body;
    auto detail = body_of(r)["detail"];
    ASSERT_TRUE(detail.is_array() && detail.size() == 1) << r.body;
    EXPECT_EQ(detail[0]["type"], "json_invalid") << r.body;
    EXPECT_EQ(detail[0]["loc"][0], "body") << r.body;
    EXPECT_TRUE(detail[0]["ctx"]["error"].is_string()) << r.body;
  }
  EXPECT_TRUE(invoker_.calls().empty());
}

TEST_F(AppTest, EntrypointHugeNestingIs400WithoutCrashing) {
  start();
  for (const std::string& body : {std::string(100000, '['), std::string("{\"data\": ") + std::string(100000, '['),
                                  [] {
                                    std::string s;
                                    for (int i = 0; i < 100000; ++i) s += "{\"a\":";
                                    return s;
                                  }()}) {
    auto r = call("POST", "/anything", body);
    EXPECT_EQ(r.status, 400);
    auto detail = body_of(r)["detail"];
    ASSERT_TRUE(detail.is_string());
    EXPECT_NE(detail.get<std::string>().find("nesting"), std::string::npos) << detail;
  }
  EXPECT_TRUE(invoker_.calls().empty());
}

TEST_F(AppTest, EntrypointNestingLimitBoundary) {
  config_.limits.max_json_depth = 3;
  start();
  invoker_.result = ok_result(nullptr);
  // object (1) + two arrays (3 levels) is allowed; a third array is one too many.
  EXPECT_EQ(call("POST", "/anything", R"({"data": [[1]]})").status, 200);
  auto r = call("POST", "/anything", R"({"data": [[[1]]]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r)["detail"].get<std::string>().find("3"), std::string::npos);
  EXPECT_EQ(invoker_.calls().size(), 1u);
}

TEST_F(AppTest, DefaultNestingLimitIs64) {
  start();
  invoker_.result = ok_result(nullptr);
  auto nested = [](int arrays) {
    return "{\"data\": " + std::string(static_cast<std::size_t>(arrays), '[') +
           std::string(static_cast<std::size_t>(arrays), ']') + "}";
  };
  EXPECT_EQ(call("POST", "/anything", nested(63)).status, 200);
  EXPECT_EQ(call("POST", "/anything", nested(64)).status, 400);
}

TEST_F(AppTest, EmptyBodyIsAnEmptyObject) {
  start();
  invoker_.result = ok_result("made");
  auto r = call("POST", "/created", "");
  EXPECT_EQ(r.status, 201);
  ASSERT_EQ(invoker_.calls().size(), 1u);
  EXPECT_EQ(invoker_.calls()[0].args, json::object());
  r = call("POST", "/hello", "  \r\n ");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(body_of(r)["detail"][0]["loc"], json::array({"body", "name"}));
}

TEST_F(AppTest, GetEntrypointTakesQueryArguments) {
  start();
  invoker_.result = ok_result(25);
  auto r = call("GET", "/square?x=5");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "25");
  auto calls = invoker_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].args, (json{{"x", 5}}));
  EXPECT_TRUE(calls[0].args["x"].is_number_integer());
}

TEST_F(AppTest, GetEntrypointQueryListsAndDecoding) {
  start();
  invoker_.result = ok_result(nullptr);
  call("GET", "/square?x=1&tags=a%20b&tags=c+d&extra=1");
  call("GET", "/square?tags=solo&x=2");
  auto calls = invoker_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].args, (json{{"x", 1}, {"tags", {"a b", "c d"}}}));
  EXPECT_EQ(calls[1].args, (json{{"x", 2}, {"tags", json::array({"solo"})}})) << "one value → one-element list";
}

TEST_F(AppTest, GetEntrypointQueryErrorsUseTheQueryLoc) {
  start();
  auto r = call("GET", "/square?x=abc");
  EXPECT_EQ(r.status, 422);
  auto detail = body_of(r)["detail"];
  ASSERT_EQ(detail.size(), 1u);
  EXPECT_EQ(detail[0]["type"], "int_parsing");
  EXPECT_EQ(detail[0]["loc"], json::array({"query", "x"}));
  r = call("GET", "/square");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(body_of(r)["detail"][0]["loc"], json::array({"query", "x"}));
  EXPECT_TRUE(invoker_.calls().empty());
}

TEST_F(AppTest, GetEntrypointAcceptsAJsonBodyToo) {
  start();
  invoker_.result = ok_result(9);
  auto r = call("GET", "/square", R"({"x": "3"})");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(invoker_.calls().size(), 1u);
  EXPECT_EQ(invoker_.calls()[0].args, (json{{"x", 3}}));
  r = call("GET", "/square", R"({"x": "three"})");
  EXPECT_EQ(body_of(r)["detail"][0]["loc"], json::array({"body", "x"}));
}

TEST_F(AppTest, OkUsesTheEntrypointStatusCode) {
  start();
  invoker_.result = ok_result(json{{"id", 1}});
  auto r = call("POST", "/created");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(body_of(r), (json{{"id", 1}}));
  r = call("POST", "/nothing");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(AppTest, HttpErrorUsesItsStatusDetailAndHeaders) {
  start();
  invoker_.result = exec::CallResult::http_error({418, {{"X-Custom", "1"}, {"WWW-Authenticate", "Basic"}}}, "I am a teapot");
  auto r = call("POST", "/hello", R"({"name": "a"})");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(body_of(r), (json{{"detail", "I am a teapot"}}));
  EXPECT_EQ(header(r, "X-Custom"), "1");
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Basic");

  invoker_.result = exec::CallResult::http_error({409, {}}, json{{"field", "name"}, {"problem", "taken"}});
  r = call("POST", "/hello", R"({"name": "a"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body_of(r), (json{{"detail", {{"field", "name"}, {"problem", "taken"}}}}));
}

TEST_F(AppTest, ExceptionIs500WithRequestIdAndNoTraceback) {
  start();
  invoker_.result =
      exec::CallResult::exception("ValueError: secret-token-123\nTraceback (most recent call last):\n  File \"service.py\"");
  auto r = call("POST", "/hello", R"({"name": "a"})", {{"X-Request-ID", "req-500"}});
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(body_of(r), (json{{"detail", "Internal Server Error"}, {"request_id", "req-500"}}));
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  EXPECT_EQ(r.body.find("Traceback"), std::string::npos);
  EXPECT_EQ(r.body.find("ValueError"), std::string::npos);
}

TEST_F(AppTest, UnavailableOutcomeIs503WithRetryAfter) {
  start();
  invoker_.result = exec::CallResult::unavailable();
  auto r = call("POST", "/hello", R"({"name": "a"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_TRUE(body_of(r)["detail"].is_string());
}

TEST_F(AppTest, QueueFullIs503WithRetryAfter) {
  start();
  invoker_.accept = false;
  auto r = call("POST", "/hello", R"({"name": "a"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_NE(body_of(r)["detail"].get<std::string>().find("retry"), std::string::npos) << r.body;
  EXPECT_EQ(invoker_.calls().size(), 1u) << "submit was tried once";
}

TEST_F(AppTest, CompletionFromAnotherThread) {
  start();
  invoker_.mode = FakeInvoker::Mode::thread;
  invoker_.respond = [](const exec::Call& c) { return ok_result("Hello " + c.args["name"].get<std::string>()); };
  for (const char* name : {"Ann", "Ben", "Cat"}) {
    auto r = call("POST", "/hello", json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_of(r), json(std::string("Hello ") + name));
    EXPECT_TRUE(header(r, "X-Request-ID"));
    EXPECT_EQ(header(r, "X-Parameters-Generation"), "0");
  }
}

TEST_F(AppTest, ManyConcurrentCompletionsFromThreads) {
  start();
  invoker_.mode = FakeInvoker::Mode::thread;
  invoker_.respond = [](const exec::Call& c) { return ok_result(c.args["name"]); };
  std::vector<std::shared_ptr<std::promise<Response>>> promises;
  std::vector<std::future<Response>> futures;
  for (int i = 0; i < 20; ++i) {
    http::Request req;
    req.method = "POST";
    req.target = req.path = "/hello";
    req.body = json{{"name", std::to_string(i)}}.dump();
    auto p = std::make_shared<std::promise<Response>>();
    futures.push_back(p->get_future());
    app().handle(std::move(req), [p](Response r) { p->set_value(std::move(r)); });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(futures[i].wait_for(5s), std::future_status::ready);
    auto r = futures[i].get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_of(r), json(std::to_string(i)));
  }
}

TEST_F(AppTest, EntrypointCarriesTheParametersGeneration) {
  start();
  invoker_.result = ok_result(nullptr);
  EXPECT_EQ(header(call("POST", "/hello", R"({"name": "a"})"), "X-Parameters-Generation"), "0");
  call("POST", "/parameters/count", R"({"value": 5})");
  call("POST", "/parameters/count", R"({"value": 6})");
  EXPECT_EQ(header(call("POST", "/hello", R"({"name": "a"})"), "X-Parameters-Generation"), "2");
}

TEST_F(AppTest, EntrypointWhileNotRunningIs503AndNotInvoked) {
  registry_ = registry::parse_registry(json::parse(kRegistry));
  lifecycle_.set(core::LifeState::starting);
  app().attach_service(registry_, invoker_, fresh_metrics());
  auto r = call("POST", "/hello", R"({"name": "a"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(header(r, "Retry-After"), "1");
  lifecycle_.set(core::LifeState::failed);
  EXPECT_EQ(call("POST", "/hello", R"({"name": "a"})").status, 503);
  EXPECT_TRUE(invoker_.calls().empty());
}

TEST_F(AppTest, EntrypointWhileStoppingStillRuns) {
  start();
  invoker_.result = ok_result("late");
  lifecycle_.set(core::LifeState::stopping);
  EXPECT_EQ(call("POST", "/hello", R"({"name": "a"})").status, 200);
  EXPECT_EQ(invoker_.calls().size(), 1u);
}

TEST_F(AppTest, MetricsCountEntrypointsWithoutPython) {
  start();
  invoker_.result = ok_result("hi");
  call("POST", "/hello", R"({"name": "a"})");
  call("POST", "/hello", "{}");  // 422
  auto r = call("GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.content_type.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.body.find("mvi_entrypoint_requests_total{entrypoint=\"hello\"} 2"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("mvi_entrypoint_errors_total{entrypoint=\"hello\",class=\"4xx\"} 1"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("mvi_entrypoint_duration_seconds_count{entrypoint=\"hello\"} 2"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("mvi_entrypoint_duration_seconds_bucket{entrypoint=\"hello\",le=\"+Inf\"} 2"),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find("# TYPE mvi_gil_wait_seconds histogram"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("mvi_queue_depth 0"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("mvi_ready 1"), std::string::npos) << r.body;
}

TEST_F(AppTest, CountersTrackOutcomes) {
  start();
  invoker_.result = ok_result(nullptr);
  call("GET", "/health/live");
  call("GET", "/nope");
  call("POST", "/hello", "{}");
  invoker_.result = exec::CallResult::exception("ValueError: x");
  call("POST", "/hello", R"({"name": "a"})");
  EXPECT_EQ(app().counters().total.load(), 4u);
  EXPECT_EQ(app().counters().client_errors.load(), 2u);
  EXPECT_EQ(app().counters().server_errors.load(), 1u);
}

TEST_F(AppTest, AccessLogLineUnlessDisabled) {
  start();
  invoker_.result = ok_result(nullptr);
  call("POST", "/hello", R"({"name": "a"})", {{"X-Request-ID", "log-me"}});
  std::string log = access_log().str();
  EXPECT_NE(log.find("POST /hello 200"), std::string::npos) << log;
  EXPECT_NE(log.find("request_id=log-me"), std::string::npos) << log;

  access_log().str("");
  call("POST", "/quiet", "{}", {{"X-Request-ID", "hush"}});
  EXPECT_EQ(access_log().str().find("hush"), std::string::npos) << access_log().str();
  ASSERT_EQ(invoker_.calls().size(), 2u);
}

// ======================= notifications =======================

class AppNotificationsTest : public AppTest {
 protected:
  void SetUp() override {
    start();
    state::NotificationInput in;
    in.msg = "info";
    in.severity = 0;
    first_ = notifications_.record(in).timestamp;
    std::this_thread::sleep_for(2ms);
    in.msg = "warn";
    in.severity = 1;
    notifications_.record(in);
    std::this_thread::sleep_for(2ms);
    in.msg = "crit";
    in.severity = 2;
    notifications_.record(in);
  }

  std::vector<std::string> msgs(const Response& r) {
    std::vector<std::string> out;
    json list = body_of(r);
    EXPECT_TRUE(list.is_array()) << r.body;
    for (const auto& n : list) out.push_back(n["msg"].get<std::string>());
    return out;
  }

  double first_ = 0;
};

using Msgs = std::vector<std::string>;

TEST_F(AppNotificationsTest, ListNewestFirst) {
  auto r = call("GET", "/notifications");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(msgs(r), (Msgs{"crit", "warn", "info"}));
  json first = body_of(r)[0];
  EXPECT_EQ(first["service_name"], "svc");
  EXPECT_EQ(first["severity_name"], "CRITICAL");
}

TEST_F(AppNotificationsTest, SeverityFilterByNumberOrName) {
  EXPECT_EQ(msgs(call("GET", "/notifications?severity=1")), (Msgs{"crit", "warn"}));
  EXPECT_EQ(msgs(call("GET", "/notifications?severity=WARNING")), (Msgs{"crit", "warn"}));
  EXPECT_EQ(msgs(call("GET", "/notifications?severity=critical")), (Msgs{"crit"}));
  EXPECT_EQ(msgs(call("GET", "/notifications?severity=0")), (Msgs{"crit", "warn", "info"}));
}

TEST_F(AppNotificationsTest, LimitAndSince) {
  EXPECT_EQ(msgs(call("GET", "/notifications?limit=1")), (Msgs{"crit"}));
  EXPECT_EQ(msgs(call("GET", "/notifications?limit=0")).size(), 3u);
  char since[64];
  // Half a millisecond after the first record and well before the second (2 ms later), so
  // rounding to six decimals cannot move it across either.
  std::snprintf(since, sizeof since, "%.6f", first_ + 0.0005);
  EXPECT_EQ(msgs(call("GET", std::string("/notifications?since=") + since)), (Msgs{"crit", "warn"}));
  EXPECT_EQ(msgs(call("GET", std::string("/notifications?severity=1&limit=1&since=") + since)), (Msgs{"crit"}));
  EXPECT_EQ(msgs(call("GET", "/notifications?unknown=1")).size(), 3u) << "unknown keys are ignored";
}

TEST_F(AppNotificationsTest, BadQueryIs422) {
  struct Case {
    const char* query;
    const char* key;
    const char* type;
  };
  for (const Case& c : {Case{"limit=abc", "limit", "int_parsing"}, Case{"limit=-1", "limit", "greater_than_equal"},
                        Case{"severity=loud", "severity", "int_parsing"},
                        Case{"since=yesterday", "since", "float_parsing"}}) {
    auto r = call("GET", std::string("/notifications?") + c.query);
    EXPECT_EQ(r.status, 422) << c.query;
    auto detail = body_of(r)["detail"];
    ASSERT_EQ(detail.size(), 1u) << r.body;
    EXPECT_EQ(detail[0]["loc"], json::array({"query", c.key})) << c.query;
    EXPECT_EQ(detail[0]["type"], c.type) << c.query;
  }
  auto r = call("GET", "/notifications?limit=x&severity=y");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(body_of(r)["detail"].size(), 2u) << "every bad field is reported";
}

TEST_F(AppNotificationsTest, DeleteClears) {
  auto r = call("DELETE", "/notifications");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(body_of(r).contains("detail"));
  EXPECT_TRUE(body_of(call("GET", "/notifications")).empty());
  EXPECT_TRUE(notifications_.list({}).empty());
}

// ======================= status =======================

TEST_F(AppTest, StatusReportsServiceAndCounters) {
  start();
  call("GET", "/nope");
  auto r = call("GET", "/status");
  EXPECT_EQ(r.status, 200);
  json s = body_of(r);
  EXPECT_EQ(s["name"], "svc");
  EXPECT_EQ(s["version"], "1.0.0");
  EXPECT_EQ(s["state"], "RUNNING");
  EXPECT_EQ(s["executors"], (json{{"count", 2}, {"busy", 1}, {"queued", 0}, {"running", json::array()}}));
  EXPECT_TRUE(s["stuck"].is_null());
  EXPECT_EQ(s["requests"]["total"], 1);
  EXPECT_EQ(s["requests"]["client_errors"], 1);
  EXPECT_EQ(s["parameters_generation"], 0);
}

}  // namespace
}  // namespace mvi::api
