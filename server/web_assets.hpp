// The browser portal's files (web/, issue 13 item 1): GET /portal/<path>
// answered from one configured directory (`[server] web_dir`), never from
// outside it. Built by `npm ci --prefix web` at set-up; nothing is fetched at
// run time.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/config.hpp"
#include "server/http.hpp"
#include "server/worker_pool.hpp"

namespace vo::server {

/// The URL prefix of the portal's files ("/portal").
inline constexpr std::string_view kPortalPrefix = "/portal";

/// The file that the portal path `rel` (the request path after "/portal/",
/// still percent-encoded, without query) names inside `root`, or nullopt when
/// there is none that may be served: a segment "." or "..", an empty segment
/// (other than a trailing "/", which names the directory's index.html), a NUL,
/// a backslash, a segment starting with "." (hidden files, .bin), a path that
/// does not exist or is not a regular file, or one whose canonical path (all
/// symbolic links followed) lies outside the canonical `root`. `root` that
/// does not exist gives nullopt. Touches the file system (canonical paths);
/// never throws.
std::optional<std::filesystem::path> resolve_web_asset(const std::filesystem::path& root, std::string_view rel);

/// The Content-Type of a portal file by its extension (lower-cased):
/// .html, .js/.mjs, .css, .json, .map, .svg, .png, .jpg/.jpeg, .gif, .ico,
/// .txt, .md, .woff, .woff2, .wasm; anything else application/octet-stream.
/// Text types carry charset=UTF-8.
std::string web_content_type(const std::filesystem::path& file);

/// The page's settings, /portal/config.json: {"name_resolver": URL or null}.
std::string portal_config_json(const ServerConfig& server);

/// Answers a request for `req.path` under kPortalPrefix from
/// `server.web_dir`: "/portal" is redirected (301) to "/portal/";
/// "/portal/config.json" is portal_config_json; GET and HEAD only (405 with
/// Allow otherwise); the file is resolved by resolve_web_asset and sent by
/// send_file (ETag, Last-Modified, ranges, `Cache-Control: no-cache`) on a
/// `pool` worker (file reads never block an I/O thread). An unknown or
/// refused path is a 404 DALI error naming the request path, as is every
/// path when `web_dir` is empty (no portal configured); 503 when the pool's
/// queue is full.
void serve_web_asset(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                     const ServerConfig& server, WorkerPool& pool);

}  // namespace vo::server
