// Response heads written by hand into a reused string; pure.
#include "mvi/http/response_head.hpp"

namespace mvi::http {
namespace {

// CR or LF would end the head early: each becomes a space.
void append_clean(std::string& out, std::string_view text) {
  for (std::size_t start = 0;;) {
    const std::size_t at = text.find_first_of("\r\n", start);
    out.append(text.data() + start, (at == std::string_view::npos ? text.size() : at) - start);
    if (at == std::string_view::npos) return;
    out += ' ';
    start = at + 1;
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  append_clean(out, name);
  out += ": ";
  append_clean(out, value);
  out += "\r\n";
}

}  // namespace

bool write_response_head(std::string& out, const Response& r, const HeadOptions& options) {
  const bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
  out.clear();
  out += options.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason(r.status);
  out += "\r\n";
  if (!r.content_type.empty()) append_field(out, "Content-Type", r.content_type);
  for (const auto& h : r.headers) append_field(out, h.name, h.value);
  if (options.version == 10 && options.keep_alive) out += "Connection: keep-alive\r\n";
  if (options.version != 10 && !options.keep_alive) out += "Connection: close\r\n";
  if (!bodiless) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  return !bodiless;
}

}  // namespace mvi::http
