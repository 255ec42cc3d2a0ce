// The HTTP layer (Boost.Beast): one session per connection, read timeouts,
// keep-alive, responses either whole or streamed (chunked transfer encoding,
// or a known Content-Length) from any thread (DESIGN.md "How a request flows").
#pragma once

#include <atomic>
#include <cctype>
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
    std::string host;    ///< Host header
    std::string remote;  ///< client address
    /// True for a HEAD request (RFC 9110 section 9.3.2). The HTTP layer hands
    /// it to the handler with `method` "GET", so every GET resource answers
    /// HEAD alike; the layer sends the response's header fields (status,
    /// Content-Type, Content-Length where known) and drops the body. A
    /// handler may look at it to skip work, and need not.
    bool head = false;
    /// Every header field as received (name as sent, value), in order.
    std::vector<std::pair<std::string, std::string>> headers;
    /// The value of the first header field `name` (case-insensitive,
    /// RFC 9110 section 5.1), or "" when absent.
    std::string header(std::string_view name) const {
        for (const auto& [k, v] : headers) {
            if (k.size() != name.size()) continue;
            bool same = true;
            for (std::size_t i = 0; i < k.size() && same; ++i)
                same =
                    std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(name[i]));
            if (same) return v;
        }
        return "";
    }
};

/// A whole (not streamed) response.
struct Reply {
    unsigned status = 200;
    std::string content_type;  ///< with charset where it applies
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

/// A file descriptor open for reading, closed when the last holder lets go:
/// what ResponseChannel::write_file sends from after the producer returned.
class OpenFile {
public:
    /// Takes ownership of `fd` (>= 0).
    explicit OpenFile(int fd) : fd_(fd) {}
    ~OpenFile();
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

/// Where a handler sends its response. Thread-safe: a handler may hand it to
/// a worker thread. Exactly one of: reply(), or start() + (write() |
/// write_file())* + finish().
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
    /// Sends body bytes. Returns as soon as they are queued: up to
    /// HttpOptions::max_queued_bytes in memory, beyond that in the response's
    /// spool (an unlinked temporary file, HttpOptions::spool_dir) up to
    /// HttpOptions::spool_bytes_per_response and, across all responses,
    /// HttpOptions::spool_bytes_total; so a client that reads slowly does not
    /// hold the worker thread that produces its response. When both are
    /// full it blocks until the client reads; if the client reads nothing
    /// for HttpOptions::write_timeout, the connection is closed.
    /// Throws votable::SinkClosed if the client is gone, the connection was
    /// closed (timeout, server stopping) or the body is not wanted (HEAD).
    virtual void write(std::string_view data) = 0;
    /// For bodies read from files already on disk (SODA cutouts, file
    /// downloads): once the memory queue is full, write() waits for a client
    /// that keeps reading instead of spooling, since a spool would copy every
    /// byte to a temporary file and back (issue 14: a 100 MB cutout to a fast
    /// client went through the spool for most of its bytes). A client that
    /// reads nothing for 1 s, or a response whose producer has waited 10 s in
    /// all, is spooled as before, so that a client that does not read never
    /// holds the worker. Call before the first write(). The default does
    /// nothing.
    virtual void spool_only_when_stalled() {}
    /// Sends `count` bytes of `file` from byte `offset` as body bytes, in
    /// order with write()'s. The server's channel queues the region and the
    /// connection sends it with sendfile(2), page cache to socket without a
    /// copy through user space (issue 14: downloads at the speed of a static
    /// file server), after the producer has returned: the file stays open
    /// as long as the region is queued. A region shorter than announced
    /// (the file shrank) ends the body early, which closes the connection
    /// like any short fixed-length body. This default reads the region with
    /// pread and write()s it, 256 KiB at a time. Throws like write(); throws
    /// std::runtime_error when the file cannot be read.
    virtual void write_file(std::shared_ptr<const OpenFile> file, std::uint64_t offset, std::uint64_t count);
    /// Ends a streamed response.
    virtual void finish() = 0;
    /// True once the client has disconnected (or a write failed, or the
    /// request was HEAD and its header is sent); a running query should stop
    /// (obscore::ExecuteControl::cancel).
    virtual bool cancelled() const = 0;
    /// The flag behind cancelled(), for the query backend's progress checks.
    virtual const std::atomic<bool>& cancel_flag() const = 0;
};

/// A request handler; called on an I/O thread, must not block.
using Handler = std::function<void(std::shared_ptr<const Request>, std::shared_ptr<ResponseChannel>)>;

/// Options of the HTTP server. Sizes in bytes.
///
/// Requests beyond the limits are answered and the connection closed
/// (RFC 9110 section 15.5): a request target longer than `max_url_bytes` gets
/// 414, header fields totalling more than `max_header_bytes` 431 (RFC 6585
/// section 5), a body larger than `body_limit` 413.
struct HttpOptions {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;             ///< 0 = any free port
    int threads = 2;                        ///< I/O threads
    std::chrono::seconds read_timeout{30};  ///< to receive one request
    /// A write to the client that makes no progress for this long closes the
    /// connection; also the longest ResponseChannel::write() waits once
    /// memory queue and spool are full.
    std::chrono::seconds write_timeout{120};
    std::uint64_t body_limit = 16 * 1024 * 1024;
    std::size_t max_url_bytes = 64 * 1024;       ///< request target (TAP sync GET queries are long)
    std::size_t max_header_bytes = 64 * 1024;    ///< all header field lines together
    std::size_t max_queued_bytes = 1024 * 1024;  ///< in memory, per streamed response
    /// Directory of the spool files; "" = $TMPDIR, else /tmp. The files are
    /// unlinked at once (nothing is left behind, even after a crash).
    std::string spool_dir;
    std::uint64_t spool_bytes_per_response = std::uint64_t{1} << 30;  ///< 0 = no spool
    std::uint64_t spool_bytes_total = std::uint64_t{4} << 30;         ///< across connections
    /// Where the one-line-per-request access log goes: "" = the process log
    /// (spdlog's default logger), "-" = standard output, else a file, opened
    /// for appending and reopened by HttpServer::reopen_access_log() (SIGHUP
    /// while HttpServer::wait() handles signals), for logrotate.
    std::string access_log;
    /// With a file: when it reaches this size it is renamed to FILE.1 (FILE.1
    /// to FILE.2, ...; `access_log_keep` kept) and a new one started; 0 = never.
    std::uint64_t access_log_max_bytes = 0;
    int access_log_keep = 5;
    std::string server_name = "voserver";
    /// CORS (Fetch standard, CORS protocol): origins whose pages may read the
    /// responses. {"*"} (default) = any origin, as befits public read-only
    /// VO services; a list = exactly those (echoed, with Vary: Origin);
    /// empty = no CORS headers. Preflight OPTIONS requests are answered here
    /// with 204, without calling the handler.
    std::vector<std::string> cors_origins{"*"};
};

/// An HTTP/1.1 server: accepts connections and runs `handler` per request.
class HttpServer {
public:
    HttpServer(HttpOptions options, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds and listens without accepting yet; returns the bound port (with
    /// `port` 0, the ephemeral port the system chose). Connections wait in the
    /// listen backlog until start(). A second call returns the same port.
    /// Throws std::runtime_error naming the address when it cannot bind, or
    /// the access log file when it cannot be opened.
    unsigned short listen();
    /// Binds and listens (unless listen() did), starts accepting and the I/O
    /// threads; returns the bound port. Throws as listen() does.
    unsigned short start();
    /// Blocks until stop() or SIGINT/SIGTERM (when `handle_signals`; SIGHUP
    /// then reopens the access log file).
    void wait(bool handle_signals = true);
    /// Closes and reopens the access log file (after logrotate moved it);
    /// no-op when the log is not a file. Thread-safe.
    void reopen_access_log();
    /// Stops accepting, closes the I/O threads.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vo::server
