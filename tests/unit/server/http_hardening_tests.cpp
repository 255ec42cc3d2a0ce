// Issue 7, HTTP layer: what a client can send must not crash, stall or starve
// the server. Each test drives an in-process HttpServer over a real socket
// and asserts what the client sees.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "server/http.hpp"
#include "tests/unit/temp_dir.hpp"
#include "votable/writer.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace vo;
using namespace std::chrono_literals;

namespace {

/// One worker thread running tasks in order: a query pool of size one, so a
/// task that never returns starves every later request.
class OneWorker {
public:
    OneWorker() : thread_([this] { run(); }) {}
    ~OneWorker() {
        {
            std::lock_guard lk(m_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    void submit(std::function<void()> f) {
        {
            std::lock_guard lk(m_);
            tasks_.push_back(std::move(f));
        }
        cv_.notify_all();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> f;
            {
                std::unique_lock lk(m_);
                cv_.wait(lk, [&] { return done_ || !tasks_.empty(); });
                if (tasks_.empty()) return;
                f = std::move(tasks_.front());
                tasks_.pop_front();
            }
            f();
        }
    }
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> tasks_;
    bool done_ = false;
    std::thread thread_;
};

/// The byte at `i` of the test bodies (not periodic over small lengths).
char pattern(std::uint64_t i) { return static_cast<char>((i * 2654435761u) >> 13); }

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

std::uint64_t pattern_hash(std::uint64_t n) {
    std::string s;
    s.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) s += pattern(i);
    return fnv1a(s);
}

/// Handler of the test server:
///   /echo        whole reply, body = request body (text/plain)
///   /small       whole reply "small\n"
///   /stream?N    streamed chunked body of N pattern bytes, written on the worker
///   /fixed?N     streamed body of N pattern bytes with Content-Length
///   /file?N      N pattern bytes with Content-Length, all from a file region
///                (ResponseChannel::write_file)
///   /fileparts?N N pattern bytes with Content-Length: 1,000 written, the
///                middle as a file region, the last 1,000 written
///   /filechunked?N  N pattern bytes chunked, as a file region (no length:
///                the channel reads and writes it)
///   /inline?N    streamed chunked body of N pattern bytes in 1,000-byte
///                writes, all made by the handler on the I/O thread: the
///                whole response is queued before the session sends any of it
struct TestApp {
    OneWorker worker;
    std::atomic<int> writes_returned{0};  ///< streamed handlers whose write loop ended
    std::atomic<int> sink_closed{0};      ///< ... by votable::SinkClosed
    std::atomic<int> head_seen{0};
    testing::TempDir dir{"http_file"};

    /// A file of the first `n` pattern bytes, open for reading (one per n).
    std::shared_ptr<const server::OpenFile> pattern_file(std::uint64_t n) {
        const auto path = dir.path / std::to_string(n);
        if (!std::filesystem::exists(path)) {
            std::string s;
            s.reserve(static_cast<std::size_t>(n));
            for (std::uint64_t i = 0; i < n; ++i) s += pattern(i);
            std::ofstream(path, std::ios::binary).write(s.data(), static_cast<std::streamsize>(s.size()));
        }
        return std::make_shared<const server::OpenFile>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    }

    server::Handler handler() {
        return [this](std::shared_ptr<const server::Request> req, std::shared_ptr<server::ResponseChannel> ch) {
            if (req->head) ++head_seen;
            if (req->path == "/echo") {
                server::Reply r;
                r.content_type = "text/plain";
                r.body = req->method + ":" + req->body;
                return ch->reply(std::move(r));
            }
            const auto q = req->target.find('?');
            const std::uint64_t n = q == std::string::npos ? 0 : std::stoull(req->target.substr(q + 1));
            if (req->path == "/inline") {
                ch->start(200, "application/octet-stream", {{"X-Test", "inline"}});
                std::string piece;
                for (std::uint64_t off = 0; off < n; off += piece.size()) {
                    piece.clear();
                    for (std::uint64_t i = off; i < std::min<std::uint64_t>(n, off + 1000); ++i) piece += pattern(i);
                    ch->write(piece);
                }
                ch->finish();
                return;
            }
            if (req->path == "/stream" || req->path == "/fixed") {
                const bool fixed = req->path == "/fixed";
                worker.submit([this, ch, n, fixed] {
                    try {
                        ch->start(200, "application/octet-stream", {},
                                  fixed ? std::optional<std::uint64_t>(n) : std::nullopt);
                        std::string piece;
                        for (std::uint64_t off = 0; off < n;) {
                            const std::uint64_t len = std::min<std::uint64_t>(64 * 1024, n - off);
                            piece.clear();
                            for (std::uint64_t i = 0; i < len; ++i) piece += pattern(off + i);
                            ch->write(piece);
                            off += len;
                        }
                        ch->finish();
                    } catch (const votable::SinkClosed&) {
                        ++sink_closed;
                    }
                    ++writes_returned;
                });
                return;
            }
            if (req->path == "/file" || req->path == "/fileparts" || req->path == "/filechunked") {
                const std::string kind = req->path;
                worker.submit([this, ch, n, kind] {
                    try {
                        auto file = pattern_file(n);
                        const bool chunked = kind == "/filechunked";
                        ch->start(200, "application/octet-stream", {},
                                  chunked ? std::nullopt : std::optional<std::uint64_t>(n));
                        if (kind == "/fileparts") {
                            std::string head, tail;
                            for (std::uint64_t i = 0; i < 1000; ++i) head += pattern(i);
                            for (std::uint64_t i = n - 1000; i < n; ++i) tail += pattern(i);
                            ch->write(head);
                            ch->write_file(file, 1000, n - 2000);
                            ch->write(tail);
                        } else {
                            ch->write_file(file, 0, n);
                        }
                        ch->finish();
                    } catch (const votable::SinkClosed&) {
                        ++sink_closed;
                    }
                    ++writes_returned;
                });
                return;
            }
            // Everything else (/small) runs on the worker too, so a stuck
            // streamed response would starve it.
            worker.submit([ch] {
                server::Reply r;
                r.content_type = "text/plain";
                r.body = "small\n";
                ch->reply(std::move(r));
            });
        };
    }
};

struct TestServer {
    explicit TestServer(server::HttpOptions o = {}) {
        spdlog::set_level(spdlog::level::warn);
        o.port = 0;
        server = std::make_unique<server::HttpServer>(o, app.handler());
        port = server->start();
    }
    ~TestServer() { server->stop(); }
    // Declared before `app`: the worker is joined (after stop()) while the
    // server still exists, so a channel it holds never outlives the server.
    std::unique_ptr<server::HttpServer> server;
    TestApp app;
    unsigned short port = 0;
};

/// A raw connection: bytes out, responses parsed (or raw bytes) in, every
/// read bounded by a timeout so a server that stalls fails the test.
class Conn {
public:
    explicit Conn(unsigned short port, int rcvbuf = 0) : stream_(ioc_) {
        if (rcvbuf > 0) {
            stream_.socket().open(tcp::v4());
            stream_.socket().set_option(net::socket_base::receive_buffer_size(rcvbuf));
        }
        stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }
    void send(const std::string& bytes) { net::write(stream_.socket(), net::buffer(bytes)); }

    /// Reads one response; `head`: the response to a HEAD request (no body).
    /// Returns nullopt on timeout or a malformed response.
    std::optional<http::response<http::string_body>> read(bool head = false, std::chrono::seconds timeout = 10s) {
        http::response_parser<http::string_body> p;
        p.body_limit(std::uint64_t{1} << 32);
        p.skip(head);
        stream_.expires_after(timeout);
        beast::error_code ec;
        http::read(stream_, buffer_, p, ec);
        if (ec) {
            last_error = ec;
            return std::nullopt;
        }
        return p.release();
    }
    /// Everything until the server closes (or `timeout`); `closed` tells which.
    std::string read_to_eof(bool& closed, std::chrono::seconds timeout = 10s) {
        std::string out(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        buffer_.consume(buffer_.size());
        char tmp[4096];
        stream_.expires_after(timeout);
        closed = false;
        for (;;) {
            beast::error_code ec;
            const std::size_t n = stream_.read_some(net::buffer(tmp), ec);
            out.append(tmp, n);
            if (ec) {
                closed = ec == net::error::eof || ec == net::error::connection_reset;
                return out;
            }
        }
    }
    tcp::socket& socket() { return stream_.socket(); }
    beast::error_code last_error;

private:
    net::io_context ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};

/// Sends `bytes` on a new connection; returns what came back until the server closed.
std::string exchange_until_close(unsigned short port, const std::string& bytes, bool& closed) {
    Conn c(port);
    c.send(bytes);
    return c.read_to_eof(closed, 5s);
}

/// The resident set size of this process.
std::uint64_t resident_bytes() {
    std::ifstream in("/proc/self/statm");
    std::uint64_t pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

/// Reads a response on `c` whose body must be the first `n` pattern bytes
/// (FNV-1a `expected`), then checks that the connection still answers a
/// request; returns whether the body was chunked.
bool read_pattern_then_reuse(Conn& c, std::uint64_t n, std::uint64_t expected) {
    auto big = c.read(false, 60s);
    REQUIRE(big);
    CHECK(big->body().size() == n);
    CHECK(fnv1a(big->body()) == expected);
    c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    auto again = c.read();
    REQUIRE(again);
    CHECK(again->body() == "GET:");
    return big->chunked();
}

}  // namespace

TEST_CASE("HEAD answers the headers of GET and no body, pipelined with a GET", "[http][head]") {
    TestServer srv;
    SECTION("whole reply") {
        Conn c(srv.port);
        c.send("HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
        auto head = c.read(true);
        REQUIRE(head);
        CHECK(head->result_int() == 200);
        CHECK((*head)[http::field::content_type] == "text/plain");
        CHECK((*head)[http::field::content_length] == "4");  // "GET:" as the GET would send
        auto get = c.read();
        REQUIRE(get);
        CHECK(get->result_int() == 200);
        CHECK(get->body() == "GET:");
        CHECK(srv.app.head_seen == 1);
    }
    SECTION("streamed, chunked: headers only, the producer is stopped") {
        Conn c(srv.port);
        c.send("HEAD /stream?50000000 HTTP/1.1\r\nHost: x\r\n\r\nGET /stream?1000 HTTP/1.1\r\nHost: x\r\n\r\n");
        auto head = c.read(true);
        REQUIRE(head);
        CHECK(head->result_int() == 200);
        CHECK((*head)[http::field::content_type] == "application/octet-stream");
        CHECK(head->chunked());
        auto get = c.read();
        REQUIRE(get);
        CHECK(get->result_int() == 200);
        CHECK(get->body().size() == 1000);
        CHECK(fnv1a(get->body()) == pattern_hash(1000));
        CHECK(srv.app.sink_closed == 1);  // the HEAD producer was told to stop
    }
    SECTION("streamed with Content-Length") {
        Conn c(srv.port);
        c.send("HEAD /fixed?3000000 HTTP/1.1\r\nHost: x\r\n\r\nGET /fixed?10 HTTP/1.1\r\nHost: x\r\n\r\n");
        auto head = c.read(true);
        REQUIRE(head);
        CHECK(head->result_int() == 200);
        CHECK((*head)[http::field::content_length] == "3000000");
        auto get = c.read();
        REQUIRE(get);
        CHECK(get->body().size() == 10);
        CHECK(fnv1a(get->body()) == pattern_hash(10));
    }
}

TEST_CASE("a streamed response queued whole goes out in one write, chunked, with every byte", "[http][stream]") {
    // Issue 14: header, body and last chunk of a small result are written
    // together; the framing (chunked, headers) and the bytes are those of the
    // chunk-by-chunk path, keep-alive and HEAD work as before.
    TestServer ts;
    Conn c(ts.port);
    for (const std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{999}, std::uint64_t{123457}}) {
        INFO("n = " << n);
        c.send("GET /inline?" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        auto r = c.read();
        REQUIRE(r);
        CHECK(r->result_int() == 200);
        CHECK(r->chunked());
        CHECK(r->keep_alive());
        CHECK((*r)[http::field::content_type] == "application/octet-stream");
        CHECK((*r)["X-Test"] == "inline");
        CHECK(r->body().size() == n);
        CHECK(fnv1a(r->body()) == pattern_hash(n));
    }
    c.send("HEAD /inline?5000 HTTP/1.1\r\nHost: x\r\n\r\nGET /inline?10 HTTP/1.1\r\nHost: x\r\n\r\n");
    auto head = c.read(true);
    REQUIRE(head);
    CHECK(head->chunked());
    CHECK(head->body().empty());
    auto get = c.read();
    REQUIRE(get);
    CHECK(fnv1a(get->body()) == pattern_hash(10));
    // the wire format of a small one: status line, fields, one chunk, the last chunk
    Conn raw(ts.port);
    raw.send("GET /inline?3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool closed = false;
    const std::string bytes = raw.read_to_eof(closed);
    CHECK(closed);
    CHECK(bytes.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    const std::string body = {pattern(0), pattern(1), pattern(2)};
    CHECK(bytes.size() > 5);
    CHECK(bytes.substr(bytes.find("\r\n\r\n") + 4) == "3\r\n" + body + "\r\n0\r\n\r\n");
    // an empty body: the last chunk alone, once
    Conn empty(ts.port);
    empty.send("GET /inline?0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string none = empty.read_to_eof(closed);
    CHECK(none.substr(none.find("\r\n\r\n") + 4) == "0\r\n\r\n");
}

TEST_CASE("malformed requests get 400 with Connection: close, then the connection closes", "[http][malformed]") {
    TestServer srv;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"bad request line", "GARBAGE\r\n\r\n"},
        {"bad method token", "G(T /echo HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"bad version", "GET /echo HTTP/9\r\nHost: x\r\n\r\n"},
        {"negative Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
        {"two different Content-Length",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
        {"Content-Length and chunked",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: "
         "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
        {"chunked not last", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"},
        {"bad chunk size",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"},
        {"NUL in a header", std::string("GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a") + '\0' + "b\r\n\r\n"},
        {"HTTP/1.1 without Host", "GET /echo HTTP/1.1\r\n\r\n"},
        {"two Host fields", "GET /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
    };
    for (const auto& [what, bytes] : cases) {
        INFO(what);
        bool closed = false;
        const std::string got = exchange_until_close(srv.port, bytes, closed);
        CHECK(starts_with(got, "HTTP/1.1 400 "));
        CHECK(got.find("\r\nConnection: close\r\n") != std::string::npos);
        CHECK(closed);
    }
    SECTION("HTTP/1.0 without Host is fine") {
        bool closed = false;
        const std::string got = exchange_until_close(srv.port, "GET /echo HTTP/1.0\r\n\r\n", closed);
        CHECK(starts_with(got, "HTTP/1.0 200 "));
        CHECK(closed);
    }
}

TEST_CASE("size limits: 414 for the target, 431 for the header, 413 for the body", "[http][limits]") {
    server::HttpOptions o;
    o.max_url_bytes = 1000;
    o.max_header_bytes = 2000;
    o.body_limit = 5000;
    TestServer srv(o);
    const auto request = [](std::size_t target, std::size_t header) {
        return "GET /echo?" + std::string(target - 6, 'a') +
               " HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(header, 'b') + "\r\n\r\n";
    };
    bool closed = false;
    SECTION("at the limits: served") {
        Conn c(srv.port);
        c.send(request(1000, 1900));
        auto r = c.read();
        REQUIRE(r);
        CHECK(r->result_int() == 200);
    }
    SECTION("target over the limit") {
        const std::string got = exchange_until_close(srv.port, request(1001, 10), closed);
        CHECK(starts_with(got, "HTTP/1.1 414 "));
        CHECK(closed);
    }
    SECTION("target far over the whole header limit") {
        const std::string got = exchange_until_close(srv.port, request(100000, 10), closed);
        CHECK(starts_with(got, "HTTP/1.1 414 "));
        CHECK(closed);
    }
    SECTION("header fields over the limit") {
        const std::string got = exchange_until_close(srv.port, request(10, 2100), closed);
        CHECK(starts_with(got, "HTTP/1.1 431 "));
        CHECK(closed);
    }
    SECTION("header fields far over the limit") {
        const std::string got = exchange_until_close(srv.port, request(10, 100000), closed);
        CHECK(starts_with(got, "HTTP/1.1 431 "));
        CHECK(closed);
    }
    SECTION("body over the limit") {
        const std::string got = exchange_until_close(
            srv.port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5001\r\n\r\n" + std::string(5001, 'c'),
            closed);
        CHECK(starts_with(got, "HTTP/1.1 413 "));
        CHECK(closed);
    }
    SECTION("chunked body over the limit") {
        const std::string got =
            exchange_until_close(srv.port,
                                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1389\r\n" +
                                     std::string(5001, 'c') + "\r\n0\r\n\r\n",
                                 closed);
        CHECK(starts_with(got, "HTTP/1.1 413 "));
        CHECK(closed);
    }
}

TEST_CASE("the default limits take a 60 KiB TAP GET query", "[http][limits]") {
    TestServer srv;
    Conn c(srv.port);
    c.send("GET /echo?QUERY=" + std::string(60 * 1024, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read();
    REQUIRE(r);
    CHECK(r->result_int() == 200);
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body, or 413 at once", "[http][expect]") {
    server::HttpOptions o;
    o.body_limit = 5000;
    TestServer srv(o);
    SECTION("within the limit") {
        Conn c(srv.port);
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        auto cont = c.read(false, 3s);  // the body is sent only after the 100
        REQUIRE(cont);
        CHECK(cont->result_int() == 100);
        c.send("hello");
        auto r = c.read();
        REQUIRE(r);
        CHECK(r->result_int() == 200);
        CHECK(r->body() == "POST:hello");
    }
    SECTION("over the limit: 413 without 100") {
        Conn c(srv.port);
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5001\r\nExpect: 100-continue\r\n\r\n");
        auto r = c.read(false, 3s);
        REQUIRE(r);
        CHECK(r->result_int() == 413);
        CHECK((*r)[http::field::connection] == "close");
    }
    SECTION("other expectations: 417") {
        Conn c(srv.port);
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: teapot\r\n\r\nhello");
        auto r = c.read(false, 3s);
        REQUIRE(r);
        CHECK(r->result_int() == 417);
    }
}

TEST_CASE("a client that does not read does not hold the worker; it later gets every byte", "[http][spool]") {
    const std::uint64_t n = 50'000'000;
    const std::uint64_t expected = pattern_hash(n);
    TestServer srv;
    for (const std::string kind : {"stream", "fixed"}) {
        INFO(kind);
        const int before = srv.app.writes_returned;
        const std::uint64_t rss_before = resident_bytes();
        Conn slow(srv.port, 64 * 1024);
        slow.send("GET /" + kind + "?" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        // The producer's write loop must end although the client reads nothing.
        const auto t0 = std::chrono::steady_clock::now();
        while (srv.app.writes_returned == before && std::chrono::steady_clock::now() - t0 < 15s)
            std::this_thread::sleep_for(10ms);
        CHECK(srv.app.writes_returned == before + 1);
        CHECK(srv.app.sink_closed == 0);
        // Bounded memory: the 50 MB wait on disk, not in the process.
        CHECK(resident_bytes() < rss_before + 20'000'000);
        // The (only) worker is free for another client.
        Conn other(srv.port);
        other.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
        auto r = other.read(false, 5s);
        REQUIRE(r);
        CHECK(r->body() == "small\n");
        // The slow client now reads all of it, intact; the connection stays usable.
        CHECK(read_pattern_then_reuse(slow, n, expected) == (kind == "stream"));
    }
}

TEST_CASE("beyond the spool budget a client that does not read is closed after the write timeout", "[http][spool]") {
    server::HttpOptions o;
    o.spool_bytes_per_response = 4 * 1024 * 1024;
    o.write_timeout = std::chrono::seconds(1);
    TestServer srv(o);
    Conn slow(srv.port, 64 * 1024);
    slow.send("GET /stream?200000000 HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto t0 = std::chrono::steady_clock::now();
    while (srv.app.writes_returned == 0 && std::chrono::steady_clock::now() - t0 < 15s)
        std::this_thread::sleep_for(10ms);
    CHECK(srv.app.writes_returned == 1);
    CHECK(srv.app.sink_closed == 1);
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    Conn other(srv.port);
    other.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = other.read(false, 5s);
    REQUIRE(r);
    CHECK(r->body() == "small\n");
    // The slow client sees a truncated body and the connection closed.
    bool closed = false;
    const std::string got = slow.read_to_eof(closed, 30s);
    CHECK(closed);
    CHECK(got.size() < 200000000);
}

TEST_CASE("the spool stays within the total budget across connections", "[http][spool]") {
    server::HttpOptions o;
    o.spool_bytes_per_response = 64 * 1024 * 1024;
    o.spool_bytes_total = 6 * 1024 * 1024;
    o.write_timeout = std::chrono::seconds(1);
    TestServer srv(o);
    // One response fills the whole total budget and then some: it must be
    // closed although its own budget is not reached.
    Conn slow(srv.port, 64 * 1024);
    slow.send("GET /stream?40000000 HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto t0 = std::chrono::steady_clock::now();
    while (srv.app.writes_returned == 0 && std::chrono::steady_clock::now() - t0 < 15s)
        std::this_thread::sleep_for(10ms);
    CHECK(srv.app.sink_closed == 1);
}

TEST_CASE("the access log goes to a file that can be reopened and rotated", "[http][log]") {
    const auto dir = std::filesystem::temp_directory_path() / ("voserver-http-log-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto file = dir / "access.log";
    const auto slurp = [](const std::filesystem::path& p) {
        std::ifstream in(p);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    SECTION("reopen after a move (logrotate)") {
        server::HttpOptions o;
        o.access_log = file.string();
        TestServer srv(o);
        Conn c(srv.port);
        c.send("GET /echo?first HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(c.read());
        // The line is written once the response is out: wait for it.
        for (int i = 0; i < 500 && slurp(file).find("GET") == std::string::npos; ++i) std::this_thread::sleep_for(10ms);
        std::filesystem::rename(file, dir / "access.log.old");
        srv.server->reopen_access_log();
        c.send("HEAD /echo?second HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(c.read(true));
        for (int i = 0; i < 500 && slurp(file).find("HEAD") == std::string::npos; ++i)
            std::this_thread::sleep_for(10ms);
        srv.server->stop();
        const std::string old_text = slurp(dir / "access.log.old"), new_text = slurp(file);
        CHECK(old_text.find("GET /echo 200 4 ") != std::string::npos);
        CHECK(old_text.find("HEAD") == std::string::npos);
        CHECK(new_text.find("HEAD /echo 200 0 ") != std::string::npos);
        CHECK(new_text.find("GET") == std::string::npos);
    }
    SECTION("size-based rotation") {
        server::HttpOptions o;
        o.access_log = file.string();
        o.access_log_max_bytes = 300;
        o.access_log_keep = 2;
        TestServer srv(o);
        Conn c(srv.port);
        for (int i = 0; i < 40; ++i) {
            c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
            REQUIRE(c.read());
        }
        srv.server->stop();
        CHECK(std::filesystem::exists(dir / "access.log.1"));
        CHECK(std::filesystem::exists(dir / "access.log.2"));
        CHECK(!std::filesystem::exists(dir / "access.log.3"));
        CHECK(std::filesystem::file_size(file) <= 300 + 200);
        CHECK(std::filesystem::file_size(dir / "access.log.1") <= 300 + 200);
    }
    SECTION("an unwritable log file is an error at start") {
        server::HttpOptions o;
        o.access_log = (dir / "no" / "such" / "dir" / "access.log").string();
        server::HttpServer s(o, [](auto, auto) {});
        CHECK_THROWS_WITH(s.start(), Catch::Contains("access log"));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("file regions go out whole, in order with written bytes, fixed-length and chunked", "[http][file]") {
    const std::uint64_t n = 20'000'000;
    const std::uint64_t expected = pattern_hash(n);
    TestServer srv;
    Conn c(srv.port);
    for (const std::string kind : {"file", "fileparts", "filechunked", "file"}) {
        INFO(kind);
        c.send("GET /" + kind + "?" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        auto r = c.read(false, 30s);
        REQUIRE(r);
        CHECK(r->result_int() == 200);
        CHECK(r->body().size() == n);
        CHECK(fnv1a(r->body()) == expected);
        CHECK(r->chunked() == (kind == "filechunked"));
    }
    // HEAD: the header of GET, no body; the connection stays usable.
    c.send("HEAD /file?" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto h = c.read(true);
    REQUIRE(h);
    CHECK(h->at(http::field::content_length) == std::to_string(n));
    c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    auto again = c.read();
    REQUIRE(again);
    CHECK(again->body() == "GET:");
}

TEST_CASE("a slow reader of a file region gets every byte; the worker is free at once", "[http][file]") {
    const std::uint64_t n = 30'000'000;
    const std::uint64_t expected = pattern_hash(n);
    TestServer srv;
    Conn slow(srv.port, 64 * 1024);
    slow.send("GET /file?" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto t0 = std::chrono::steady_clock::now();
    while (srv.app.writes_returned == 0 && std::chrono::steady_clock::now() - t0 < 15s)
        std::this_thread::sleep_for(10ms);
    CHECK(srv.app.writes_returned == 1);  // handed over, not sent: the worker did not wait
    Conn other(srv.port);
    other.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = other.read(false, 5s);
    REQUIRE(r);
    CHECK(r->body() == "small\n");
    // The client reads nothing for a while (the server meets a full socket
    // and waits), then reads it all at its pace, intact; the connection
    // stays usable.
    std::this_thread::sleep_for(500ms);
    CHECK_FALSE(read_pattern_then_reuse(slow, n, expected));
}

TEST_CASE("a client that never reads a file region is closed after the write timeout", "[http][file]") {
    server::HttpOptions o;
    o.write_timeout = std::chrono::seconds(1);
    TestServer srv(o);
    srv.app.pattern_file(200000000);  // made before: the wait below is the client's alone
    Conn slow(srv.port, 64 * 1024);
    slow.send("GET /file?200000000 HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(4s);
    bool closed = false;
    const std::string got = slow.read_to_eof(closed, 30s);
    CHECK(closed);
    CHECK(got.size() < 200000000);
    // The server still answers others.
    Conn other(srv.port);
    other.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = other.read(false, 5s);
    REQUIRE(r);
    CHECK(r->body() == "small\n");
}
