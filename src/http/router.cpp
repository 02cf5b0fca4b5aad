// Router: a small table scanned in order; segments are compared after percent-decoding.
// Read-only after construction, so match() is thread-safe.
#include "mvi/http/router.hpp"

#include <algorithm>
#include <optional>

#include "mvi/http/message.hpp"

namespace mvi::http {
namespace {

std::vector<std::string> split_raw(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

Router::Router(std::string root_path) : root_path_(std::move(root_path)) {}

void Router::add(std::string method, const std::string& pattern, Id id) {
  Entry e{std::move(method), split_raw(pattern), id};
  for (auto& s : e.segments)
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') s = "{}";
  entries_.push_back(std::move(e));
}

void Router::add_mount(const std::string& prefix, Id id) {
  std::string p = prefix;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  mounts_.push_back({p, split_raw(p), id});
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  if (!root_path_.empty() && path.substr(0, root_path_.size()) == root_path_ &&
      (path.size() == root_path_.size() || path[root_path_.size()] == '/')) {
    path.remove_prefix(root_path_.size());
    if (path.empty()) path = "/";
  }
  if (path.empty() || path.front() != '/') {
    m.outcome = Outcome::bad_path;
    return m;
  }
  std::vector<std::string> segments;
  for (auto& raw : split_raw(path)) {
    auto decoded = percent_decode(raw, false);
    if (!decoded || decoded->find_first_of(std::string_view("/\\\0", 3)) != std::string::npos ||
        *decoded == "." || *decoded == "..") {
      m.outcome = Outcome::bad_path;
      return m;
    }
    segments.push_back(std::move(*decoded));
  }
  // A single trailing slash is tolerated ("/parameters/"), as Starlette redirects it.
  if (segments.size() > 1 && segments.back().empty()) segments.pop_back();

  const std::string_view effective = method == "HEAD" ? std::string_view("GET") : method;
  bool path_matched = false;
  for (const auto& e : entries_) {
    if (e.segments.size() != segments.size()) continue;
    std::string capture;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      if (e.segments[i] == "{}") {
        ok = !segments[i].empty();
        capture = segments[i];
      } else {
        ok = e.segments[i] == segments[i];
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (e.method == effective) {
      m.outcome = Outcome::found;
      m.id = e.id;
      m.capture = std::move(capture);
      return m;
    }
    if (m.allow.find(e.method) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += e.method;
    }
  }
  if (!path_matched)
    for (const auto& mount : mounts_) {
      if (segments.size() < mount.segments.size()) continue;
      bool ok = true;
      for (std::size_t i = 0; i < mount.segments.size() && ok; ++i) ok = mount.segments[i] == segments[i];
      if (!ok) continue;
      m.outcome = Outcome::found;
      m.id = mount.id;
      // the raw rest, so the app sees its own path as sent (it decodes, as WSGI and ASGI servers do)
      std::size_t at = 0;  // past the prefix's segments in the raw path ("/d%61sh" is "/dash" too)
      for (std::size_t i = 0; i < mount.segments.size(); ++i) {
        auto next = path.find('/', at + 1);
        at = next == std::string_view::npos ? path.size() : next;
      }
      m.capture = std::string(path.substr(at));
      return m;
    }
  m.outcome = path_matched ? Outcome::method_not_allowed : Outcome::not_found;
  return m;
}

}  // namespace mvi::http
