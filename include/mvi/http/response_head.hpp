// Serialising a response head (status line and fields) into one string, as the session writes it in
// one gather write with the body; Beast's field list and serializer cost an allocation per header and
// most of the write path's CPU. Pure; thread-safe.
#pragma once

#include <string>

#include "mvi/http/message.hpp"

namespace mvi::http {

struct HeadOptions {
  unsigned version = 11;  // the request's: 10 or 11
  bool keep_alive = true;  // whether the connection stays open after this response
};

// Writes the head of `r` into `out` (cleared first): status line with the registered reason phrase,
// Content-Type, r's headers (CR and LF in names and values become spaces, so no value can end the
// head), Connection as the version needs, and Content-Length except on 1xx/204/304 (RFC 9110; on a
// HEAD answer it is the GET answer's). Returns whether the status allows a body.
bool write_response_head(std::string& out, const Response& r, const HeadOptions& options);

}  // namespace mvi::http
