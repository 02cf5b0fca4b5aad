// src/metrics: counters by status class, the cancelled counter, histograms, the Prometheus text.
#include "mvi/metrics/metrics.hpp"

#include <gtest/gtest.h>

namespace mvi::metrics {
namespace {

bool has_line(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(Metrics, RecordsByStatusClass) {
  Metrics m({"hello", "other"});
  m.record(0, 200, 0.001);
  m.record(0, 422, 0.001);
  m.record(0, 499, 0.001);
  m.record(0, 500, 0.001);
  m.record(7, 200, 0.001);  // an unknown index is ignored
  auto text = m.render({});
  EXPECT_TRUE(has_line(text, R"(mvi_entrypoint_requests_total{entrypoint="hello"} 4)")) << text;
  EXPECT_TRUE(has_line(text, R"(mvi_entrypoint_errors_total{entrypoint="hello",class="4xx"} 2)"));
  EXPECT_TRUE(has_line(text, R"(mvi_entrypoint_errors_total{entrypoint="hello",class="5xx"} 1)"));
  EXPECT_TRUE(has_line(text, R"(mvi_entrypoint_cancelled_total{entrypoint="hello"} 1)"));
  EXPECT_TRUE(has_line(text, R"(mvi_entrypoint_cancelled_total{entrypoint="other"} 0)"));
  EXPECT_TRUE(has_line(text, R"(mvi_entrypoint_duration_seconds_count{entrypoint="hello"} 4)"));
}

TEST(Histogram, BucketsAreCumulative) {
  Histogram h({0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  std::string out;
  h.render(out, "x", "");
  EXPECT_TRUE(has_line(out, R"(x_bucket{le="0.1"} 1)")) << out;
  EXPECT_TRUE(has_line(out, R"(x_bucket{le="1"} 2)")) << out;
  EXPECT_TRUE(has_line(out, R"(x_bucket{le="+Inf"} 3)")) << out;
  EXPECT_TRUE(has_line(out, "x_count 3")) << out;
}

TEST(Metrics, GaugesAreRendered) {
  Metrics m({});
  Gauges g;
  g.queue_depth = 5;
  g.ready = true;
  auto text = m.render(g);
  EXPECT_TRUE(has_line(text, "mvi_queue_depth 5")) << text;
  EXPECT_TRUE(has_line(text, "mvi_ready 1")) << text;
}

}  // namespace
}  // namespace mvi::metrics
