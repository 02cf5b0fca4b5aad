// InProcessInvoker against the real interpreter: calls run and complete, a cancelled queued call never
// reaches Python, a failure inside the runtime (a validation note that does not match its value) is
// a 500 for that call while the executor goes on, a completion that throws is contained, and
// running() names the call an executor is inside; calls that block wake another executor, CPU-bound
// ones stay on one. main() (embedded_main.cpp) holds the GIL between
// tests; each test releases it while executors run.
#include "in_process_invoker.hpp"

#include <gtest/gtest.h>

#include <pybind11/eval.h>
#include <pybind11/pybind11.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "mvi/core/json.hpp"
#include "mvi/registry/registry.hpp"

namespace py = pybind11;

namespace mvi::python {
namespace {

const char* kService = R"(
import threading
calls = []
gate = threading.Event()

def echo(x=None):
    calls.append(x)
    return x

def wait():
    gate.wait(10)
    return "released"

def pick(x):
    return type(x).__name__

meet = threading.Barrier(2)

def rendezvous():
    meet.wait(5)  # only two calls running at once get past it
    return threading.get_ident()

def spin():
    x = 0
    for i in range(1000000):
        x += i
    return threading.get_ident()
)";

const char* kRegistry = R"({"entrypoints": [
  {"name": "echo", "params": [{"name": "x", "type": {"kind": "any"}, "required": false}]},
  {"name": "wait"},
  {"name": "pick", "params": [{"name": "x", "type": {"kind": "union", "options": [{"kind": "datetime"},
                                                                                   {"kind": "dict"}]}}]},
  {"name": "rendezvous"},
  {"name": "spin"}
]})";

class InvokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scope_["__builtins__"] = py::module_::import("builtins");
    py::exec(kService, scope_);  // the functions' globals are scope_, so they see calls and gate
    table_.functions = {scope_["echo"], scope_["wait"], scope_["pick"], scope_["rendezvous"], scope_["spin"]};
    table_.http_exception = py::module_::import("mvi.exceptions").attr("HTTPException");
    table_.format_exception = py::module_::import("traceback").attr("format_exception");
    table_.is_coroutine = py::module_::import("inspect").attr("iscoroutine");
    table_.to_jsonable = py::module_::import("mvi._encode").attr("to_jsonable");
    registry_ = registry::parse_registry(*parse_json(kRegistry, 64).value);
  }

  void TearDown() override {
    {
      py::gil_scoped_release release;  // executors need the GIL to finish
      invoker_.reset();
    }
    table_.clear();
  }

  void start(int threads) { invoker_.emplace(table_, registry_, ExecutorOptions{threads, 16, nullptr}); }

  exec::Call call(std::size_t index, Json args, std::string request_id = "r") {
    exec::Call c;
    c.entrypoint = index;
    c.entrypoint_name = registry_.entrypoints.at(index).name;
    c.args = std::move(args);
    c.notes.resize(registry_.entrypoints.at(index).params.size());
    c.request_id = std::move(request_id);
    return c;
  }

  // Submits without the GIL and returns the future result.
  std::future<exec::CallResult> submit(exec::Call c) {
    auto promise = std::make_shared<std::promise<exec::CallResult>>();
    auto future = promise->get_future();
    py::gil_scoped_release release;
    EXPECT_TRUE(invoker_->submit(std::move(c), [promise](exec::CallResult r) { promise->set_value(std::move(r)); }));
    return future;
  }

  static exec::CallResult get(std::future<exec::CallResult>& f) {
    py::gil_scoped_release release;
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }

  py::dict scope_;
  FunctionTable table_;
  registry::Registry registry_;
  std::optional<InProcessInvoker> invoker_;
};

TEST_F(InvokerTest, ACallRunsAndCompletes) {
  start(1);
  auto f = submit(call(0, Json{{"x", 5}}));
  auto r = get(f);
  EXPECT_EQ(r.outcome, exec::Outcome::ok) << r.error;
  EXPECT_EQ(r.value, 5);
}

TEST_F(InvokerTest, CallsThatBlockWakeAnotherExecutor) {
  start(2);  // the most; one takes calls until the first blocks
  auto a = submit(call(3, Json::object()));
  auto b = submit(call(3, Json::object()));
  auto ra = get(a), rb = get(b);
  ASSERT_EQ(ra.outcome, exec::Outcome::ok) << ra.error;  // a lone call times out at the barrier: a 500
  ASSERT_EQ(rb.outcome, exec::Outcome::ok) << rb.error;
  EXPECT_NE(ra.value, rb.value);  // two threads
}

TEST_F(InvokerTest, CpuBoundCallsStayOnOneExecutor) {
  start(4);
  std::vector<std::future<exec::CallResult>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(submit(call(4, Json::object())));
  std::set<std::int64_t> threads;
  for (auto& f : futures) {
    auto r = get(f);
    ASSERT_EQ(r.outcome, exec::Outcome::ok) << r.error;
    threads.insert(r.value.get<std::int64_t>());
  }
  // One thread computes; waking more would only make them take turns at the GIL. (Two, at most, on a
  // machine whose hypervisor takes the CPU away for long stretches.)
  EXPECT_LE(threads.size(), 2u);
}

TEST_F(InvokerTest, ACancelledQueuedCallNeverReachesPython) {
  start(1);
  auto blocker = submit(call(1, Json::object()));
  auto queued = call(0, Json{{"x", "dropped"}});
  auto token = std::make_shared<core::CancelToken>();
  queued.cancel = token;
  auto dropped = submit(std::move(queued));
  token->cancel();  // the client left while its call waited
  scope_["gate"].attr("set")();
  EXPECT_EQ(get(blocker).outcome, exec::Outcome::ok);
  EXPECT_EQ(get(dropped).outcome, exec::Outcome::cancelled);
  EXPECT_EQ(py::len(scope_["calls"]), 0u);
}

TEST_F(InvokerTest, AQueuedCallWhoseClientIsGoneIsDroppedAfterItsProbe) {
  start(1);
  auto blocker = submit(call(1, Json::object()));
  auto queued = call(0, Json{{"x", "probed"}});
  auto token = std::make_shared<core::CancelToken>();
  token->set_probe([] { return true; });  // the socket says: the client left
  queued.cancel = token;
  auto dropped = submit(std::move(queued));
  {
    py::gil_scoped_release release;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // longer than the probe threshold
  }
  scope_["gate"].attr("set")();
  EXPECT_EQ(get(blocker).outcome, exec::Outcome::ok);
  EXPECT_EQ(get(dropped).outcome, exec::Outcome::cancelled);
  EXPECT_EQ(py::len(scope_["calls"]), 0u);
}

TEST_F(InvokerTest, ANoteThatDoesNotMatchIsA500AndTheExecutorGoesOn) {
  start(1);
  auto bad = call(2, Json{{"x", Json{{"a", 1}}}});
  bad.notes[0].choice = 7;  // no such option: a bug of ours, never the client's
  bad.notes[0].children.resize(1);
  auto f = submit(std::move(bad));
  auto r = get(f);
  EXPECT_EQ(r.outcome, exec::Outcome::exception);
  auto next = submit(call(0, Json{{"x", 1}}));
  EXPECT_EQ(get(next).outcome, exec::Outcome::ok);
}

TEST_F(InvokerTest, TheRightNoteBuildsTheChosenOption) {
  start(1);
  auto good = call(2, Json{{"x", Json{{"__mvi_union__", 0}, {"value", 1}}}});
  good.notes[0].choice = 1;  // the dict option, whatever keys the dict has
  good.notes[0].children.resize(1);
  auto f = submit(std::move(good));
  auto r = get(f);
  EXPECT_EQ(r.outcome, exec::Outcome::ok);
  EXPECT_EQ(r.value, "dict");
}

TEST_F(InvokerTest, ACompletionThatThrowsIsContained) {
  start(1);
  {
    py::gil_scoped_release release;
    EXPECT_TRUE(invoker_->submit(call(0, Json{{"x", 1}}), [](exec::CallResult) { throw std::runtime_error("boom"); }));
  }
  auto next = submit(call(0, Json{{"x", 2}}));
  EXPECT_EQ(get(next).value, 2);
}

TEST_F(InvokerTest, RunningNamesTheCallAnExecutorIsIn) {
  start(1);
  auto f = submit(call(1, Json::object(), "in-flight-1"));
  std::vector<exec::RunningCall> running;
  {
    py::gil_scoped_release release;
    for (int i = 0; i < 500 && running.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      running = invoker_->running();
    }
  }
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].entrypoint, "wait");
  EXPECT_EQ(running[0].request_id, "in-flight-1");
  scope_["gate"].attr("set")();
  get(f);
  py::gil_scoped_release release;
  for (int i = 0; i < 500 && !invoker_->running().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(invoker_->running().empty());
}

}  // namespace
}  // namespace mvi::python
