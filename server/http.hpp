// The HTTP layer (Boost.Beast): one session per connection, read timeouts,
// keep-alive, responses either whole or streamed (chunked transfer encoding,
// or a known Content-Length) from any thread (DESIGN.md "How a request flows").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vo::server {

/// One HTTP request as the handlers see it.
struct Request {
    std::string method;        ///< "GET", "POST", ...
    std::string target;        ///< origin-form target, e.g. "/tap/sync?QUERY=..."
    std::string path;          ///< target up to '?', not decoded
    std::string content_type;  ///< Content-Type header or ""
    std::string body;
    std::string host;          ///< Host header
    std::string remote;        ///< client address
};

/// A whole (not streamed) response.
struct Reply {
    unsigned status = 200;
    std::string content_type;  ///< with charset where it applies
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

/// Where a handler sends its response. Thread-safe: a handler may hand it to
/// a worker thread. Exactly one of: reply(), or start() + write()* + finish().
class ResponseChannel {
public:
    virtual ~ResponseChannel() = default;
    /// Sends a whole response.
    virtual void reply(Reply reply) = 0;
    /// Sends the status line and headers of a streamed response.
    ///
    /// Without `content_length` the body is sent with chunked transfer
    /// encoding (RFC 9112 section 7.1; TAP results, whose size is unknown).
    /// With it, `Content-Length: n` is sent and the body goes out as is
    /// (RFC 9112 section 6.3; SODA cutouts, so clients can show progress):
    /// the handler must then write exactly n bytes before finish(); if it
    /// writes fewer (a failure after the headers), finish() closes the
    /// connection so the client sees a truncated body rather than a
    /// complete-looking one, and bytes beyond n are dropped.
    virtual void start(unsigned status, std::string content_type,
                       std::vector<std::pair<std::string, std::string>> headers = {},
                       std::optional<std::uint64_t> content_length = std::nullopt) = 0;
    /// Sends one chunk of body. Blocks while too much is queued (back-pressure;
    /// memory stays bounded). Throws votable::SinkClosed if the client is gone.
    virtual void write(std::string_view data) = 0;
    /// Ends a streamed response.
    virtual void finish() = 0;
    /// True once the client has disconnected (or a write failed); a running
    /// query should stop (sqlite3_interrupt or a progress handler).
    virtual bool cancelled() const = 0;
    /// The flag behind cancelled(), for SQLite progress handlers.
    virtual const std::atomic<bool>& cancel_flag() const = 0;
};

/// A request handler; called on an I/O thread, must not block.
using Handler = std::function<void(std::shared_ptr<const Request>, std::shared_ptr<ResponseChannel>)>;

/// Options of the HTTP server.
struct HttpOptions {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;   ///< 0 = any free port
    int threads = 2;              ///< I/O threads
    std::chrono::seconds read_timeout{30};
    std::chrono::seconds write_timeout{120};
    std::uint64_t body_limit = 16 * 1024 * 1024;
    std::size_t max_queued_bytes = 1024 * 1024;  ///< per streamed response
    std::string server_name = "voserver";
};

/// An HTTP/1.1 server: accepts connections and runs `handler` per request.
class HttpServer {
public:
    HttpServer(HttpOptions options, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds and listens, starts the I/O threads; returns the bound port.
    /// Throws std::runtime_error naming the address when it cannot bind.
    unsigned short start();
    /// Blocks until stop() or SIGINT/SIGTERM (when `handle_signals`).
    void wait(bool handle_signals = true);
    /// Stops accepting, closes the I/O threads.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vo::server
