// Maps (method, path) to a route id, knowing the root-path prefix, path captures ("{name}"),
// 404 and 405-with-Allow. Built once, then only read: safe to share between I/O threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mvi::http {

class Router {
 public:
  using Id = int;

  enum class Outcome { found, not_found, method_not_allowed, bad_path };

  struct Match {
    Outcome outcome = Outcome::not_found;
    Id id = -1;
    std::string capture;  // the decoded "{...}" segment, when the pattern has one
    std::string allow;    // for 405: "GET, POST"
  };

  // root_path: "" or "/prefix" (no trailing slash). Requests may come with or without it, as
  // proxies differ in whether they strip it.
  explicit Router(std::string root_path = "");

  // pattern: "/health/live", "/parameters/{name}". At most one capture segment.
  void add(std::string method, const std::string& pattern, Id id);

  // A mounted app (service.app.mount): every method on `prefix` ("/dash") and below it, when no other route
  // has the path. The capture is the raw rest of the path after the prefix ("", "/", "/assets/x.js").
  void add_mount(const std::string& prefix, Id id);

  // HEAD matches GET routes. Percent-escapes in segments are decoded; a decoded segment that
  // holds '/', '\\' or NUL, or a "." / ".." segment, is a bad_path.
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Entry {
    std::string method;
    std::vector<std::string> segments;  // "{}" marks the capture
    Id id;
  };
  struct Mount {
    std::string prefix;                 // raw, no trailing slash
    std::vector<std::string> segments;  // the prefix's
    Id id;
  };
  std::string root_path_;
  std::vector<Entry> entries_;
  std::vector<Mount> mounts_;
};

}  // namespace mvi::http
