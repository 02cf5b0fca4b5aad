// The interactive docs page and the Swagger UI assets it loads, read from disk once at start-up
// (npm's swagger-ui-dist, installed by scripts/setup.sh; no network at run time). Immutable after
// loading, so served from any I/O thread without locks.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace mvi::api {

struct StaticFile {
  std::string content_type;
  std::string body;
};

using StaticFiles = std::map<std::string, StaticFile, std::less<>>;

// MVI_SWAGGER_UI_DIR, then <prefix>/share/mvi-runtime/swagger-ui beside an installed binary, then
// the source tree's node_modules/swagger-ui-dist. nullopt when none has swagger-ui-bundle.js.
std::optional<std::string> find_swagger_ui_dir(const std::string& executable_path);

// The few files the docs page needs; empty if the folder lacks them.
StaticFiles load_swagger_ui(const std::string& dir);

// The /docs HTML page. URLs are relative, so it works with and without the root-path prefix.
std::string docs_page(const std::string& title);

}  // namespace mvi::api
