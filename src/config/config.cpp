// Command-line and environment parsing with CLI11. Pure function of argv and an env lookup;
// thread-safe. Environment values are turned into leading "--opt=value" arguments so that the
// command line, parsed after them, always wins (TakeLast policy).
#include "mvi/config/config.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "mvi/version.hpp"

namespace mvi::config {
namespace {

struct EnvOption {
  const char* option;
  std::vector<const char*> names;  // first found wins
};

const std::vector<EnvOption>& env_options() {
  static const std::vector<EnvOption> table = {
      {"--host", {"MVI_HOST"}},
      {"--port", {"MVI_PORT"}},
      {"--name", {"MVI_SERVICE_NAME", "daeploy.name"}},
      {"--service-version", {"MVI_SERVICE_VERSION", "daeploy.version"}},
      {"--root-path", {"MVI_ROOT_PATH"}},
      {"--log-level", {"MVI_LOG_LEVEL"}},
      {"--log-format", {"MVI_LOG_FORMAT"}},
      {"--workers", {"MVI_WORKERS"}},
      {"--threads", {"MVI_THREADS"}},
      {"--restart-backoff", {"MVI_RESTART_BACKOFF"}},
      {"--call-timeout", {"MVI_CALL_TIMEOUT"}},
      {"--max-requests", {"MVI_MAX_REQUESTS"}},
      {"--max-requests-jitter", {"MVI_MAX_REQUESTS_JITTER"}},
      {"--worker-memory-limit", {"MVI_WORKER_MEMORY_LIMIT"}},
      {"--io-threads", {"MVI_IO_THREADS"}},
      {"--drain-delay", {"MVI_DRAIN_DELAY"}},
      {"--graceful-timeout", {"MVI_GRACEFUL_TIMEOUT"}},
      {"--max-body-size", {"MVI_MAX_BODY_SIZE"}},
      {"--max-header-size", {"MVI_MAX_HEADER_SIZE"}},
      {"--max-json-depth", {"MVI_MAX_JSON_DEPTH"}},
      {"--queue-limit", {"MVI_QUEUE_LIMIT"}},
      {"--header-timeout", {"MVI_HEADER_TIMEOUT"}},
      {"--body-timeout", {"MVI_BODY_TIMEOUT"}},
      {"--write-timeout", {"MVI_WRITE_TIMEOUT"}},
      {"--keep-alive-timeout", {"MVI_KEEP_ALIVE_TIMEOUT"}},
      {"--request-timeout", {"MVI_REQUEST_TIMEOUT"}},
      {"--max-header-count", {"MVI_MAX_HEADER_COUNT"}},
      {"--max-request-line", {"MVI_MAX_REQUEST_LINE"}},
      {"--max-chunk-line", {"MVI_MAX_CHUNK_LINE"}},
      {"--max-requests-per-connection", {"MVI_MAX_REQUESTS_PER_CONNECTION"}},
      {"--max-connections", {"MVI_MAX_CONNECTIONS"}},
      {"--token", {"MVI_AUTH_TOKEN", "daeploy.auth"}},
      {"--token-file", {"MVI_AUTH_TOKEN_FILE"}},
      {"--monitor-db", {"MVI_MONITOR_DB"}},
      {"--monitor-limit", {"MVI_MONITOR_LIMIT", "DAEPLOY_SERVICE_DB_TABLE_LIMIT"}},
      {"--state", {"MVI_STATE"}},
      {"--state-namespace", {"MVI_STATE_NAMESPACE"}},
      {"--cors", {"MVI_ENABLE_CORS", "DAEPLOY_ENABLE_CORS"}},
      {"--cors-credentials", {"MVI_CORS_CREDENTIALS"}},
      {"--allow-origin", {"MVI_ALLOW_ORIGIN", "DAEPLOY_ALLOW_ORIGIN"}},
  };
  return table;
}

std::string normalise_root_path(std::string p) {
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (!p.empty() && p.front() != '/') p.insert(p.begin(), '/');
  return p;
}

// A validator for CLI11 so that sizes and their errors read the same from env and argv.
struct SizeValidator : CLI::Validator {
  SizeValidator() {
    name_ = "SIZE";
    func_ = [](std::string& s) -> std::string {
      auto v = parse_size(s);
      if (!v) return "not a size (examples: 8MiB, 512k, 1048576): " + s;
      s = std::to_string(*v);
      return {};
    };
  }
};

// An option whose --help shows its default.
template <class T>
CLI::Option* option(CLI::App& app, const char* name, T& value, const std::string& help) {
  return app.add_option(name, value, help)->capture_default_str();
}

// A number kept within [low, high].
template <class T, class Bound>
CLI::Option* ranged(CLI::App& app, const char* name, T& value, const std::string& help, Bound low, Bound high) {
  return option(app, name, value, help)->check(CLI::Range(low, high));
}

// A byte size: "16KiB", "8m", "1024".
CLI::Option* size(CLI::App& app, const char* name, std::size_t& value, const std::string& help) {
  return option(app, name, value, help)->transform(SizeValidator());
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& key) -> std::optional<std::string> {
    const char* v = std::getenv(key.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::size_t> parse_size(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::size_t start = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == start || i - start > 15) return std::nullopt;
  std::size_t value = std::stoull(text.substr(start, i - start));
  std::string unit;
  for (; i < text.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i])))
      unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  std::size_t mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1024;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1024 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1024ull * 1024 * 1024;
  else return std::nullopt;
  if (value > SIZE_MAX / mult) return std::nullopt;
  return value * mult;
}

ParseResult parse_command_line(int argc, const char* const* argv, const EnvLookup& env) {
  ParseResult result;
  Config& c = result.config;

  CLI::App app{"mvi-runtime: serve a Python service.py over HTTP", "mvi-runtime"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(34);

  bool print_version = false;
  std::size_t max_body = c.limits.max_body_size, max_header = c.limits.max_header_size;
  app.add_flag("--version", print_version,
               "Print the runtime version and exit (--version=X sets the service version)");
  app.add_option("service", c.service_path, "The service file (service.py)")->type_name("SERVICE_PY");
  option(app, "--host", c.host, "Listen address [MVI_HOST]");
  int port = c.port;  // an int, so 99999 gets CLI11's range message rather than "Could not convert"
  ranged(app, "--port", port, "Listen port, 0 = any free port [MVI_PORT]", 0, 65535);
  app.add_option("--name", c.name, "Service name [MVI_SERVICE_NAME] (default: file stem)");
  option(app, "--service-version", c.version, "Service version [MVI_SERVICE_VERSION]");
  app.add_option("--root-path", c.root_path, "Path prefix behind a proxy [MVI_ROOT_PATH]");
  option(app, "--log-level", c.log_level, "trace|debug|info|warning|error|critical [MVI_LOG_LEVEL]")
      ->check(CLI::IsMember({"trace", "debug", "info", "warning", "warn", "error", "critical"}, CLI::ignore_case));
  option(app, "--log-format", c.log_format, "text|json [MVI_LOG_FORMAT]")
      ->check(CLI::IsMember({"text", "json"}, CLI::ignore_case));
  ranged(app, "--workers", c.workers, "Python worker processes, 0 = run Python in this process [MVI_WORKERS]", 0, 64);
  ranged(app, "--threads", c.threads, "The most Python executor threads per interpreter: one takes calls, more wake while calls block [MVI_THREADS]", 1, 256);
  ranged(app, "--restart-backoff", c.restart_backoff_s,
         "Seconds before a worker that ended is restarted, doubling per quick failure [MVI_RESTART_BACKOFF]", 0.0, 60.0);
  ranged(app, "--call-timeout", c.call_timeout_s,
         "Seconds a call may run in a worker before it is answered 504 and the worker replaced, 0 = off [MVI_CALL_TIMEOUT]",
         0.0, 86400.0);
  option(app, "--max-requests", c.max_requests, "Calls before a worker is recycled, 0 = never [MVI_MAX_REQUESTS]");
  option(app, "--max-requests-jitter", c.max_requests_jitter,
         "Up to this many more calls per worker, so workers do not recycle together [MVI_MAX_REQUESTS_JITTER]");
  size(app, "--worker-memory-limit", c.worker_memory_limit,
       "A worker's largest RSS: over it the worker is stopped; above 90 % after a call, recycled; 0 = none "
       "[MVI_WORKER_MEMORY_LIMIT]");
  // Set by the front on the processes it starts (isolated mode); not for users.
  app.add_option("--worker-fd", c.worker_fd)->group("");
  ranged(app, "--io-threads", c.io_threads, "HTTP I/O threads [MVI_IO_THREADS]", 1, 64);
  ranged(app, "--drain-delay", c.drain_delay_s, "Seconds to keep serving after SIGTERM [MVI_DRAIN_DELAY]", 0.0,
         3600.0);
  ranged(app, "--graceful-timeout", c.graceful_timeout_s, "Seconds to finish in-flight requests [MVI_GRACEFUL_TIMEOUT]",
         0.0, 3600.0);
  size(app, "--max-body-size", max_body, "Largest request body [MVI_MAX_BODY_SIZE]");
  size(app, "--max-header-size", max_header, "Largest header block [MVI_MAX_HEADER_SIZE]");
  ranged(app, "--max-json-depth", c.limits.max_json_depth, "Deepest JSON nesting [MVI_MAX_JSON_DEPTH]", 1, 10000);
  ranged(app, "--queue-limit", c.limits.queue_limit, "Calls waiting for Python [MVI_QUEUE_LIMIT]", 1, 1000000);
  option(app, "--header-timeout", c.limits.header_timeout_s, "Seconds to receive headers [MVI_HEADER_TIMEOUT]");
  option(app, "--body-timeout", c.limits.body_timeout_s,
         "Seconds to receive the whole body (a deadline, so a trickled body cannot hold a connection) [MVI_BODY_TIMEOUT]");
  option(app, "--write-timeout", c.limits.write_timeout_s, "Seconds to write a response [MVI_WRITE_TIMEOUT]");
  option(app, "--keep-alive-timeout", c.limits.keep_alive_timeout_s, "Seconds an idle connection is kept [MVI_KEEP_ALIVE_TIMEOUT]");
  std::size_t max_request_line = c.limits.max_request_line;
  ranged(app, "--request-timeout", c.limits.request_timeout_s, "Seconds before a call is answered 504 [MVI_REQUEST_TIMEOUT]",
         0.001, 86400.0);
  ranged(app, "--max-header-count", c.limits.max_header_count, "Most header fields [MVI_MAX_HEADER_COUNT]", 1, 10000);
  size(app, "--max-request-line", max_request_line, "Longest request line [MVI_MAX_REQUEST_LINE]");
  std::size_t max_chunk_line = c.limits.max_chunk_line;
  size(app, "--max-chunk-line", max_chunk_line,
       "Longest chunk-size line of a chunked body, extensions included [MVI_MAX_CHUNK_LINE]");
  option(app, "--max-requests-per-connection", c.limits.max_requests_per_connection,
         "Requests before a keep-alive connection is closed, 0 = no limit [MVI_MAX_REQUESTS_PER_CONNECTION]");
  option(app, "--max-connections", c.limits.max_connections,
         "Open connections, 0 = below the descriptor limit [MVI_MAX_CONNECTIONS]");
  std::string token_file, cors_flag, cors_credentials_flag, allow_origin;
  app.add_option("--token", c.security.token, "Require 'Authorization: Bearer TOKEN' [MVI_AUTH_TOKEN]");
  app.add_option("--token-file", token_file, "Read the token from a file [MVI_AUTH_TOKEN_FILE]");
  app.add_option("--cors", cors_flag, "Enable CORS: true|false [MVI_ENABLE_CORS]");
  app.add_option("--cors-credentials", cors_credentials_flag,
                 "Let browsers send cookies and Authorization cross-origin: true|false [MVI_CORS_CREDENTIALS] "
                 "(default false, as Daeploy)");
  app.add_option("--allow-origin", allow_origin, "Exact origins allowed by CORS, ';'-separated [MVI_ALLOW_ORIGIN]");
  app.add_option("--monitor-db", c.monitor_db, "Monitoring database file [MVI_MONITOR_DB] (default .mvi/<name>-monitor.db)");
  app.add_option("--monitor-limit", c.monitor_limit, "Monitoring retention per variable, e.g. 10000rows or 90days [MVI_MONITOR_LIMIT]");
  app.add_option("--state", c.state,
                 "Where parameters and notifications are kept: memory, file:PATH (survives restarts) or "
                 "redis://[user:password@]host:port/db (shared by replicas) [MVI_STATE]");
  app.add_option("--state-namespace", c.state_namespace,
                 "Prefix of the Redis keys [MVI_STATE_NAMESPACE] (default mvi:<name>:<version>)");
  app.add_flag("--check", c.check, "Load the service, print what it registered, and exit");
  app.add_flag("--openapi", c.print_openapi, "Load the service, print its OpenAPI document, and exit");

  // Environment first, then the real arguments: the last value wins.
  std::vector<std::string> args;
  for (const auto& opt : env_options()) {
    for (const char* name : opt.names) {
      if (auto v = env(name)) {
        args.push_back(std::string(opt.option) + "=" + *v);
        break;
      }
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--version=", 0) == 0) a = "--service-version=" + a.substr(10);
    args.push_back(std::move(a));
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them in reverse

  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    result.exit_code = 0;
    result.output = app.help();
    return result;
  } catch (const CLI::ParseError& e) {
    result.exit_code = 2;
    result.output = std::string("mvi-runtime: ") + e.what() + "\nRun with --help for usage.\n";
    return result;
  }

  if (print_version) {
    result.exit_code = 0;
    result.output = std::string("mvi-runtime ") + kVersion + "\n";
    return result;
  }
  if (c.service_path.empty()) {
    result.exit_code = 2;
    result.output = "mvi-runtime: the service file is required, e.g. mvi-runtime service.py\n";
    return result;
  }
  c.port = static_cast<std::uint16_t>(port);
  // A project folder (what `mvi init` makes) means its service.py.
  if (std::error_code ec; std::filesystem::is_directory(c.service_path, ec))
    c.service_path = (std::filesystem::path(c.service_path) / "service.py").string();
  c.limits.max_body_size = max_body;
  c.limits.max_header_size = max_header;
  c.limits.max_request_line = max_request_line;
  c.limits.max_chunk_line = max_chunk_line;
  auto fail = [&](const std::string& message) {
    result.exit_code = 2;
    result.output = "mvi-runtime: " + message + "\n";
    return result;
  };
  const bool redis = c.state.rfind("redis://", 0) == 0 || c.state.rfind("rediss://", 0) == 0;
  if (c.state != "memory" && !redis && (c.state.rfind("file:", 0) != 0 || c.state.size() == 5))
    return fail("--state: '" + c.state + "' is not memory, file:PATH or redis://HOST:PORT/DB");
  // The command line wins over the environment; on the same side, a token file wins over a token.
  bool cli_token = false, cli_token_file = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--token-file" || a.rfind("--token-file=", 0) == 0) cli_token_file = true;
    else if (a == "--token" || a.rfind("--token=", 0) == 0) cli_token = true;
  }
  if (cli_token && !cli_token_file) token_file.clear();
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return fail("cannot read the token file " + token_file);
    std::stringstream text;
    text << in.rdbuf();
    c.security.token = text.str();
  }
  // Surrounding whitespace (a trailing newline in a mounted secret) is never part of a token.
  auto trim = [](std::string s) {
    auto b = s.find_first_not_of(" \t\r\n");
    auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  c.security.token = trim(c.security.token);
  for (auto [flag, target, name] : {std::tuple{&cors_flag, &c.security.cors, "--cors / MVI_ENABLE_CORS"},
                                     std::tuple{&cors_credentials_flag, &c.security.cors_credentials,
                                                "--cors-credentials / MVI_CORS_CREDENTIALS"}}) {
    if (flag->empty()) continue;
    std::string v;
    for (char ch : *flag) v += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (v == "1" || v == "true" || v == "yes" || v == "on") *target = true;
    else if (v == "0" || v == "false" || v == "no" || v == "off") *target = false;
    else return fail(std::string(name) + " must be true or false, not '" + *flag + "'");
  }
  std::stringstream origins(allow_origin);
  for (std::string o; std::getline(origins, o, ';');)
    if (auto t = trim(o); !t.empty()) c.security.cors_origins.push_back(t);
  for (auto& ch : c.log_level) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (auto& ch : c.log_format) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (c.root_path.empty()) {
    // Deployed by a Daeploy manager (its variables for a service container): Daeploy's own service derived
    // its root path from them, and its proxy serves it there (SPEC §2.3, issue 15).
    auto daeploy_name = env("daeploy.name"), daeploy_version = env("daeploy.version");
    if (daeploy_name && daeploy_version && !daeploy_name->empty() && !daeploy_version->empty())
      c.root_path = "/services/" + *daeploy_name + "_" + *daeploy_version;
  }
  c.root_path = normalise_root_path(c.root_path);
  if (c.name.empty()) c.name = std::filesystem::path(c.service_path).stem().string();
  return result;
}

}  // namespace mvi::config
