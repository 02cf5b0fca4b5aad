// One connection: a Session reads requests under the limits, hands each to the Handler and writes
// the response it produces, possibly from another thread, as a do_x/on_x chain kept alive by
// shared_from_this and serialised on its own strand (Beast example/http/server/async). Streamed
// responses (chunked) are written from any thread through a StreamSink. Ordering rule: whoever holds
// a Responder must be destroyed before the Server (it posts to the Server's io_context).
//
// A template over its Transport, so the same class serves TCP (session.cpp) and Beast's in-memory
// test stream (tests/unit/session_test.cpp). A Transport has:
//   get_executor(); stream(): the AsyncReadStream/AsyncWriteStream Beast reads and writes;
//   expires_after(duration), expires_never(): one deadline for the operations that follow, which then
//     fail (the connection is closed); available(): bytes readable now, 0 on error;
//   departure_probe(): a thread-safe function that tells whether the client has gone (core::CancelToken);
//   async_wait_readable(handler(error_code)): completes when bytes or the FIN arrive, or on cancel();
//   write_now(buffers): writes what the stream takes at once without blocking, returns the bytes written;
//   shutdown_send(), close().
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "mvi/core/cancel.hpp"
#include "mvi/core/request_id.hpp"
#include "mvi/http/chunked.hpp"
#include "mvi/http/request_checks.hpp"
#include "mvi/http/response_head.hpp"
#include "mvi/logs/log.hpp"
#include "request_head.hpp"
#include "server_impl.hpp"

namespace mvi::http {

namespace session_detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

inline std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// Bodies of known length above this size are read without Beast's body parser (Session::read_body_directly),
// with room for simdjson's padding, so they are parsed in place, never copied.
inline constexpr std::uint64_t kPaddedBodyFrom = 16 * 1024;
inline constexpr std::size_t kJsonPadding = 64;

// Streamed bodies buffer at most this much for a slow client before the stream is ended.
inline constexpr std::size_t kStreamBufferLimit = 1024 * 1024;

template <class Transport>
class Session;

// The producer's handle on a streaming Session; forwards to it while it exists.
template <class Transport>
class SessionStream final : public StreamSink {
 public:
  explicit SessionStream(std::weak_ptr<Session<Transport>> session) : session_(std::move(session)) {}
  bool write(std::string chunk) override {
    auto s = session_.lock();
    return s && s->stream_write(std::move(chunk));
  }
  void close() override {
    if (auto s = session_.lock()) s->stream_close();
  }
  bool open() const override {
    auto s = session_.lock();
    return s && s->stream_open();
  }

 private:
  std::weak_ptr<Session<Transport>> session_;
};

template <class Transport>
class Session : public std::enable_shared_from_this<Session<Transport>> {
 public:
  Session(Transport&& io, Server::Impl& server) : io_(std::move(io)), server_(server) {
    // Large bodies are read 512 bytes at a time unless the buffer has room (DESIGN.md).
    buffer_.reserve(64 * 1024);
    server_.connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~Session() { server_.connections.fetch_sub(1, std::memory_order_relaxed); }

  void run() {
    net::dispatch(io_.get_executor(), beast::bind_front_handler(&Session::do_read, this->shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits.max_header_size));
    parser_->body_limit(server_.limits.max_body_size);
    if (!first_ && buffer_.size() == 0) {
      // An idle keep-alive connection gets the keep-alive timeout for its next first byte; from
      // then on the header deadline applies, so a slow header cannot hide behind keep-alive.
      io_.expires_after(seconds(server_.limits.keep_alive_timeout_s));
      io_.stream().async_read_some(buffer_.prepare(64 * 1024), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
        if (ec) return self->on_read_error(ec);
        self->buffer_.commit(n);
        self->read_header();
      });
      return;
    }
    read_header();
  }

  // The header block is read whole (up to the blank line) before Beast parses it, so the raw bytes
  // can be checked for what Beast would accept or normalise (obs-fold, bare LF, long lines).
  void read_header() {
    io_.expires_after(seconds(server_.limits.header_timeout_s));  // one deadline for the whole header
    scan_header(0);
  }

  void scan_header(std::size_t searched) {
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    // Empty lines before the request line are skipped (RFC 9112 §2.2), so they never look like the end.
    const std::size_t from = std::max(leading_empty_lines(data), searched > 3 ? searched - 3 : 0);
    auto end = data.find("\r\n\r\n", from);
    if (end != std::string_view::npos) return on_header_block(end + 4);
    if (auto rejection = check_partial_header(data, searched, server_.limits)) return reject(*rejection);
    io_.stream().async_read_some(buffer_.prepare(16 * 1024), [self = this->shared_from_this(), seen = data.size()](
                                                             beast::error_code ec, std::size_t n) {
      if (ec) return self->on_read_error(ec);
      self->buffer_.commit(n);
      self->scan_header(seen);
    });
  }

  void on_header_block(std::size_t n) {
    std::string_view block(static_cast<const char*>(buffer_.data().data()), n);
    RequestHead head = read_request_head(*parser_, block, server_.limits);
    buffer_.consume(n);
    if (head.rejection) return reject(*head.rejection);
    pending_ = std::move(head.request);
    version_ = pending_.version;
    keep_alive_ = head.keep_alive;
    head_ = pending_.method == "HEAD";
    ++requests_;
    responded_ = false;

    // The application may answer from the head alone (401, 404, 405, a CORS preflight); the body,
    // if any, is then never read and the connection closes after the answer.
    if (server_.precheck) {
      server_.in_flight.fetch_add(1, std::memory_order_relaxed);
      const bool body_pending = !parser_->is_done();
      if (server_.precheck(pending_, responder(body_pending))) return;
      server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    }
    if (head.expect_continue) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      io_.expires_after(seconds(server_.limits.write_timeout_s));
      return net::async_write(io_.stream(), net::buffer(kContinue),
                              [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return;
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_read({}, 0);
    io_.expires_after(seconds(server_.limits.body_timeout_s));
    if (parser_->chunked()) return read_chunked_body();
    if (auto length = parser_->content_length(); length && *length > kPaddedBodyFrom)
      return read_body_directly(static_cast<std::size_t>(*length));
    bhttp::async_read(io_.stream(), buffer_, *parser_, beast::bind_front_handler(&Session::on_read, this->shared_from_this()));
  }

  // A large body of known length bypasses Beast's body parser: the kernel copies the socket's data
  // straight into the body (one copy instead of two), as much per read as it holds, so a body is
  // assembled in few large pieces and is still in cache when it is parsed. The Content-Length was
  // checked against the limit already; memory is committed only as data arrives.
  void read_body_directly(std::size_t length) {
    std::string& body = parser_->get().body();
    body.reserve(length + kJsonPadding);
    const std::size_t early = std::min(buffer_.size(), length);  // arrived with the header
    body.assign(static_cast<const char*>(buffer_.data().data()), early);
    buffer_.consume(early);
    read_more_body(length);
  }

  void read_more_body(std::size_t length) {
    std::string& body = parser_->get().body();
    const std::size_t have = body.size();
    if (have == length) return on_read({}, 0);
    const std::size_t want = std::min(length - have, std::max<std::size_t>(io_.available(), 64 * 1024));
    body.resize(have + want);  // within the reserved capacity: no reallocation
    io_.stream().async_read_some(net::buffer(body.data() + have, want),
                            [self = this->shared_from_this(), have, length](beast::error_code read_ec, std::size_t n) {
                              self->parser_->get().body().resize(have + n);
                              if (read_ec) return self->on_read_error(read_ec);
                              self->read_more_body(length);
                            });
  }

  // Chunked bodies are decoded here, past Beast's parser, whose chunk-size lines and trailers have no
  // limits (ChunkedDecoder). Bytes after the body stay in buffer_ for the next request.
  void read_chunked_body() {
    chunked_.emplace(server_.limits);
    decode_chunks();
  }

  void decode_chunks() {
    std::string& body = parser_->get().body();
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(chunked_->feed(data, body));
    switch (chunked_->status()) {
      case ChunkedDecoder::Status::done: return on_read({}, 0);
      case ChunkedDecoder::Status::failed: return reject(chunked_->rejection());
      case ChunkedDecoder::Status::need_more: break;
    }
    io_.stream().async_read_some(buffer_.prepare(64 * 1024), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->on_read_error(ec);
      self->buffer_.commit(n);
      self->decode_chunks();
    });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted)
      return do_close();
    if (ec == bhttp::error::header_limit)
      return reject({431, "Request header fields too large: the limit is " +
                              std::to_string(server_.limits.max_header_size) + " bytes"});
    if (ec == bhttp::error::body_limit)
      return reject({413, "Request body too large: the limit is " + std::to_string(server_.limits.max_body_size) + " bytes"});
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())
      return reject({400, "Malformed HTTP request: " + ec.message()});
    do_close();
  }

  // A responder that answers at most once: the request deadline may have answered 504 already.
  Responder responder(bool close_after) {
    auto self = this->shared_from_this();
    const std::size_t request = requests_;  // a late answer must never reach a later request
    return [self, close_after, request](Response response) {
      net::post(self->io_.get_executor(), [self, close_after, request, response = std::move(response)]() mutable {
        // The deadline answered first (504) or the connection moved on: the late result is dropped.
        if (self->responded_ || request != self->requests_) return;
        self->responded_ = true;
        self->deadline_.cancel();
        if (close_after) response.close = true;
        self->write(std::move(response), true);
      });
    };
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    pending_.body = std::move(parser_->get().body());
    // The id is fixed here so that an answer the server makes itself (504) carries it too.
    pending_.request_id = core::request_id_for(pending_.header("X-Request-ID"));
    request_id_ = pending_.request_id;
    cancel_ = std::make_shared<core::CancelToken>();
    // The connection stays open while the call is pending (its responder holds this session).
    cancel_->set_probe(io_.departure_probe());
    pending_.cancel = cancel_;
    server_.in_flight.fetch_add(1, std::memory_order_relaxed);
    deadline_.expires_after(seconds(server_.limits.request_timeout_s));
    deadline_.async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
      if (wait_ec || self->responded_) return;
      self->responded_ = true;
      self->cancel_->cancel();  // nobody will read the answer: a queued call is dropped
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", self->server_.limits.request_timeout_s);
      Response r = Response::error(504, std::string("The service did not answer within ") + limit + " s");
      r.set_header("X-Request-ID", self->request_id_);
      r.set_header("X-Content-Type-Options", "nosniff");
      self->write(std::move(r), true);
    });
    try {
      server_.handler(std::move(pending_), responder(false));
    } catch (const std::exception& e) {
      // Handlers answer every request themselves; this is the last line of defence: answer 500.
      logs::runtime().error("request handler failed: {} [request_id={}]", e.what(), request_id_);
      answer_internal_error();
    } catch (...) {
      logs::runtime().error("request handler failed [request_id={}]", request_id_);
      answer_internal_error();
    }
    // Watch the connection while the answer is pending, so a client that leaves cancels its call,
    // when the handler asked for it (a call that may wait or can be stopped). Posted: an answer made
    // during the handler (every built-in route) is written first, and then no watch is needed.
    if (cancel_->watch_requested())
      net::post(io_.get_executor(), [self = this->shared_from_this(), request = requests_] {
        if (!self->responded_ && request == self->requests_) self->start_watch();
      });
  }

  void answer_internal_error() {
    if (responded_) return;
    responded_ = true;
    deadline_.cancel();
    Response r = Response::error(500, "Internal Server Error");
    r.set_header("X-Request-ID", request_id_);
    r.set_header("X-Content-Type-Options", "nosniff");
    write(std::move(r), true);
  }

  // A wait (not a read: no system call until the socket becomes readable) that completes when the
  // client sends more — pipelining: the bytes stay in the kernel for the next request — or leaves:
  // readable with nothing to read is the FIN, and the call is cancelled. At most one operation that
  // reads is ever pending: the reads that follow an answer wait for this one through then_read().
  void start_watch() {
    watching_ = true;
    io_.async_wait_readable([self = this->shared_from_this()](beast::error_code ec) {
      self->watching_ = false;
      bool gone = ec && ec != net::error::operation_aborted;
      if (!ec) gone = self->io_.available() == 0;
      if (gone) {
        self->peer_gone_ = true;
        if (!self->responded_) self->cancel_->cancel();
      }
      if (auto next = std::move(self->after_watch_)) {
        self->after_watch_ = nullptr;
        if (self->peer_gone_) return self->do_close();
        next();
      }
    });
  }

  // Runs `next` (which starts a read) now, or once the watch read has ended.
  void then_read(std::function<void()> next) {
    if (!watching_) return next();
    after_watch_ = std::move(next);
    io_.cancel();  // only the watch is pending here
  }

  void reject(const Rejection& rejection) { send_error(rejection.status, rejection.detail); }

  void send_error(int status, std::string detail) {
    Response r = Response::error(status, detail);
    r.close = true;
    r.set_header("X-Request-ID", core::new_request_id());
    r.set_header("X-Content-Type-Options", "nosniff");
    keep_alive_ = false;
    write(std::move(r), false);
  }

 public:
  // ---- streamed responses: called from any thread ----
  bool stream_write(std::string chunk) {
    std::lock_guard lock(stream_mutex_);
    if (stream_closed_) return false;
    if (chunk.empty()) return true;
    if (stream_pending_.size() + chunk.size() > kStreamBufferLimit) {
      // The client is too far behind: end the stream rather than buffer without bound.
      stream_closed_ = true;
      schedule_pump_locked();
      return false;
    }
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    stream_pending_ += size;
    stream_pending_ += chunk;
    stream_pending_ += "\r\n";
    schedule_pump_locked();
    return true;
  }

  void stream_close() {
    std::lock_guard lock(stream_mutex_);
    if (stream_closed_) return;
    stream_closed_ = true;
    schedule_pump_locked();
  }

  bool stream_open() const {
    std::lock_guard lock(stream_mutex_);
    return !stream_closed_;
  }

 private:
  void schedule_pump_locked() {
    if (stream_pumping_) return;
    stream_pumping_ = true;
    net::post(io_.get_executor(), [self = this->shared_from_this()] { self->stream_pump(); });
  }

  void start_stream(Response response) {
    auto head = std::make_shared<bhttp::response<bhttp::empty_body>>();
    head->version(version_);
    head->result(static_cast<unsigned>(response.status));
    head->set(bhttp::field::content_type, response.content_type);
    head->set(bhttp::field::cache_control, "no-cache");
    head->set("X-Accel-Buffering", "no");  // proxies must not hold the stream back
    for (auto& h : response.headers) head->insert(h.name, h.value);
    head->keep_alive(false);
    head->chunked(true);
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
    io_.expires_after(seconds(server_.limits.write_timeout_s));
    bhttp::async_write_header(
        io_.stream(), *serializer,
        [self = this->shared_from_this(), head, serializer, body = std::move(response.body),
         producer = std::move(response.stream)](beast::error_code ec, std::size_t) mutable {
          self->server_.in_flight.fetch_sub(1, std::memory_order_relaxed);  // streams do not hold shutdown
          if (ec) return self->do_close();
          self->io_.expires_never();
          auto sink = std::make_shared<SessionStream<Transport>>(self);
          {
            std::lock_guard lock(self->server_.streams_mutex);
            auto& list = self->server_.streams;
            list.erase(std::remove_if(list.begin(), list.end(), [](const auto& w) { return w.expired(); }), list.end());
            list.push_back(sink);
          }
          self->then_read([self] { self->watch_peer(); });
          self->stream_write(std::move(body));
          if (self->server_.closing.load()) self->stream_close();
          producer(sink);
        });
  }

  // A read that completes only when the client goes away (or sends data we will not read).
  void watch_peer() {
    io_.stream().async_read_some(net::buffer(probe_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) return self->watch_peer();
      std::lock_guard lock(self->stream_mutex_);
      self->stream_closed_ = true;
      self->stream_pending_.clear();
    });
  }

  void stream_pump() {
    bool last = false;
    {
      std::lock_guard lock(stream_mutex_);
      stream_out_.clear();
      stream_out_.swap(stream_pending_);
      if (stream_out_.empty()) {
        if (!stream_closed_ || stream_ended_) {
          stream_pumping_ = false;
          return;
        }
        stream_ended_ = true;
        last = true;
        stream_out_ = "0\r\n\r\n";
      }
    }
    io_.expires_after(seconds(server_.limits.write_timeout_s));
    net::async_write(io_.stream(), net::buffer(stream_out_), [self = this->shared_from_this(), last](beast::error_code ec, std::size_t) {
      self->io_.expires_never();
      if (ec || last) {
        {
          std::lock_guard lock(self->stream_mutex_);
          self->stream_closed_ = true;
          self->stream_ended_ = true;
          self->stream_pumping_ = false;
        }
        self->io_.close();
        return;
      }
      self->stream_pump();
    });
  }

  void write(Response response, bool counted) {
    if (response.stream && counted && !head_) return start_stream(std::move(response));
    response.stream = nullptr;  // HEAD: the headers only
    const std::size_t max_requests = server_.limits.max_requests_per_connection;
    const bool keep = keep_alive_ && !response.close && !server_.closing.load(std::memory_order_relaxed) &&
                      (max_requests == 0 || requests_ < max_requests);
    const bool bodiless = !write_response_head(head_text_, response, {version_, keep});
    body_text_ = bodiless || head_ ? std::string() : std::move(response.body);
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_text_), net::buffer(body_text_)};
    // Most answers fit the socket's send buffer: written at once, with no write deadline to arm and
    // cancel (a timer system call and a handler round per answer). Only the rest waits, under the deadline.
    const std::size_t written = io_.write_now(buffers);
    if (written == head_text_.size() + body_text_.size()) {
      net::post(io_.get_executor(), beast::bind_front_handler(&Session::on_write, this->shared_from_this(), counted,
                                                              keep, beast::error_code(), written));
      return;
    }
    beast::buffers_suffix<std::array<net::const_buffer, 2>> rest(buffers);
    rest.consume(written);
    io_.expires_after(seconds(server_.limits.write_timeout_s));
    net::async_write(io_.stream(), rest, beast::bind_front_handler(&Session::on_write, this->shared_from_this(), counted, keep));
  }

  void on_write(bool counted, bool keep, beast::error_code ec, std::size_t) {
    if (counted) server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    body_text_ = std::string();  // a large body is freed now, not at the next response
    if (ec) return;
    if (!keep) return linger_close();
    then_read([self = this->shared_from_this()] {
      self->first_ = false;
      self->do_read();
    });
  }

  void do_close() { io_.shutdown_send(); }

  // Closing a socket with unread request bytes makes the kernel send RST, which can destroy the
  // response before the client reads it. So: stop sending, read and discard what the client still
  // sends (bounded in bytes and time, never parsed), then close.
  void linger_close() {
    do_close();
    then_read([self = this->shared_from_this()] {
      self->io_.expires_after(std::chrono::seconds(2));
      self->linger_read(0);
    });
  }

  void linger_read(std::size_t discarded) {
    if (discarded > 1024 * 1024) return;
    io_.stream().async_read_some(net::buffer(probe_), [self = this->shared_from_this(), discarded](beast::error_code ec, std::size_t n) {
      if (!ec) self->linger_read(discarded + n);
    });
  }

  Transport io_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<RequestBody>> parser_;
  std::optional<ChunkedDecoder> chunked_;  // the chunked body being read
  std::string head_text_;      // the response head being written; its capacity is reused
  std::string body_text_;      // the response body being written
  net::steady_timer deadline_{io_.get_executor()};  // the request deadline (504)
  Request pending_;           // the request being read: head first, then the body
  bool responded_ = false;    // this request has its answer (a late one is dropped)
  std::string request_id_;    // of the request being answered
  std::shared_ptr<core::CancelToken> cancel_;  // of the request being answered
  bool watching_ = false;     // the watch read (start_watch) is pending
  bool peer_gone_ = false;    // the watch read saw the client leave
  std::function<void()> after_watch_;  // a read to start once the watch read has ended
  std::size_t requests_ = 0;  // on this connection
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool first_ = true;
  // Streamed-response state; guarded by stream_mutex_ because producers write from other threads.
  mutable std::mutex stream_mutex_;
  std::string stream_pending_;
  std::string stream_out_;  // being written; touched only on the strand
  bool stream_closed_ = false;
  bool stream_ended_ = false;
  bool stream_pumping_ = false;
  std::array<char, 256> probe_{};
};


}  // namespace session_detail

// Starts serving one connection over `io`.
template <class Transport>
void serve_connection(Transport io, Server::Impl& server) {
  std::make_shared<session_detail::Session<Transport>>(std::move(io), server)->run();
}

}  // namespace mvi::http
