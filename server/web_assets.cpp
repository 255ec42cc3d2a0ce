// The portal's static files (server/web_assets.hpp).
#include "server/web_assets.hpp"

#include <system_error>

#include <boost/json.hpp>

#include "server/file_response.hpp"
#include "server/params.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace fs = std::filesystem;

namespace {

Reply not_found(const std::string& path) {
    Reply r;
    r.status = 404;
    r.content_type = "application/x-votable+xml";
    r.body = votable::error_document("no resource " + path + " on this server (the portal's files are under " +
                                     std::string(kPortalPrefix) + "/)");
    return r;
}

/// True when `inner` (canonical) is `root` (canonical) or lies below it.
bool within(const fs::path& root, const fs::path& inner) {
    auto r = root.begin();
    auto i = inner.begin();
    for (; r != root.end(); ++r, ++i) {
        if (r->empty()) continue;  // a trailing separator of root
        if (i == inner.end() || *r != *i) return false;
    }
    return true;
}

}  // namespace

std::optional<fs::path> resolve_web_asset(const fs::path& root, std::string_view rel) {
    if (root.empty()) return std::nullopt;
    std::string decoded = percent_decode_path(rel);
    if (decoded.empty() || decoded.back() == '/') decoded += "index.html";
    fs::path relative;
    std::size_t start = 0;
    while (start <= decoded.size()) {
        const std::size_t end = std::min(decoded.find('/', start), decoded.size());
        const std::string_view seg(decoded.data() + start, end - start);
        if (seg.empty() || seg.front() == '.' || seg.find('\0') != std::string_view::npos ||
            seg.find('\\') != std::string_view::npos)
            return std::nullopt;
        relative /= fs::path(std::string(seg));
        start = end + 1;
    }
    std::error_code ec;
    const fs::path canonical_root = fs::canonical(root, ec);
    if (ec) return std::nullopt;
    const fs::path file = fs::canonical(canonical_root / relative, ec);
    if (ec || !within(canonical_root, file)) return std::nullopt;
    if (!fs::is_regular_file(file, ec) || ec) return std::nullopt;
    return file;
}

std::string web_content_type(const fs::path& file) {
    std::string ext = file.extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".html" || ext == ".htm") return "text/html;charset=UTF-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript;charset=UTF-8";
    if (ext == ".css") return "text/css;charset=UTF-8";
    if (ext == ".json" || ext == ".map") return "application/json;charset=UTF-8";
    if (ext == ".svg") return "image/svg+xml;charset=UTF-8";
    if (ext == ".png") return "image/png";
    if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
    if (ext == ".gif") return "image/gif";
    if (ext == ".ico") return "image/vnd.microsoft.icon";
    if (ext == ".txt" || ext == ".md") return "text/plain;charset=UTF-8";
    if (ext == ".woff") return "font/woff";
    if (ext == ".woff2") return "font/woff2";
    if (ext == ".wasm") return "application/wasm";
    return "application/octet-stream";
}

std::string portal_config_json(const ServerConfig& server) {
    boost::json::object o;
    if (server.name_resolver.empty())
        o["name_resolver"] = nullptr;
    else
        o["name_resolver"] = server.name_resolver;
    return boost::json::serialize(o) + "\n";
}

void serve_web_asset(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                     const ServerConfig& server, WorkerPool& pool) {
    const std::string& p = req->path;
    const std::string& root = server.web_dir;
    if (p == kPortalPrefix) {
        Reply r;
        r.status = 301;
        r.content_type = "text/plain;charset=UTF-8";
        r.body = "the portal is at " + std::string(kPortalPrefix) + "/\n";
        r.headers.emplace_back("Location", std::string(kPortalPrefix) + "/");
        return channel->reply(std::move(r));
    }
    if (req->method != "GET") {
        Reply r;
        r.status = 405;
        r.content_type = "application/x-votable+xml";
        r.body = votable::error_document("method " + req->method + " not allowed on " + p + " (use GET or HEAD)");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return channel->reply(std::move(r));
    }
    if (p == std::string(kPortalPrefix) + "/config.json" && !root.empty()) {
        Reply r;
        r.content_type = "application/json;charset=UTF-8";
        r.body = portal_config_json(server);
        r.headers.emplace_back("Cache-Control", "no-cache");
        return channel->reply(std::move(r));
    }
    const bool submitted = pool.try_submit([req, channel, root](std::size_t) {
        const auto file = resolve_web_asset(root, std::string_view(req->path).substr(kPortalPrefix.size() + 1));
        if (!file) return channel->reply(not_found(req->path));
        FileResponse f;
        f.path = file->string();
        f.content_type = web_content_type(*file);
        f.range = req->header("Range");
        f.if_range = req->header("If-Range");
        f.if_none_match = req->header("If-None-Match");  // a revisit costs a 304 per file
        f.validators = true;
        f.headers.emplace_back("Cache-Control", "no-cache");
        f.headers.emplace_back("X-Content-Type-Options", "nosniff");
        send_file(f, *channel, "a portal file");
    });
    if (!submitted) {
        Reply r;
        r.status = 503;
        r.content_type = "application/x-votable+xml";
        r.body = votable::error_document("TransientFault: too many requests waiting; try again shortly");
        channel->reply(std::move(r));
    }
}

}  // namespace vo::server
