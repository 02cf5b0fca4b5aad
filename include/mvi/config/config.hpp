// Runtime configuration: every option of SPEC §3 with its default, from the command line and the
// environment. Parsed once in main; read-only afterwards, so safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mvi::config {

struct Limits {
  std::size_t max_body_size = 8 * 1024 * 1024;  // bytes; 413 above it
  std::size_t max_header_size = 16 * 1024;      // bytes of the whole header block; 431 above it
  std::size_t max_header_count = 100;           // header fields; 431 above it
  std::size_t max_request_line = 8 * 1024;      // bytes of "METHOD target HTTP/1.1"; 414 above it
  std::size_t max_chunk_line = 4 * 1024;        // bytes of a chunk-size line with its extensions; 400 above it
  std::size_t max_json_depth = 64;              // nesting levels; 400 above it
  std::size_t queue_limit = 1024;               // calls waiting for an executor; 503 above it
  double header_timeout_s = 10.0;
  double body_timeout_s = 30.0;
  double write_timeout_s = 30.0;
  double keep_alive_timeout_s = 75.0;
  double request_timeout_s = 60.0;             // a call not answered by then gets 504
  std::size_t max_requests_per_connection = 10000;  // then the connection is closed
  std::size_t max_connections = 0;              // 0 = below the file-descriptor limit (set at start)
};

struct Security {
  std::string token;                  // empty: no authentication
  bool cors = false;
  std::vector<std::string> cors_origins;  // exact origins allowed when cors is on
  bool cors_credentials = false;          // Access-Control-Allow-Credentials (Daeploy's setting: off)
};

struct Config {
  std::string service_path;
  std::string host = "0.0.0.0";
  std::uint16_t port = 8000;
  std::string name;                  // default: the service file's stem
  std::string version = "0.0.0";
  std::string root_path;             // "" or "/prefix" without a trailing slash
  std::string log_level = "info";
  std::string log_format = "text";   // text | json
  int workers = 0;                   // Python worker processes; 0 = in-process mode (SPEC §9)
  int threads = 8;                   // the most Python executor threads per interpreter (one hot, SPEC §3)
  double restart_backoff_s = 0.5;    // isolated mode: first delay before a worker is restarted, doubling
  double call_timeout_s = 0;         // isolated mode: a call past it is answered 504 and its worker replaced; 0 = off
  std::uint64_t max_requests = 0;    // isolated mode: recycle a worker after this many calls; 0 = never
  std::uint64_t max_requests_jitter = 0;
  std::size_t worker_memory_limit = 0;  // isolated mode: RSS bytes; 0 = no limit
  int worker_fd = -1;                // internal: >= 0 runs this process as a worker on that channel fd
  int io_threads = 1;                // HTTP I/O threads (one is best for small requests on 2 cores)
  double drain_delay_s = 1.0;        // after SIGTERM: keep accepting this long while ready is 503
  double graceful_timeout_s = 30.0;  // then wait this long for in-flight requests
  bool check = false;                // load, print the registry, exit
  bool print_openapi = false;        // load, print the OpenAPI document, exit
  std::string monitor_db;            // SQLite file for store()/monitor=True; "" = .mvi/<name>-monitor.db
  std::string monitor_limit;         // retention, e.g. "10000rows" or "90days"; "" = 10000 rows
  std::string state = "memory";      // where parameters and notifications are kept: memory | file:PATH | redis://… (SPEC §10)
  std::string state_namespace;       // Redis key prefix; "" = mvi:<name>:<version>
  Limits limits;
  Security security;
};

// What main should do after parsing: run with the config, or print `output` and exit with `exit_code`.
struct ParseResult {
  Config config;
  std::optional<int> exit_code;
  std::string output;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment, for main; tests pass their own lookup.
EnvLookup process_env();

// Parses argv after applying environment defaults (MVI_* and the Daeploy aliases).
// Command-line values win over the environment.
ParseResult parse_command_line(int argc, const char* const* argv, const EnvLookup& env);

// Parses sizes such as "8MiB", "512k", "1048576".
std::optional<std::size_t> parse_size(const std::string& text);

}  // namespace mvi::config
