// One SMTP conversation of the e-mail sink: a do_x/on_x chain (DESIGN rule 1) kept alive by shared_from_this,
// over plain TCP, STARTTLS or implicit TLS, with plain Asio (no Beast). Every command is written, then its whole
// (possibly multi-line) reply read and its class checked before the next step.
// Thread-safety: everything runs on the thread of the io_context given; one deadline timer bounds the conversation.
#include "mvi/notify/smtp_client.hpp"

#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "tls_context.hpp"

namespace mvi::notify {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

SmtpReplyLine parse_smtp_reply_line(std::string_view line) {
  SmtpReplyLine r;
  if (line.size() < 3) return r;
  int code = 0;
  auto [ptr, ec] = std::from_chars(line.data(), line.data() + 3, code);
  if (ec != std::errc() || ptr != line.data() + 3 || code < 200 || code > 599) return r;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return r;
  r.code = code;
  r.more = line.size() > 3 && line[3] == '-';
  if (line.size() > 4) r.text = std::string(line.substr(4));
  return r;
}

std::string smtp_auth_plain(std::string_view user, std::string_view password) {
  std::string raw;
  raw += '\0';
  raw += user;
  raw += '\0';
  raw += password;
  return base64(raw);
}

namespace {

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class SmtpSession : public std::enable_shared_from_this<SmtpSession> {
 public:
  SmtpSession(net::io_context& ioc, std::shared_ptr<TlsContext> tls, const SmtpSettings& settings,
              EmailEnvelope envelope, SmtpDone done)
      : resolver_(ioc),
        socket_(ioc),
        deadline_(ioc),
        tls_context_(std::move(tls)),
        settings_(settings),
        envelope_(std::move(envelope)),
        done_(std::move(done)) {}

  void run() {
    deadline_.expires_after(seconds(settings_.timeout_s));
    deadline_.async_wait([self = shared_from_this()](error_code ec) { self->on_deadline(ec); });
    stage_ = "resolve";
    resolver_.async_resolve(settings_.host, std::to_string(settings_.port),
                            [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results));
                            });
  }

 private:
  using Step = void (SmtpSession::*)();

  void on_deadline(error_code ec) {
    if (ec) return;  // cancelled: the conversation finished first
    timed_out_ = true;
    resolver_.cancel();
    socket_.close(ec);
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail_io(ec);
    stage_ = "connect";
    net::async_connect(socket_, results, [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
      self->on_connect(ec);
    });
  }

  void on_connect(error_code ec) {
    if (ec) return fail_io(ec);
    socket_.set_option(tcp::no_delay(true), ec);
    if (settings_.security == SmtpSecurity::tls) return do_handshake(&SmtpSession::do_read_greeting);
    do_read_greeting();
  }

  // ---- TLS (implicit, or after STARTTLS) ----

  void do_handshake(Step then) {
    if (!tls_context_) return finish({0, "TLS is not set up", true});
    tls_.emplace(socket_, tls_context_->ctx);
    if (!prepare_tls_stream(*tls_, settings_.host)) return finish({0, "TLS: cannot set the server name", true});
    stage_ = "TLS handshake";
    tls_->async_handshake(net::ssl::stream_base::client, [self = shared_from_this(), then](error_code ec) {
      if (ec) return self->fail_io(ec);
      ((*self).*then)();
    });
  }

  // ---- the conversation ----

  void do_read_greeting() {
    stage_ = "greeting";
    do_read_reply(2, &SmtpSession::on_greeting);
  }

  void on_greeting() { do_ehlo(); }

  void do_ehlo() { do_command("EHLO " + settings_.helo_name, "EHLO", 2, &SmtpSession::on_ehlo); }

  void on_ehlo() {
    bool offers_starttls = false;
    for (std::size_t i = 1; i < reply_lines_.size(); ++i)
      if (upper(reply_lines_[i]).rfind("STARTTLS", 0) == 0) offers_starttls = true;
    if (settings_.security == SmtpSecurity::starttls && !tls_) {
      if (!offers_starttls)
        return finish({reply_code_, "EHLO: the server does not offer STARTTLS (MVI_SMTP_STARTTLS is set)", true});
      return do_command("STARTTLS", "STARTTLS", 2, &SmtpSession::on_starttls);
    }
    if (!settings_.username.empty())
      return do_command("AUTH PLAIN " + smtp_auth_plain(settings_.username, settings_.password), "AUTH PLAIN", 2,
                        &SmtpSession::do_mail);
    do_mail();
  }

  void on_starttls() {
    in_.clear();  // nothing sent in the clear before the handshake may be trusted afterwards
    do_handshake(&SmtpSession::do_ehlo);
  }

  void do_mail() {
    do_command("MAIL FROM:<" + envelope_.from + ">", "MAIL FROM", 2, &SmtpSession::on_mail);
  }

  void on_mail() {
    rcpt_ = 0;
    do_rcpt();
  }

  void do_rcpt() {
    do_command("RCPT TO:<" + envelope_.to[rcpt_] + ">", "RCPT TO", 2, &SmtpSession::on_rcpt);
  }

  void on_rcpt() {
    if (++rcpt_ < envelope_.to.size()) return do_rcpt();
    do_command("DATA", "DATA", 3, &SmtpSession::on_data_ready);
  }

  void on_data_ready() {
    stage_ = "message";
    out_ = smtp_dot_stuff(envelope_.data) + ".\r\n";
    do_write(&SmtpSession::on_message_written);
  }

  void on_message_written() { do_read_reply(2, &SmtpSession::on_accepted); }

  void on_accepted() {
    accepted_ = true;
    do_command("QUIT", "QUIT", 2, &SmtpSession::on_quit);
  }

  void on_quit() { finish({reply_code_, {}, false}); }

  // ---- commands and replies ----

  void do_command(std::string line, const char* stage, int expect_class, Step next) {
    stage_ = stage;
    out_ = std::move(line) + "\r\n";
    expect_class_ = expect_class;
    after_reply_ = next;
    do_write(&SmtpSession::on_command_written);
  }

  void on_command_written() { do_read_reply(expect_class_, after_reply_); }

  void do_write(Step then) {
    auto handler = [self = shared_from_this(), then](error_code ec, std::size_t) {
      if (ec) return self->fail_io(ec);
      ((*self).*then)();
    };
    if (tls_)
      net::async_write(*tls_, net::buffer(out_), std::move(handler));
    else
      net::async_write(socket_, net::buffer(out_), std::move(handler));
  }

  void do_read_reply(int expect_class, Step next) {
    expect_class_ = expect_class;
    after_reply_ = next;
    reply_code_ = 0;
    reply_lines_.clear();
    reply_size_ = 0;
    do_read_line();
  }

  void do_read_line() {
    auto handler = [self = shared_from_this()](error_code ec, std::size_t n) { self->on_line(ec, n); };
    if (tls_)
      net::async_read_until(*tls_, net::dynamic_buffer(in_, kMaxSmtpReply), "\r\n", std::move(handler));
    else
      net::async_read_until(socket_, net::dynamic_buffer(in_, kMaxSmtpReply), "\r\n", std::move(handler));
  }

  void on_line(error_code ec, std::size_t n) {
    if (ec) return fail_io(ec);
    std::string line = in_.substr(0, n - 2);
    in_.erase(0, n);
    reply_size_ += n;
    auto parsed = parse_smtp_reply_line(line);
    if (parsed.code == 0 || (reply_code_ != 0 && parsed.code != reply_code_) || reply_size_ > kMaxSmtpReply)
      return finish({0, stage_ + ": malformed reply from the server", false});
    reply_code_ = parsed.code;
    reply_lines_.push_back(std::move(parsed.text));
    if (parsed.more) return do_read_line();
    if (reply_code_ / 100 != expect_class_) {
      std::string text = reply_lines_.empty() ? "" : reply_lines_.back();
      if (text.size() > 200) text.resize(200);
      return finish({reply_code_, stage_ + ": " + std::to_string(reply_code_) + " " + text, false});
    }
    ((*this).*after_reply_)();
  }

  void fail_io(error_code ec) {
    if (timed_out_) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "timed out after %g s", settings_.timeout_s);
      return finish({0, stage_ + ": " + buf, false});
    }
    finish({0, stage_ + ": " + ec.message(), false});
  }

  void finish(SmtpOutcome outcome) {
    if (!done_) return;
    if (accepted_) outcome = {250, {}, false};  // the message was taken; what happens at QUIT does not matter
    deadline_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(outcome));
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
  std::optional<net::ssl::stream<tcp::socket&>> tls_;  // refers to socket_: declared after it, destroyed first
  net::steady_timer deadline_;
  std::shared_ptr<TlsContext> tls_context_;
  SmtpSettings settings_;
  EmailEnvelope envelope_;
  SmtpDone done_;

  std::string stage_;
  std::string out_;
  std::string in_;
  int expect_class_ = 2;
  Step after_reply_ = nullptr;
  int reply_code_ = 0;
  std::vector<std::string> reply_lines_;
  std::size_t reply_size_ = 0;
  std::size_t rcpt_ = 0;
  bool accepted_ = false;
  bool timed_out_ = false;
};

}  // namespace

void async_smtp_send(net::io_context& ioc, const std::shared_ptr<TlsContext>& tls, const SmtpSettings& settings,
                     EmailEnvelope envelope, SmtpDone done) {
  if (envelope.to.empty()) {
    net::post(ioc, [done = std::move(done)] { done({0, "no recipients", true}); });
    return;
  }
  std::make_shared<SmtpSession>(ioc, tls, settings, std::move(envelope), std::move(done))->run();
}

}  // namespace mvi::notify
