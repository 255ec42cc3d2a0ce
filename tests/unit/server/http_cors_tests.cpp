// CORS (Fetch standard, "CORS protocol"; issue 8 item 4): browser pages on
// other sites can read voserver's public, read-only results. Checked over a
// real socket against the App's own resources.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "server/http.hpp"

namespace http = boost::beast::http;
using vo::server::HttpOptions;
using vo::server::HttpServer;
using vo::server::Reply;

namespace {

/// One request/response over a fresh connection.
http::response<http::string_body> exchange(unsigned short port, http::request<http::string_body> req) {
    boost::asio::io_context io;
    boost::beast::tcp_stream s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    http::write(s, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
}

struct Server {
    std::unique_ptr<HttpServer> http;
    unsigned short port = 0;
    int calls = 0;
    explicit Server(std::vector<std::string> origins) {
        HttpOptions o;
        o.port = 0;
        o.cors_origins = std::move(origins);
        http = std::make_unique<HttpServer>(o, [this](auto, auto channel) {
            ++calls;
            Reply r;
            r.content_type = "text/plain";
            r.body = "ok";
            channel->reply(std::move(r));
        });
        port = http->start();
    }
    ~Server() { http->stop(); }
};

}  // namespace

TEST_CASE("CORS: any origin may read by default; preflight answered without the handler", "[http][cors]") {
    Server srv({"*"});
    http::request<http::string_body> get{http::verb::get, "/tap/sync?QUERY=x", 11};
    get.set(http::field::origin, "https://portal.example.org");
    auto r = exchange(srv.port, get);
    CHECK(r.result_int() == 200);
    CHECK(r[http::field::access_control_allow_origin] == "*");
    CHECK(std::string(r[http::field::access_control_expose_headers]).find("Content-Range") != std::string::npos);

    http::request<http::string_body> pre{http::verb::options, "/tap/async", 11};
    pre.set(http::field::origin, "https://portal.example.org");
    pre.set(http::field::access_control_request_method, "POST");
    pre.set(http::field::access_control_request_headers, "content-type, authorization");
    auto p = exchange(srv.port, pre);
    CHECK(p.result_int() == 204);
    CHECK(p[http::field::access_control_allow_origin] == "*");
    CHECK(std::string(p[http::field::access_control_allow_methods]).find("POST") != std::string::npos);
    CHECK(p[http::field::access_control_allow_headers] == "content-type, authorization");
    CHECK(srv.calls == 1);  // the preflight did not reach the handler

    // no Origin: no CORS headers
    http::request<http::string_body> plain{http::verb::get, "/", 11};
    CHECK(exchange(srv.port, plain)[http::field::access_control_allow_origin].empty());
}

TEST_CASE("CORS: a configured list of origins is echoed only for its members", "[http][cors]") {
    Server srv({"https://portal.example.org"});
    http::request<http::string_body> get{http::verb::get, "/", 11};
    get.set(http::field::origin, "https://portal.example.org");
    auto r = exchange(srv.port, get);
    CHECK(r[http::field::access_control_allow_origin] == "https://portal.example.org");
    CHECK(std::string(r[http::field::vary]).find("Origin") != std::string::npos);
    get.set(http::field::origin, "https://elsewhere.example.com");
    CHECK(exchange(srv.port, get)[http::field::access_control_allow_origin].empty());

    Server none({});  // CORS off
    get.set(http::field::origin, "https://portal.example.org");
    CHECK(exchange(none.port, get)[http::field::access_control_allow_origin].empty());
}
