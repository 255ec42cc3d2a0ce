// The portal's static files (server/web_assets.hpp, issue 13 item 1): only
// regular files inside the configured directory are served; traversal by
// "..", encoded "..", backslashes, hidden names and symbolic links that
// leave the directory are refused with a 404 DALI error.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "server/http.hpp"
#include "server/web_assets.hpp"
#include "server/worker_pool.hpp"

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using vo::server::HttpOptions;
using vo::server::HttpServer;
using vo::server::resolve_web_asset;
using vo::server::web_content_type;

namespace {

struct WebTree {
    fs::path top, root;
    WebTree() {
        top = fs::temp_directory_path() / ("web_assets_test_" + std::to_string(std::random_device{}()));
        root = top / "web";
        fs::create_directories(root / "js");
        fs::create_directories(root / ".hidden");
        write(root / "index.html", "<!DOCTYPE html><title>portal</title>");
        write(root / "js" / "app.js", "export const x = 1;\n");
        write(root / "style.css", "body{}");
        write(root / ".hidden" / "key.txt", "hidden");
        write(top / "secret.txt", "outside the portal");
        fs::create_directories(top / "web-other");
        write(top / "web-other" / "x.js", "a sibling whose name starts like the root");
        fs::create_symlink(top / "secret.txt", root / "escape.txt");     // leaves the root: refused
        fs::create_symlink(root / "js" / "app.js", root / "inside.js");  // stays inside: served
        fs::create_directory_symlink(top, root / "up");                  // a directory link out
    }
    ~WebTree() {
        std::error_code ec;
        fs::remove_all(top, ec);
    }
    static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
};

http::response<http::string_body> get(unsigned short port, const std::string& target,
                                      http::verb verb = http::verb::get) {
    boost::asio::io_context io;
    boost::beast::tcp_stream s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    http::write(s, req);
    boost::beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);
    http::read(s, buf, parser);
    return parser.release();
}

}  // namespace

TEST_CASE("web assets: files inside the root are found, directories give index.html", "[web]") {
    WebTree t;
    const fs::path croot = fs::canonical(t.root);
    CHECK(resolve_web_asset(t.root, "") == croot / "index.html");
    CHECK(resolve_web_asset(t.root, "index.html") == croot / "index.html");
    CHECK(resolve_web_asset(t.root, "js/app.js") == croot / "js" / "app.js");
    CHECK(resolve_web_asset(t.root, "js%2Fapp.js") == croot / "js" / "app.js");     // decoded, then split
    CHECK(resolve_web_asset(t.root, "inside.js") == croot / "js" / "app.js");       // a link inside the root
    CHECK(resolve_web_asset(t.root, "up/web/index.html") == croot / "index.html");  // out and back in: inside
    CHECK_FALSE(resolve_web_asset(t.root, "js/"));                                  // no index.html there
    CHECK_FALSE(resolve_web_asset(t.root, "js"));                                   // a directory
    CHECK_FALSE(resolve_web_asset(t.root, "missing.js"));
    CHECK_FALSE(resolve_web_asset("", "index.html"));
    CHECK_FALSE(resolve_web_asset(t.top / "nowhere", "index.html"));
}

TEST_CASE("web assets: path traversal and symbolic-link escapes are refused", "[web]") {
    WebTree t;
    for (const char* rel : {"../secret.txt", "js/../../secret.txt", "%2e%2e/secret.txt", "%2E%2E%2Fsecret.txt",
                            "js/%2e%2e/%2e%2e/secret.txt", "..%5csecret.txt", "js\\..\\..\\secret.txt", "./index.html",
                            "js//app.js", "/etc/passwd", "%2fetc%2fpasswd", "escape.txt", "up/secret.txt",
                            ".hidden/key.txt", "index.html%00.js", "../web-other/x.js", "%2e%2e/web-other/x.js"}) {
        INFO(rel);
        CHECK_FALSE(resolve_web_asset(t.root, rel));
    }
}

TEST_CASE("web assets: Content-Types by extension", "[web]") {
    CHECK(web_content_type("a/index.html") == "text/html;charset=UTF-8");
    CHECK(web_content_type("app.JS") == "text/javascript;charset=UTF-8");
    CHECK(web_content_type("m.mjs") == "text/javascript;charset=UTF-8");
    CHECK(web_content_type("s.css") == "text/css;charset=UTF-8");
    CHECK(web_content_type("p.json") == "application/json;charset=UTF-8");
    CHECK(web_content_type("i.svg") == "image/svg+xml;charset=UTF-8");
    CHECK(web_content_type("i.png") == "image/png");
    CHECK(web_content_type("LICENSE") == "application/octet-stream");
}

TEST_CASE("web assets over HTTP: served with types, traversal a 404 DALI error, /portal redirected, config.json",
          "[web]") {
    WebTree t;
    vo::server::WorkerPool pool(1, 16);
    HttpOptions o;
    o.port = 0;
    vo::server::ServerConfig server;
    server.web_dir = t.root.string();
    server.name_resolver = "http://resolver.test/sesame?";
    HttpServer srv(
        o, [&](std::shared_ptr<const vo::server::Request> req, std::shared_ptr<vo::server::ResponseChannel> channel) {
            vo::server::serve_web_asset(req, channel, server, pool);
        });
    const unsigned short port = srv.start();

    auto r = get(port, "/portal/");
    CHECK(r.result_int() == 200);
    CHECK(r[http::field::content_type] == "text/html;charset=UTF-8");
    CHECK(r.body() == "<!DOCTYPE html><title>portal</title>");
    r = get(port, "/portal/js/app.js");
    CHECK(r.result_int() == 200);
    CHECK(r[http::field::content_type] == "text/javascript;charset=UTF-8");
    CHECK_FALSE(r[http::field::etag].empty());
    {  // a revisit: the ETag sent back gets 304 without a body
        const std::string etag(r[http::field::etag]);
        boost::asio::io_context io;
        boost::beast::tcp_stream s(io);
        s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        http::request<http::string_body> req{http::verb::get, "/portal/js/app.js", 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::if_none_match, "\"other\", W/" + etag);
        http::write(s, req);
        boost::beast::flat_buffer buf;
        http::response<http::string_body> res;
        http::read(s, buf, res);
        CHECK(res.result_int() == 304);
        CHECK(res.body().empty());
        CHECK(res[http::field::etag] == etag);
    }
    r = get(port, "/portal/config.json");
    CHECK(r.result_int() == 200);
    CHECK(r.body() == "{\"name_resolver\":\"http://resolver.test/sesame?\"}\n");
    r = get(port, "/portal");
    CHECK(r.result_int() == 301);
    CHECK(r[http::field::location] == "/portal/");
    for (const char* target : {"/portal/../secret.txt", "/portal/%2e%2e/secret.txt", "/portal/escape.txt",
                               "/portal/up/secret.txt", "/portal/js/..%2f..%2fsecret.txt", "/portal/nothing.js"}) {
        INFO(target);
        r = get(port, target);
        CHECK(r.result_int() == 404);
        CHECK(r.body().find("QUERY_STATUS") != std::string::npos);
        CHECK(r.body().find("outside the portal") == std::string::npos);
    }
    r = get(port, "/portal/index.html", http::verb::post);
    CHECK(r.result_int() == 405);
    CHECK(r[http::field::allow] == "GET, HEAD");
    srv.stop();
}

TEST_CASE("web assets: [server] web_dir and name_resolver in the configuration", "[web][config]") {
    using vo::server::parse_config;
    // default: the repository's web/ beside the configuration file's folder (conf/../web)
    CHECK(parse_config("", "/srv/voserver/conf/voserver.toml").server.web_dir == "/srv/voserver/web");
    CHECK(parse_config("[server]\nweb_dir = \"portal\"\n", "/srv/voserver/conf/voserver.toml").server.web_dir ==
          "/srv/voserver/conf/portal");
    CHECK(parse_config("[server]\nweb_dir = \"\"\n", "/srv/voserver/conf/voserver.toml").server.web_dir.empty());
    CHECK(parse_config("", "/srv/voserver/conf/voserver.toml").server.name_resolver.empty());
    CHECK(parse_config("[server]\nname_resolver = \"https://cds.example/sesame/-oI/A?\"\n", "/x/voserver.toml")
              .server.name_resolver == "https://cds.example/sesame/-oI/A?");
    CHECK_THROWS_WITH(parse_config("[server]\nname_resolver = \"ftp://x\"\n", "/x/voserver.toml"),
                      Catch::Contains("name_resolver") && Catch::Contains("http"));
    vo::server::ServerConfig none;
    CHECK(vo::server::portal_config_json(none) == "{\"name_resolver\":null}\n");
}
