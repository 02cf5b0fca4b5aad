// Loading Swagger UI's files and rendering the docs page. Called once at start-up.
#include "mvi/api/static_files.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef MVI_SOURCE_DIR
#error "MVI_SOURCE_DIR must name the source tree"
#endif

namespace mvi::api {

namespace fs = std::filesystem;

std::optional<std::string> find_swagger_ui_dir(const std::string& executable_path) {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("MVI_SWAGGER_UI_DIR")) candidates.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::weakly_canonical(fs::path(executable_path), ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "mvi-runtime" / "swagger-ui");
  candidates.push_back(fs::path(MVI_SOURCE_DIR) / "node_modules" / "swagger-ui-dist");
  for (const auto& c : candidates)
    if (fs::exists(c / "swagger-ui-bundle.js", ec)) return c.string();
  return std::nullopt;
}

StaticFiles load_swagger_ui(const std::string& dir) {
  static const std::pair<const char*, const char*> kFiles[] = {
      {"swagger-ui-bundle.js", "application/javascript; charset=utf-8"},
      {"swagger-ui.css", "text/css; charset=utf-8"},
      {"favicon-32x32.png", "image/png"},
      {"favicon-16x16.png", "image/png"},
  };
  StaticFiles files;
  for (const auto& [name, type] : kFiles) {
    std::ifstream in(fs::path(dir) / name, std::ios::binary);
    if (!in) continue;
    std::ostringstream body;
    body << in.rdbuf();
    files[name] = {type, body.str()};
  }
  if (!files.count("swagger-ui-bundle.js") || !files.count("swagger-ui.css")) files.clear();
  return files;
}

std::string docs_page(const std::string& title) {
  std::string safe;
  for (char c : title) {
    switch (c) {
      case '<': safe += "&lt;"; break;
      case '>': safe += "&gt;"; break;
      case '&': safe += "&amp;"; break;
      case '"': safe += "&quot;"; break;
      default: safe += c;
    }
  }
  return R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)" + safe + R"( - API docs</title>
<link rel="stylesheet" href="static/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="static/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="static/swagger-ui/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  tryItOutEnabled: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
</script>
</body>
</html>
)";
}

}  // namespace mvi::api
