// Tests for mvi::config::parse_command_line and parse_size (SPEC §3), with an injected
// environment lookup so the real process environment never leaks in.
#include "mvi/config/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "mvi/version.hpp"

namespace mvi::config {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup lookup(Env env) {
  return [env = std::move(env)](const std::string& key) -> std::optional<std::string> {
    auto it = env.find(key);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

ParseResult parse(std::vector<std::string> args, Env env = {}) {
  std::vector<const char*> argv{"mvi-runtime"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(), lookup(std::move(env)));
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- defaults and options ----

TEST(ParseCommandLine, Defaults) {
  auto r = parse({"service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  const Config& c = r.config;
  EXPECT_EQ(c.service_path, "service.py");
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 8000);
  EXPECT_EQ(c.name, "service");
  EXPECT_EQ(c.version, "0.0.0");
  EXPECT_EQ(c.root_path, "");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.workers, 0) << "in-process mode by default";
  EXPECT_EQ(c.threads, 8);
  EXPECT_DOUBLE_EQ(c.restart_backoff_s, 0.5);
  EXPECT_EQ(c.worker_fd, -1);
  EXPECT_DOUBLE_EQ(c.call_timeout_s, 0);
  EXPECT_EQ(c.max_requests, 0u);
  EXPECT_EQ(c.worker_memory_limit, 0u);
  EXPECT_EQ(c.io_threads, 1);
  EXPECT_DOUBLE_EQ(c.drain_delay_s, 1.0);
  EXPECT_DOUBLE_EQ(c.graceful_timeout_s, 30.0);
  EXPECT_FALSE(c.check);
  EXPECT_EQ(c.limits.max_body_size, 8u * 1024 * 1024);
  EXPECT_EQ(c.limits.max_header_size, 16u * 1024);
  EXPECT_EQ(c.limits.max_json_depth, 64u);
  EXPECT_EQ(c.limits.queue_limit, 1024u);
  EXPECT_DOUBLE_EQ(c.limits.header_timeout_s, 10.0);
  EXPECT_DOUBLE_EQ(c.limits.body_timeout_s, 30.0);
  EXPECT_DOUBLE_EQ(c.limits.write_timeout_s, 30.0);
  EXPECT_DOUBLE_EQ(c.limits.keep_alive_timeout_s, 75.0);
  EXPECT_TRUE(r.output.empty());
}

TEST(ParseCommandLine, EveryOption) {
  auto r = parse({"--host", "127.0.0.1", "--port", "0", "--name", "svc", "--service-version", "2.1.0",
                  "--root-path", "/api", "--log-level", "DEBUG", "--log-format", "JSON", "--workers", "4", "--threads", "6",
                  "--io-threads", "2", "--drain-delay", "0.5", "--graceful-timeout", "5", "--max-body-size",
                  "1048576", "--max-header-size", "32768", "--max-json-depth", "10", "--queue-limit", "5",
                  "--header-timeout", "1.5", "--body-timeout", "2.5", "--write-timeout", "3.5",
                  "--keep-alive-timeout", "4.5", "--check", "app/main.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  const Config& c = r.config;
  EXPECT_EQ(c.service_path, "app/main.py");
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.name, "svc");
  EXPECT_EQ(c.version, "2.1.0");
  EXPECT_EQ(c.root_path, "/api");
  EXPECT_EQ(c.log_level, "debug") << "lower-cased";
  EXPECT_EQ(c.log_format, "json") << "lower-cased";
  EXPECT_EQ(c.workers, 4);
  EXPECT_EQ(c.threads, 6);
  EXPECT_EQ(c.io_threads, 2);
  EXPECT_DOUBLE_EQ(c.drain_delay_s, 0.5);
  EXPECT_DOUBLE_EQ(c.graceful_timeout_s, 5.0);
  EXPECT_TRUE(c.check);
  EXPECT_EQ(c.limits.max_body_size, 1024u * 1024);
  EXPECT_EQ(c.limits.max_header_size, 32u * 1024);
  EXPECT_EQ(c.limits.max_json_depth, 10u);
  EXPECT_EQ(c.limits.queue_limit, 5u);
  EXPECT_DOUBLE_EQ(c.limits.header_timeout_s, 1.5);
  EXPECT_DOUBLE_EQ(c.limits.body_timeout_s, 2.5);
  EXPECT_DOUBLE_EQ(c.limits.write_timeout_s, 3.5);
  EXPECT_DOUBLE_EQ(c.limits.keep_alive_timeout_s, 4.5);
}

TEST(ParseCommandLine, EqualsFormOfOptions) {
  auto r = parse({"--port=9001", "--host=::1", "--max-body-size=2097152", "svc.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.port, 9001);
  EXPECT_EQ(r.config.host, "::1");
  EXPECT_EQ(r.config.limits.max_body_size, 2u * 1024 * 1024);
}

TEST(ParseCommandLine, OptionsAfterThePositionalFile) {
  auto r = parse({"service.py", "--port", "1234", "--workers", "3"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.service_path, "service.py");
  EXPECT_EQ(r.config.port, 1234);
  EXPECT_EQ(r.config.workers, 3);
}

TEST(ParseCommandLine, WorkerAndThreadCountsAreBounded) {
  EXPECT_EQ(parse({"--workers", "-1", "service.py"}).exit_code, 2);
  EXPECT_EQ(parse({"--workers", "65", "service.py"}).exit_code, 2);
  EXPECT_EQ(parse({"--threads", "0", "service.py"}).exit_code, 2);
  EXPECT_EQ(parse({"--restart-backoff", "-1", "service.py"}).exit_code, 2);
  auto r = parse({"--workers", "0", "service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.workers, 0);
}

TEST(ParseCommandLine, WorkerLimits) {
  auto r = parse({"--workers", "2", "--call-timeout", "1.5", "--max-requests", "100", "--max-requests-jitter", "10",
                  "--worker-memory-limit", "512M", "service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_DOUBLE_EQ(r.config.call_timeout_s, 1.5);
  EXPECT_EQ(r.config.max_requests, 100u);
  EXPECT_EQ(r.config.max_requests_jitter, 10u);
  EXPECT_EQ(r.config.worker_memory_limit, 512u * 1024 * 1024);
  EXPECT_EQ(parse({"--worker-memory-limit", "lots", "service.py"}).exit_code, 2);
  EXPECT_EQ(parse({"--call-timeout", "-1", "service.py"}).exit_code, 2);
}

TEST(ParseCommandLine, TheWorkerChannelOptionIsNotInTheHelp) {
  auto r = parse({"--help"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--threads"), std::string::npos);
  EXPECT_EQ(r.output.find("--worker-fd"), std::string::npos);
}

TEST(ParseCommandLine, RepeatedOptionLastWins) {
  auto r = parse({"--port", "1", "--port", "2", "service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.port, 2);
}

TEST(ParseCommandLine, WarnIsAcceptedAsALogLevel) {
  auto r = parse({"--log-level", "warning", "service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.log_level, "warning");
}

// ---- environment ----

TEST(ParseCommandLine, EveryEnvironmentVariable) {
  Env env = {
      {"MVI_HOST", "10.0.0.1"},        {"MVI_PORT", "9000"},
      {"MVI_SERVICE_NAME", "envname"}, {"MVI_SERVICE_VERSION", "3.0.0"},
      {"MVI_ROOT_PATH", "/services/hello_1.0.0"},
      {"MVI_LOG_LEVEL", "error"},      {"MVI_LOG_FORMAT", "json"},
      {"MVI_WORKERS", "8"}, {"MVI_THREADS", "5"},            {"MVI_IO_THREADS", "3"},
      {"MVI_DRAIN_DELAY", "2"},        {"MVI_GRACEFUL_TIMEOUT", "12"},
      {"MVI_MAX_BODY_SIZE", "524288"}, {"MVI_MAX_HEADER_SIZE", "8192"},
      {"MVI_MAX_JSON_DEPTH", "20"},    {"MVI_QUEUE_LIMIT", "7"},
      {"MVI_HEADER_TIMEOUT", "11"},    {"MVI_BODY_TIMEOUT", "12"},
      {"MVI_WRITE_TIMEOUT", "13"},     {"MVI_KEEP_ALIVE_TIMEOUT", "14"},
  };
  auto r = parse({"service.py"}, env);
  ASSERT_FALSE(r.exit_code) << r.output;
  const Config& c = r.config;
  EXPECT_EQ(c.host, "10.0.0.1");
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.name, "envname");
  EXPECT_EQ(c.version, "3.0.0");
  EXPECT_EQ(c.root_path, "/services/hello_1.0.0");
  EXPECT_EQ(c.log_level, "error");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.workers, 8);
  EXPECT_EQ(c.threads, 5);
  EXPECT_EQ(c.io_threads, 3);
  EXPECT_DOUBLE_EQ(c.drain_delay_s, 2.0);
  EXPECT_DOUBLE_EQ(c.graceful_timeout_s, 12.0);
  EXPECT_EQ(c.limits.max_body_size, 512u * 1024);
  EXPECT_EQ(c.limits.max_header_size, 8u * 1024);
  EXPECT_EQ(c.limits.max_json_depth, 20u);
  EXPECT_EQ(c.limits.queue_limit, 7u);
  EXPECT_DOUBLE_EQ(c.limits.header_timeout_s, 11.0);
  EXPECT_DOUBLE_EQ(c.limits.body_timeout_s, 12.0);
  EXPECT_DOUBLE_EQ(c.limits.write_timeout_s, 13.0);
  EXPECT_DOUBLE_EQ(c.limits.keep_alive_timeout_s, 14.0);
}

TEST(ParseCommandLine, DaeployAliases) {
  auto r = parse({"service.py"}, {{"daeploy.name", "dname"}, {"daeploy.version", "1.0.0"}});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.name, "dname");
  EXPECT_EQ(r.config.version, "1.0.0");
  // a Daeploy manager's variables also give Daeploy's root path, unless one is set
  EXPECT_EQ(r.config.root_path, "/services/dname_1.0.0");
  auto set = parse({"service.py", "--root-path", "/x"}, {{"daeploy.name", "dname"}, {"daeploy.version", "1.0.0"}});
  EXPECT_EQ(set.config.root_path, "/x");
  EXPECT_EQ(parse({"service.py"}, {{"daeploy.name", "dname"}}).config.root_path, "");
}

TEST(ParseCommandLine, MviNamesWinOverDaeployAliases) {
  auto r = parse({"service.py"}, {{"daeploy.name", "dname"},
                                  {"daeploy.version", "1.0.0"},
                                  {"MVI_SERVICE_NAME", "mname"},
                                  {"MVI_SERVICE_VERSION", "2.0.0"}});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.name, "mname");
  EXPECT_EQ(r.config.version, "2.0.0");
}

TEST(ParseCommandLine, CommandLineWinsOverEnvironment) {
  auto r = parse({"--port", "9100", "--name", "cli", "--version=9.9.9", "service.py"},
                 {{"MVI_PORT", "9000"}, {"MVI_SERVICE_NAME", "env"}, {"daeploy.version", "1.0.0"}});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.port, 9100);
  EXPECT_EQ(r.config.name, "cli");
  EXPECT_EQ(r.config.version, "9.9.9");
}

TEST(ParseCommandLine, CommandLineWinsEvenAfterThePositional) {
  auto r = parse({"service.py", "--port=9200"}, {{"MVI_PORT", "9000"}});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.port, 9200);
}

TEST(ParseCommandLine, UnrelatedEnvironmentIsIgnored) {
  auto r = parse({"service.py"}, {{"PORT", "1"}, {"mvi_port", "2"}, {"MVI_UNKNOWN", "x"}});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.port, 8000);
}

TEST(ParseCommandLine, BadEnvironmentValueExitsTwo) {
  auto r = parse({"service.py"}, {{"MVI_PORT", "eighty"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.output, "port")) << r.output;
}

// ---- version and help ----

TEST(ParseCommandLine, VersionAlonePrintsTheRuntimeVersion) {
  auto r = parse({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, std::string("mvi-runtime ") + kVersion + "\n");
}

TEST(ParseCommandLine, VersionWithAFileStillPrintsTheRuntimeVersion) {
  auto r = parse({"--version", "service.py"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, kVersion)) << r.output;
}

TEST(ParseCommandLine, VersionWithAValueIsTheServiceVersion) {
  auto r = parse({"--version=1.2.3", "service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.version, "1.2.3");
  EXPECT_TRUE(r.output.empty());
}

TEST(ParseCommandLine, HelpExitsZeroWithUsage) {
  for (const char* flag : {"--help", "-h"}) {
    auto r = parse({flag});
    EXPECT_EQ(r.exit_code, 0) << flag;
    EXPECT_TRUE(contains(r.output, "--port")) << r.output;
    EXPECT_TRUE(contains(r.output, "MVI_PORT")) << r.output;
    EXPECT_TRUE(contains(r.output, "--max-body-size")) << r.output;
  }
}

// ---- errors ----

struct BadArgs {
  std::vector<std::string> args;
  const char* mentions;
};

class ParseCommandLineBad : public ::testing::TestWithParam<BadArgs> {};

TEST_P(ParseCommandLineBad, ExitsTwoWithAMessage) {
  auto r = parse(GetParam().args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output.rfind("mvi-runtime: ", 0), 0u) << r.output;
  EXPECT_TRUE(contains(r.output, GetParam().mentions)) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Values, ParseCommandLineBad,
    ::testing::Values(BadArgs{{"--port", "abc", "s.py"}, "port"},
                      BadArgs{{"--port", "70000", "s.py"}, "port"},
                      BadArgs{{"--port", "-1", "s.py"}, "port"},
                      BadArgs{{"--workers", "65", "s.py"}, "workers"},
                      BadArgs{{"--threads", "0", "s.py"}, "threads"},
                      BadArgs{{"--workers", "many", "s.py"}, "workers"},
                      BadArgs{{"--io-threads", "65", "s.py"}, "io-threads"},
                      BadArgs{{"--log-level", "loud", "s.py"}, "log-level"},
                      BadArgs{{"--log-format", "xml", "s.py"}, "log-format"},
                      BadArgs{{"--max-body-size", "lots", "s.py"}, "not a size"},
                      BadArgs{{"--max-header-size", "12parsecs", "s.py"}, "not a size"},
                      BadArgs{{"--max-json-depth", "0", "s.py"}, "max-json-depth"},
                      BadArgs{{"--queue-limit", "0", "s.py"}, "queue-limit"},
                      BadArgs{{"--drain-delay", "-1", "s.py"}, "drain-delay"},
                      BadArgs{{"--graceful-timeout", "soon", "s.py"}, "graceful-timeout"},
                      BadArgs{{"--no-such-option", "s.py"}, "no-such-option"},
                      BadArgs{{"a.py", "b.py"}, "b.py"},
                      BadArgs{{"--port"}, "port"},
                      BadArgs{{}, "service file is required"},
                      BadArgs{{"--port", "8080"}, "service file is required"}));

TEST(ParseCommandLine, ErrorOutputPointsToHelp) {
  auto r = parse({"--threads", "0", "s.py"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.output, "--help")) << r.output;
}

// ---- derived values ----

TEST(ParseCommandLine, NameDefaultsToTheFileStem) {
  EXPECT_EQ(parse({"/srv/app/my_service.py"}).config.name, "my_service");
  EXPECT_EQ(parse({"./hello.world.py"}).config.name, "hello.world");
  EXPECT_EQ(parse({"noext"}).config.name, "noext");
}

TEST(ParseCommandLine, ExplicitNameIsNotReplacedByTheStem) {
  EXPECT_EQ(parse({"--name", "given", "/srv/other.py"}).config.name, "given");
}

TEST(ParseCommandLine, RootPathIsNormalised) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : {Case{"x/", "/x"}, Case{"x", "/x"}, Case{"/x/", "/x"}, Case{"/x", "/x"},
                        Case{"/a/b//", "/a/b"}, Case{"/", ""}, Case{"", ""}, Case{"///", ""}}) {
    auto r = parse({"--root-path", c.in, "service.py"});
    ASSERT_FALSE(r.exit_code) << c.in << ": " << r.output;
    EXPECT_EQ(r.config.root_path, c.out) << "from '" << c.in << "'";
  }
}

TEST(ParseCommandLine, RootPathFromEnvironmentIsNormalisedToo) {
  auto r = parse({"service.py"}, {{"MVI_ROOT_PATH", "services/hello_1.0.0/"}});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.root_path, "/services/hello_1.0.0");
}

TEST(ParseCommandLine, PlainByteSizesFromTheCommandLine) {
  auto r = parse({"--max-body-size", "1048576", "--max-header-size", "1024", "service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.limits.max_body_size, 1048576u);
  EXPECT_EQ(r.config.limits.max_header_size, 1024u);
}

// Size options take units from the command line and the environment alike (CLI11 keeps a
// validator's rewrite only for transform(), not check()).
TEST(ParseCommandLine, SizeUnitsFromTheCommandLine) {
  auto r = parse({"--max-body-size", "1MiB", "--max-header-size=32k", "service.py"});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.limits.max_body_size, 1024u * 1024);
  EXPECT_EQ(r.config.limits.max_header_size, 32u * 1024);
}

TEST(ParseCommandLine, SizeUnitsFromTheEnvironment) {
  auto r = parse({"service.py"}, {{"MVI_MAX_BODY_SIZE", "512k"}, {"MVI_MAX_HEADER_SIZE", "8KiB"}});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.limits.max_body_size, 512u * 1024);
  EXPECT_EQ(r.config.limits.max_header_size, 8u * 1024);
}

// ---- parse_size ----

TEST(ParseSize, AcceptedForms) {
  EXPECT_EQ(parse_size("1048576"), 1048576u);
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("8MiB"), 8u * 1024 * 1024);
  EXPECT_EQ(parse_size("8mib"), 8u * 1024 * 1024);
  EXPECT_EQ(parse_size("8M"), 8u * 1024 * 1024);
  EXPECT_EQ(parse_size("8MB"), 8u * 1024 * 1024);
  EXPECT_EQ(parse_size("512k"), 512u * 1024);
  EXPECT_EQ(parse_size("512K"), 512u * 1024);
  EXPECT_EQ(parse_size("512KiB"), 512u * 1024);
  EXPECT_EQ(parse_size("512kb"), 512u * 1024);
  EXPECT_EQ(parse_size("2g"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("2GiB"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("100b"), 100u);
  EXPECT_EQ(parse_size(" 16 KiB "), 16u * 1024);
}

TEST(ParseSize, Garbage) {
  EXPECT_EQ(parse_size(""), std::nullopt);
  EXPECT_EQ(parse_size("   "), std::nullopt);
  EXPECT_EQ(parse_size("garbage"), std::nullopt);
  EXPECT_EQ(parse_size("MiB"), std::nullopt);
  EXPECT_EQ(parse_size("12x"), std::nullopt);
  EXPECT_EQ(parse_size("12 parsecs"), std::nullopt);
  EXPECT_EQ(parse_size("-1"), std::nullopt);
  EXPECT_EQ(parse_size("+1"), std::nullopt);
  EXPECT_EQ(parse_size("1.5M"), std::nullopt);
  EXPECT_EQ(parse_size("1e6"), std::nullopt);
  EXPECT_EQ(parse_size("8TiB"), std::nullopt);
  EXPECT_EQ(parse_size("1234567890123456"), std::nullopt) << "16 digits";
}

TEST(ParseSize, LargestPlainNumber) {
  EXPECT_EQ(parse_size("999999999999999"), 999999999999999ull) << "15 digits";
}

// A size whose unit multiplication would wrap size_t is rejected, not turned into a tiny limit.
TEST(ParseSize, OverflowingUnitIsRejected) {
  EXPECT_EQ(parse_size("999999999999999g"), std::nullopt);
  EXPECT_EQ(parse_size("17179869184g"), std::nullopt) << "2^34 GiB = 2^64 bytes wraps to 0";
}

}  // namespace
}  // namespace mvi::config

namespace mvi::config {
namespace {

TEST(ParseCommandLine, APortOutsideTheRangeSaysTheRange) {
  auto r = parse({"service.py", "--port", "99999"}, {});
  ASSERT_TRUE(r.exit_code);
  EXPECT_EQ(*r.exit_code, 2);
  EXPECT_NE(r.output.find("--port"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not in range 0 to 65535"), std::string::npos) << r.output;
  EXPECT_EQ(parse({"service.py", "--port", "65535"}, {}).config.port, 65535);
}

TEST(ParseCommandLine, AFolderMeansItsServicePy) {
  const auto folder = std::filesystem::temp_directory_path();
  auto r = parse({folder.string()}, {});
  ASSERT_FALSE(r.exit_code) << r.output;
  EXPECT_EQ(r.config.service_path, (folder / "service.py").string());
  EXPECT_EQ(r.config.name, "service");
}

}  // namespace
}  // namespace mvi::config
