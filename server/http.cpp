// HTTP server on Boost.Beast, in the style of Beast's "advanced server"
// example: a listener, one Session per connection on its own strand, read
// timeouts, keep-alive. Responses may be produced from worker threads through
// a ResponseChannel that queues items and writes them on the strand; a
// streamed body is chunked, or sent as is after a known Content-Length.
//
// What a client sends is checked before a handler sees it (issue 7): a
// malformed request gets 400, an over-long target 414, over-large header
// fields 431, an over-large body 413 (then the connection is closed);
// `Expect: 100-continue` is answered before the body is read; HEAD runs as GET
// with the body dropped. A client that reads slowly does not hold the worker
// producing its response: what does not fit in the memory queue is spooled to
// an unlinked temporary file, within per-response and total budgets.
#include "server/http.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <sstream>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include "votable/writer.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace vo::server {

namespace {

/// Sets a handler's extra header fields on a response: each replaces a field
/// of the same name set before (e.g. a default), but a name repeated in
/// `headers` gives repeated fields (RFC 9110 section 5.3), as several
/// WWW-Authenticate challenges need (section 11.6.1).
template <class Fields>
void apply_headers(Fields& fields, const std::vector<std::pair<std::string, std::string>>& headers) {
    for (std::size_t i = 0; i < headers.size(); ++i) {
        bool repeated = false;
        for (std::size_t j = 0; j < i && !repeated; ++j) repeated = beast::iequals(headers[j].first, headers[i].first);
        if (repeated)
            fields.insert(headers[i].first, headers[i].second);
        else
            fields.set(headers[i].first, headers[i].second);
    }
}

constexpr const char* kVOTable = "application/x-votable+xml";

// ---------------------------------------------------------------------------
// Access log

/// An spdlog sink appending to a file that can be reopened (after logrotate
/// moved it) and that rotates itself past a size (FILE -> FILE.1 -> FILE.2 ...).
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    /// Opens `path` for appending; throws std::runtime_error naming it.
    ReopenableFileSink(std::string path, std::uint64_t max_bytes, int keep)
        : path_(std::move(path)), max_bytes_(max_bytes), keep_(std::max(0, keep)) {
        if (!open_file()) throw std::runtime_error("cannot open the access log " + path_ + ": " + std::strerror(errno));
    }
    ~ReopenableFileSink() override {
        if (file_) std::fclose(file_);
    }
    /// Closes and reopens the file (same name); on failure logs and retries
    /// at the next reopen, dropping lines in between.
    void reopen() {
        std::lock_guard lk(mutex_);
        if (file_) std::fclose(file_);
        file_ = nullptr;
        if (!open_file()) spdlog::error("cannot reopen the access log {}: {}", path_, std::strerror(errno));
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        if (max_bytes_ > 0 && size_ > 0 && size_ + line.size() > max_bytes_) rotate();
        if (!file_) return;
        if (std::fwrite(line.data(), 1, line.size(), file_) == line.size()) size_ += line.size();
        std::fflush(file_);
    }
    void flush_() override {
        if (file_) std::fflush(file_);
    }

private:
    bool open_file() {
        file_ = std::fopen(path_.c_str(), "ae");
        if (!file_) return false;
        std::fseek(file_, 0, SEEK_END);
        const long at = std::ftell(file_);
        size_ = at > 0 ? static_cast<std::uint64_t>(at) : 0;
        return true;
    }
    void rotate() {
        if (file_) std::fclose(file_);
        file_ = nullptr;
        if (keep_ == 0) {
            std::remove(path_.c_str());
        } else {
            for (int k = keep_ - 1; k >= 1; --k) {
                const std::string from = path_ + "." + std::to_string(k), to = path_ + "." + std::to_string(k + 1);
                std::rename(from.c_str(), to.c_str());  // absent ones are fine
            }
            std::rename(path_.c_str(), (path_ + ".1").c_str());
        }
        if (!open_file())
            spdlog::error("cannot open the access log {} after rotation: {}", path_, std::strerror(errno));
    }

    std::string path_;
    std::uint64_t max_bytes_;
    int keep_;
    std::FILE* file_ = nullptr;
    std::uint64_t size_ = 0;
};

/// Where the request lines go (HttpOptions::access_log).
class AccessLog {
public:
    /// Throws std::runtime_error when the file cannot be opened.
    void open(const HttpOptions& o) {
        if (o.access_log.empty()) return;  // the process log
        if (o.access_log == "-") {
            logger_ = std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
        } else {
            file_ = std::make_shared<ReopenableFileSink>(o.access_log, o.access_log_max_bytes, o.access_log_keep);
            logger_ = std::make_shared<spdlog::logger>("access", file_);
        }
        logger_->set_pattern("[%Y-%m-%d %H:%M:%S.%e] %v");
        logger_->set_level(spdlog::level::info);
        logger_->flush_on(spdlog::level::info);
    }
    void line(const std::string& text) {
        if (logger_)
            logger_->info(text);
        else
            spdlog::info(text);
    }
    void reopen() {
        if (file_) file_->reopen();
    }

private:
    std::shared_ptr<spdlog::logger> logger_;
    std::shared_ptr<ReopenableFileSink> file_;
};

/// What every session and channel of one server shares; outlives the
/// HttpServer while a worker still holds a channel.
struct ServerState {
    HttpOptions options;
    Handler handler;
    std::string spool_dir;  ///< resolved HttpOptions::spool_dir
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> spool_bytes{0};  ///< spool bytes reserved by all responses
    AccessLog access_log;
};

// ---------------------------------------------------------------------------
// Spool

/// An unlinked temporary file holding the part of one response body that did
/// not fit in the memory queue. Offsets and sizes in bytes from its start.
/// Not thread-safe by itself: the Channel orders its users.
class Spool {
public:
    Spool() = default;
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;
    ~Spool() {
        if (fd_ >= 0) ::close(fd_);
    }
    /// Creates the file in `dir` (O_TMPFILE, else mkstemp + unlink); false
    /// with a warning when it cannot.
    bool open(const std::string& dir) {
        fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            std::string name = dir + "/voserver-spool-XXXXXX";
            fd_ = ::mkostemp(name.data(), O_CLOEXEC);
            if (fd_ >= 0) ::unlink(name.c_str());
        }
        if (fd_ < 0) spdlog::warn("cannot create a spool file in {}: {}", dir, std::strerror(errno));
        return fd_ >= 0;
    }
    /// Writes all of `data` at `offset`; false (errno set) on failure (e.g. ENOSPC).
    bool write_at(std::uint64_t offset, std::string_view data) const {
        while (!data.empty()) {
            const ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
            offset += static_cast<std::uint64_t>(n);
        }
        return true;
    }
    /// Reads exactly `n` bytes at `offset` into `out`; false on failure.
    bool read_at(std::uint64_t offset, char* out, std::size_t n) const {
        while (n > 0) {
            const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            out += got;
            n -= static_cast<std::size_t>(got);
            offset += static_cast<std::uint64_t>(got);
        }
        return true;
    }
    /// Gives back the disk blocks of [from, to) (sent already); false when
    /// the file system cannot punch holes.
    bool release(std::uint64_t from, std::uint64_t to) const {
        return ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                           static_cast<off_t>(to - from)) == 0;
    }
    /// Empties the file.
    void clear() const {
        if (::ftruncate(fd_, 0) != 0) spdlog::warn("cannot truncate a spool file: {}", std::strerror(errno));
    }

private:
    int fd_ = -1;
};

// ---------------------------------------------------------------------------
// Channel

class Session;

struct StreamHeader {
    unsigned status;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::uint64_t> content_length;  ///< none: chunked
};
/// In the queue: the body goes on in the spool (every byte written to it
/// before the producer returns to the memory queue).
struct SpoolMark {};
/// From pop(): send these spool bytes next.
struct SpoolChunk {
    std::uint64_t offset;
    std::size_t size;
};
struct LastChunk {};
/// Body bytes from a file (ResponseChannel::write_file), sent with sendfile.
struct FileRegion {
    std::shared_ptr<const OpenFile> file;
    std::uint64_t offset;
    std::uint64_t count;
};
using Item = std::variant<Reply, StreamHeader, std::string, SpoolMark, SpoolChunk, FileRegion, LastChunk>;

constexpr std::chrono::milliseconds kStallBeforeSpool{1000};  ///< see Channel::spool_only_when_stalled
constexpr std::chrono::seconds kMaxWaitBeforeSpool{10};       ///< see Channel::spool_only_when_stalled
constexpr std::size_t kSpoolRead = 256 * 1024;                ///< bytes read from the spool per socket write
constexpr std::uint64_t kSpoolRelease = 4 * 1024 * 1024;      ///< sent spool bytes given back in steps of this
constexpr std::uint64_t kSpoolAlign = 1024 * 1024;
/// File-region bytes sent per turn of an I/O thread before other sessions'
/// handlers get their turn (a fast client could otherwise keep the thread).
constexpr std::uint64_t kSendfileTurn = 4 * 1024 * 1024;

/// The ResponseChannel of one request on one Session.
///
/// The producer (a handler or a worker thread) appends to a queue of items
/// under `mutex_`; the session pops them on its strand. Body bytes go to the
/// queue while less than max_queued_bytes are queued, else to the spool; the
/// spool is sent in full (the SpoolMark stays at the queue's front until the
/// session has read every spooled byte and the producer is not writing) before
/// anything queued after it, so the body keeps its order.
class Channel final : public ResponseChannel, public std::enable_shared_from_this<Channel> {
public:
    Channel(std::shared_ptr<Session> session, std::shared_ptr<const Request> request, std::string log_method,
            bool keep_alive, std::shared_ptr<ServerState> state)
        : session_(std::move(session)),
          request_(std::move(request)),
          log_method_(std::move(log_method)),
          keep_alive_(keep_alive),
          state_(std::move(state)),
          started_(std::chrono::steady_clock::now()) {}

    ~Channel() override {
        if (spool_reserved_ > 0) state_->spool_bytes -= spool_reserved_;
    }

    void reply(Reply r) override { push(Item(std::move(r)), 0); }
    void start(unsigned status, std::string content_type, std::vector<std::pair<std::string, std::string>> headers,
               std::optional<std::uint64_t> content_length) override {
        {
            std::lock_guard lk(mutex_);
            identity_body_ = content_length.has_value();
        }
        push(Item(StreamHeader{status, std::move(content_type), std::move(headers), content_length}), 0);
    }
    void write(std::string_view data) override;
    /// Queues the region for the session's sendfile (identity bodies only,
    /// and not behind spooled bytes, which must go out first); otherwise
    /// the default pread + write().
    void write_file(std::shared_ptr<const OpenFile> file, std::uint64_t offset, std::uint64_t count) override;
    void spool_only_when_stalled() override {
        std::lock_guard lk(mutex_);
        spool_when_stalled_ = true;
    }
    void finish() override { push(Item(LastChunk{}), 0); }
    bool cancelled() const override { return cancel_.load(); }
    const std::atomic<bool>& cancel_flag() const override { return cancel_; }

    /// The client went away (seen by the disconnect watch or a failed write).
    void fail() {
        {
            std::lock_guard lk(mutex_);
            failed_ = true;
            queue_.clear();
            queued_bytes_ = 0;
        }
        cancel_ = true;
        space_.notify_all();
    }
    /// HEAD: the header is sent, the body is not wanted; stops the producer.
    void discard() { fail(); }

    // Used by the Session on its strand.
    std::optional<Item> pop();
    /// When the rest of the response is queued (body strings, then the end),
    /// takes it: the body concatenated into `body` and the memory-queue
    /// bytes it held into `queued`; true. Otherwise (more is to come, or
    /// spooled) takes nothing; false. Right after pop() gave the StreamHeader.
    bool take_whole_body(std::string& body, std::size_t& queued);
    /// Reads a chunk handed out by pop() into `out`; false on an I/O error.
    bool read_spool(const SpoolChunk& c, std::string& out) {
        out.resize(c.size);
        return spool_->read_at(c.offset, out.data(), c.size);
    }
    /// `bytes` of body went out: `queued` of them from the memory queue,
    /// `spooled` from the spool.
    void sent(std::size_t bytes, std::size_t queued, std::size_t spooled);
    void set_status(unsigned s) { status_ = s; }
    void log_done(bool ok) {
        if (logged_.exchange(true)) return;  // once per request
        const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
        state_->access_log.line(fmt::format("{} {} {} {} {:.2f}ms{}", log_method_, request_->path, status_, body_bytes_,
                                            ms, ok ? "" : " (client gone)"));
    }
    bool keep_alive() const { return keep_alive_; }
    bool head() const { return request_->head; }
    /// The request's Origin header ("" when none), for CORS.
    std::string origin() const { return request_->header("Origin"); }

private:
    void push(Item item, std::size_t queued);
    /// Reserves up to `want` spool bytes within both budgets; 0 if none. Under mutex_.
    std::size_t reserve_spool(std::size_t want);

    std::shared_ptr<Session> session_;
    std::shared_ptr<const Request> request_;
    std::string log_method_;
    bool keep_alive_;
    std::shared_ptr<ServerState> state_;
    std::chrono::steady_clock::time_point started_;

    std::mutex mutex_;
    std::condition_variable space_;
    std::deque<Item> queue_;
    std::size_t queued_bytes_ = 0;  ///< body bytes in queue_
    std::uint64_t body_bytes_ = 0;  ///< body bytes sent
    std::uint64_t progress_ = 0;    ///< counts writes to the client that completed
    bool failed_ = false;

    std::unique_ptr<Spool> spool_;
    bool spool_unusable_ = false;  ///< cannot create or write it: memory only
    /// spool_only_when_stalled(): spool only once the client has read nothing for
    /// kStallBeforeSpool, or the producer has waited kMaxWaitBeforeSpool in all.
    bool spool_when_stalled_ = false;
    std::chrono::steady_clock::duration waited_{};  ///< producer's waits for space so far (spool_when_stalled_)
    bool identity_body_ = false;                    ///< start() announced a Content-Length
    bool spool_active_ = false;                     ///< a SpoolMark is queued: body bytes go to the spool
    bool producer_writing_ = false;                 ///< the producer is writing to the spool (outside the lock)
    bool punch_ok_ = true;                          ///< the file system gives back sent ranges
    std::uint64_t spool_end_ = 0;                   ///< bytes written to the spool
    std::uint64_t spool_read_ = 0;                  ///< bytes handed to the session
    std::uint64_t spool_freed_ = 0;                 ///< bytes whose blocks are given back
    std::uint64_t spool_reserved_ = 0;              ///< counted in both budgets

    std::atomic<bool> cancel_{false};
    std::atomic<bool> logged_{false};
    unsigned status_ = 0;
};

// ---------------------------------------------------------------------------
// Session

/// Whether `ec` is the parser rejecting the bytes (not a transport error).
bool is_parse_error(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_method).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
}

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, std::shared_ptr<ServerState> state)
        : stream_(std::move(socket)),
          state_(std::move(state)),
          options_(state_->options),
          region_timer_(stream_.get_executor()) {
        beast::error_code ec;
        auto ep = stream_.socket().remote_endpoint(ec);
        if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
        stream_.socket().set_option(tcp::no_delay(true), ec);
    }

    void run() {
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
    }

    /// Called (from any thread) when the channel has something to write.
    void kick(std::shared_ptr<Channel> channel) {
        net::post(stream_.get_executor(), [self = shared_from_this(), channel = std::move(channel)]() mutable {
            self->pump(std::move(channel));
        });
    }
    /// Called (from any thread) when the producer gave up on the client:
    /// closes the connection.
    void abort(std::shared_ptr<Channel> channel) {
        net::post(stream_.get_executor(), [self = shared_from_this(), channel = std::move(channel)]() mutable {
            if (channel.get() == self->current_) self->write_failed(std::move(channel));
        });
    }

private:
    void do_read() {
        version_ = 11;
        parser_.emplace();
        parser_->body_limit(options_.body_limit);
        // Room for a target and header fields both at their limits; which of
        // the two is too long is told apart afterwards (on_header, read_failed).
        const std::uint64_t limit = std::uint64_t{options_.max_url_bytes} + options_.max_header_bytes + 1024;
        parser_->header_limit(static_cast<std::uint32_t>(std::min<std::uint64_t>(limit, UINT32_MAX)));
        stream_.expires_after(options_.read_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                beast::bind_front_handler(&Session::on_header, shared_from_this()));
    }

    /// The request line and header fields are in: checks them (RFC 9112
    /// sections 3 and 6, RFC 9110 section 10.1.1) before reading any body.
    void on_header(beast::error_code ec, std::size_t) {
        if (ec) return read_failed(ec);
        const auto& msg = parser_->get();
        version_ = msg.version() >= 11 ? 11 : 10;
        if (msg.target().size() > options_.max_url_bytes)
            return reject(414, "request target longer than the limit of " + std::to_string(options_.max_url_bytes) +
                                   " bytes (send long queries with POST)");
        std::size_t field_bytes = 0;
        for (const auto& f : msg) field_bytes += f.name_string().size() + f.value().size() + 4;  // ": " CRLF
        if (field_bytes > options_.max_header_bytes)
            return reject(431, "request header fields larger than the limit of " +
                                   std::to_string(options_.max_header_bytes) + " bytes");
        // RFC 9112 section 3.2: exactly one Host in HTTP/1.1, at most one before.
        const std::size_t hosts = msg.count(http::field::host);
        if (hosts > 1) return reject(400, "more than one Host header field");
        if (hosts == 0 && version_ == 11) return reject(400, "HTTP/1.1 request without a Host header field");
        // RFC 9112 section 6.3 item 4: a body length that cannot be determined.
        if (msg.count(http::field::transfer_encoding) > 0 && !parser_->chunked())
            return reject(400, "Transfer-Encoding whose last coding is not chunked");
        if (parser_->is_done()) return on_read({}, 0);  // no body
        const auto expect = msg[http::field::expect];
        if (!expect.empty() && version_ == 11) {  // HTTP/1.0 ignores Expect (RFC 9110 section 10.1.1)
            if (!beast::iequals(expect, "100-continue"))
                return reject(417, "unsupported expectation \"" + std::string(expect) + "\" (only 100-continue)");
            // The body fits the limit (else header parsing failed with
            // body_limit and the client got 413 instead): ask for it.
            static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            stream_.expires_after(options_.write_timeout);
            net::async_write(stream_, net::buffer(kContinue),
                             [self = shared_from_this()](beast::error_code wec, std::size_t) {
                                 if (wec) return self->hard_close();
                                 self->read_body();
                             });
            return;
        }
        read_body();
    }

    void read_body() {
        stream_.expires_after(options_.read_timeout);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    /// Reading a request failed: answer what can be answered, then close.
    void read_failed(beast::error_code ec) {
        if (ec == http::error::end_of_stream) return do_close();  // between requests
        if (ec == http::error::header_limit) {
            // Too long: the request line (414) or the fields after it (431)?
            // The parser stores the target once the request line is complete.
            const auto target = parser_->get().target();
            const bool target_too_long = target.empty() || target.size() > options_.max_url_bytes;
            if (target_too_long)
                return reject(414, "request target longer than the limit of " + std::to_string(options_.max_url_bytes) +
                                       " bytes (send long queries with POST)");
            return reject(431, "request header fields larger than the limit of " +
                                   std::to_string(options_.max_header_bytes) + " bytes");
        }
        if (ec == http::error::body_limit)
            return reject(413,
                          "request body larger than the limit of " + std::to_string(options_.body_limit) + " bytes");
        if (is_parse_error(ec)) return reject(400, "malformed HTTP request: " + ec.message());
        hard_close();  // timeout, reset, end of stream inside a request: nobody to answer
    }

    /// Answers an unusable request with `status` and closes the connection
    /// (Connection: close; RFC 9110 section 15.5, RFC 9112 section 9.6).
    void reject(unsigned status, const std::string& message) {
        auto req = std::make_shared<Request>();
        req->remote = remote_;
        std::string method = "-";
        req->path = "-";
        if (parser_ && !parser_->get().target().empty()) {  // the request line was read
            method = std::string(parser_->get().method_string());
            const auto target = parser_->get().target();
            req->path = std::string(target.substr(0, std::min<std::size_t>(target.find('?'), 200)));
        }
        auto channel = std::make_shared<Channel>(shared_from_this(), req, method, false, state_);
        current_ = channel.get();
        Reply r;
        r.status = status;
        r.content_type = kVOTable;
        r.body = votable::error_document(message);
        channel->reply(std::move(r));
    }

    /// The Access-Control-Allow-Origin value for a request's Origin, or ""
    /// when the origin may not read (or there is no Origin header).
    std::string cors_allow(std::string_view origin) const {
        if (origin.empty()) return "";
        for (const auto& o : options_.cors_origins) {
            if (o == "*") return "*";
            if (o == origin) return o;
        }
        return "";
    }

    /// Adds the CORS response header fields for `channel`'s request.
    template <class Fields>
    void add_cors(Fields& f, const Channel& channel) const {
        const std::string allow = cors_allow(channel.origin());
        if (allow.empty()) return;
        f.set(http::field::access_control_allow_origin, allow);
        if (allow != "*") f.set(http::field::vary, "Origin");
        f.set(http::field::access_control_expose_headers,
              "Content-Length, Content-Range, Content-Disposition, Location, Accept-Ranges");
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec) return read_failed(ec);
        stream_.expires_never();
        auto msg = parser_->release();
        // CORS preflight (Fetch standard, CORS protocol): answered here.
        if (msg.method() == http::verb::options && !msg[http::field::origin].empty() &&
            !msg[http::field::access_control_request_method].empty()) {
            auto res = std::make_shared<http::response<http::string_body>>(http::status::no_content, msg.version());
            res->set(http::field::server, options_.server_name);
            const std::string allow = cors_allow(msg[http::field::origin]);
            if (!allow.empty()) {
                res->set(http::field::access_control_allow_origin, allow);
                if (allow != "*") res->set(http::field::vary, "Origin");
                res->set(http::field::access_control_allow_methods, "GET, HEAD, POST, DELETE, OPTIONS");
                const auto asked = msg[http::field::access_control_request_headers];
                res->set(http::field::access_control_allow_headers,
                         asked.empty() ? std::string("Authorization, Content-Type, Range") : std::string(asked));
                res->set(http::field::access_control_max_age, "600");
            }
            res->keep_alive(msg.keep_alive());
            auto self = shared_from_this();
            writing_ = true;
            http::async_write(stream_, *res, [self, res](beast::error_code wec, std::size_t) {
                self->writing_ = false;
                if (wec) return self->hard_close();
                if (!res->keep_alive()) return self->do_close();
                self->do_read();
            });
            return;
        }
        auto req = std::make_shared<Request>();
        const std::string method(msg.method_string());
        req->head = msg.method() == http::verb::head;
        req->method = req->head ? "GET" : method;  // HEAD is GET without the body (RFC 9110 section 9.3.2)
        req->target = std::string(msg.target());
        req->path = req->target.substr(0, req->target.find('?'));
        req->content_type = std::string(msg[http::field::content_type]);
        req->host = std::string(msg[http::field::host]);
        for (const auto& f : msg) req->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        req->body = std::move(msg.body());
        req->remote = remote_;
        auto channel = std::make_shared<Channel>(shared_from_this(), req, method, msg.keep_alive(), state_);
        current_ = channel.get();
        watch_disconnect(channel);
        try {
            state_->handler(req, channel);
        } catch (const std::exception& e) {
            Reply r;
            r.status = 500;
            r.content_type = kVOTable;
            r.body = votable::error_document(std::string("internal error: ") + e.what());
            channel->reply(std::move(r));
        }
    }

    /// Notices a client that closes the connection while its request runs.
    void watch_disconnect(std::shared_ptr<Channel> channel) { arm_watch(std::move(channel), ++watch_generation_); }

    void arm_watch(std::shared_ptr<Channel> channel, std::uint64_t generation) {
        stream_.socket().async_wait(
            tcp::socket::wait_read, [this, self = shared_from_this(), channel, generation](beast::error_code ec) {
                // Cancelled, or completed after its response was done (the bytes
                // seen may be the next request, already being read).
                if (ec || generation != watch_generation_ || closed_) return;
                // The reactor may report readiness spuriously: peek to tell EOF
                // (0), a pipelined request (> 0) and nothing yet (EAGAIN).
                char byte;
                const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
                if (n > 0) return;  // a pipelined request: read after this response
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                    return arm_watch(channel, generation);
                // EOF or reset. With a write in flight, its completion decides:
                // a client that closes right after reading the last byte of a
                // fixed-length body got its whole response.
                if (writing_) {
                    peer_gone_ = true;
                    return;
                }
                // Every announced byte already went out: the response is
                // complete even if the handler has not called finish() yet.
                if (fixed_length_ && body_sent_ == *fixed_length_) return response_done(channel, true, true);
                channel->fail();  // stop the work, close
                write_failed(channel);
            });
    }

    void pump(std::shared_ptr<Channel> channel) {
        // Only the current request's channel writes: a HEAD response is done
        // at its header while its producer may still push.
        if (channel.get() != current_ || writing_ || closed_) return;
        auto item = channel->pop();
        if (!item) return;
        writing_ = true;
        stream_.expires_after(options_.write_timeout);
        auto self = shared_from_this();
        if (auto* r = std::get_if<Reply>(&*item)) {
            // 204 No Content (SODA 1.0 section 5.1) and 304 carry no body,
            // hence neither Content-Type nor Content-Length (RFC 9110
            // section 8.6: a server MUST NOT send Content-Length with 204).
            const bool bodiless = r->status == 204 || r->status == 304 || r->status < 200;
            channel->set_status(r->status);
            if (channel->head()) {
                // RFC 9110 section 9.3.2: GET's header fields, no content.
                header_.emplace(static_cast<http::status>(r->status), version_);
                header_->set(http::field::server, options_.server_name);
                if (!bodiless && !r->content_type.empty()) header_->set(http::field::content_type, r->content_type);
                apply_headers(*header_, r->headers);
                add_cors(*header_, *channel);
                header_->keep_alive(channel->keep_alive());
                if (!bodiless) header_->content_length(r->body.size());
                serializer_.emplace(*header_);
                http::async_write_header(stream_, *serializer_, [self, channel](beast::error_code ec, std::size_t) {
                    self->writing_ = false;
                    self->response_done(channel, !ec, !channel->keep_alive());
                });
                return;
            }
            auto res =
                std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r->status), version_);
            res->set(http::field::server, options_.server_name);
            if (!bodiless && !r->content_type.empty()) res->set(http::field::content_type, r->content_type);
            apply_headers(*res, r->headers);
            add_cors(*res, *channel);
            res->keep_alive(channel->keep_alive());
            if (!bodiless) {
                res->body() = std::move(r->body);
                res->prepare_payload();
            }
            const std::size_t n = res->body().size();
            http::async_write(stream_, *res, [self, res, channel, n](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                channel->sent(n, 0, 0);
                self->response_done(channel, !ec, !res->keep_alive());
            });
        } else if (auto* h = std::get_if<StreamHeader>(&*item)) {
            std::string body;
            std::size_t queued = 0;
            if (!channel->head() && !h->content_length && channel->take_whole_body(body, queued)) {
                // Issue 14: the whole response is queued already (a small
                // result): header, one chunk and the last chunk go out in one
                // write instead of three (the same chunked framing; chunk
                // boundaries carry no meaning, RFC 9112 section 7.1).
                http::response<http::empty_body> head(static_cast<http::status>(h->status), version_);
                head.set(http::field::server, options_.server_name);
                head.set(http::field::content_type, h->content_type);
                apply_headers(head, h->headers);
                add_cors(head, *channel);
                head.keep_alive(channel->keep_alive());
                head.chunked(true);
                // The header as the serializer writes it (Beast's operator<<
                // uses the same field writer), then the chunks by hand.
                std::ostringstream header_text;
                header_text << head.base();
                auto wire = std::make_shared<std::string>(header_text.str());
                const std::size_t n = body.size();
                if (n > 0) {
                    char size[20];
                    const auto r = std::to_chars(size, size + sizeof size, n, 16);
                    wire->append(size, r.ptr);
                    *wire += "\r\n";
                    *wire += body;
                    *wire += "\r\n";
                }
                *wire += "0\r\n\r\n";
                channel->set_status(h->status);
                net::async_write(stream_, net::buffer(*wire),
                                 [self, wire, channel, n, queued](beast::error_code ec, std::size_t) {
                                     self->writing_ = false;
                                     channel->sent(n, queued, 0);
                                     self->response_done(channel, !ec, !channel->keep_alive());
                                 });
                return;
            }
            header_.emplace(static_cast<http::status>(h->status), version_);
            header_->set(http::field::server, options_.server_name);
            header_->set(http::field::content_type, h->content_type);
            apply_headers(*header_, h->headers);
            add_cors(*header_, *channel);
            header_->keep_alive(channel->keep_alive());
            fixed_length_ = h->content_length;
            body_sent_ = 0;
            if (fixed_length_)
                header_->content_length(*fixed_length_);
            else
                header_->chunked(true);
            serializer_.emplace(*header_);
            channel->set_status(h->status);
            http::async_write_header(stream_, *serializer_, [self, channel](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                if (ec || self->peer_gone_) return self->write_failed(channel);
                if (channel->head()) {
                    // HEAD: the header fields were the whole response; stop the producer.
                    channel->discard();
                    return self->response_done(channel, true, !channel->keep_alive());
                }
                self->pump(channel);
            });
        } else if (auto* region = std::get_if<FileRegion>(&*item)) {
            if (!fixed_length_) {  // Channel::write_file queues regions for identity bodies only
                writing_ = false;
                return write_failed(channel);
            }
            send_region(std::move(channel), std::move(*region));
        } else if (std::holds_alternative<std::string>(*item) || std::holds_alternative<SpoolChunk>(*item)) {
            std::size_t queued = 0, spooled = 0;
            if (auto* s = std::get_if<std::string>(&*item)) {
                chunk_ = std::move(*s);
                queued = chunk_.size();
            } else {
                const auto& c = std::get<SpoolChunk>(*item);
                if (!channel->read_spool(c, chunk_)) {
                    spdlog::error("cannot read a spool file: {}", std::strerror(errno));
                    writing_ = false;
                    return write_failed(channel);
                }
                spooled = c.size;
            }
            const std::size_t bytes = chunk_.size();
            auto done = [self, channel, bytes, queued, spooled](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                channel->sent(bytes, queued, spooled);
                if (ec) return self->write_failed(channel);
                const bool body_complete = self->fixed_length_ && self->body_sent_ == *self->fixed_length_;
                if (self->peer_gone_ && !body_complete) return self->write_failed(channel);
                self->pump(channel);
            };
            if (fixed_length_) {
                // Identity body: never more than announced.
                const std::uint64_t room = *fixed_length_ - body_sent_;
                if (chunk_.size() > room) chunk_.resize(static_cast<std::size_t>(room));
                body_sent_ += chunk_.size();
                net::async_write(stream_, net::buffer(chunk_), std::move(done));
            } else {
                net::async_write(stream_, http::make_chunk(net::buffer(chunk_)), std::move(done));
            }
        } else if (fixed_length_) {
            // End of an identity body: complete only if every announced byte
            // went out; otherwise close so the client sees the truncation.
            writing_ = false;
            const bool complete = body_sent_ == *fixed_length_;
            if (!complete)
                spdlog::warn("streamed response ended after {} of {} announced bytes; closing the connection",
                             body_sent_, *fixed_length_);
            response_done(channel, true, !complete || !channel->keep_alive() || peer_gone_);
        } else {
            net::async_write(stream_, http::make_chunk_last(), [self, channel](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                self->response_done(channel, !ec, !channel->keep_alive());
            });
        }
    }

    /// Sends a queued file region with sendfile(2), page cache to socket
    /// (Linux; the socket is non-blocking under Asio): as much as the socket
    /// takes, kSendfileTurn bytes per turn of the I/O thread; when the socket
    /// is full, waits for it to be writable again, at most write_timeout
    /// (then the connection is closed, as for any write that makes no
    /// progress). Never more than the announced Content-Length. A file that
    /// ends before the region does closes the connection (short body).
    void send_region(std::shared_ptr<Channel> channel, FileRegion region) {
        if (closed_) return;
        auto& socket = stream_.socket();
        if (!socket.native_non_blocking()) {
            beast::error_code ec;
            socket.native_non_blocking(true, ec);
        }
        region.count = std::min(region.count, *fixed_length_ - body_sent_);
        std::uint64_t this_turn = 0;
        while (region.count > 0) {
            if (this_turn >= kSendfileTurn) {
                net::post(stream_.get_executor(), [self = shared_from_this(), channel = std::move(channel),
                                                   region = std::move(region)]() mutable {
                    self->send_region(std::move(channel), std::move(region));
                });
                return;
            }
            auto offset = static_cast<off_t>(region.offset);
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(region.count, kSendfileTurn));
            const ssize_t n = ::sendfile(socket.native_handle(), region.file->fd(), &offset, want);
            if (n > 0) {
                const auto sent = static_cast<std::uint64_t>(n);
                region.offset += sent;
                region.count -= sent;
                body_sent_ += sent;
                this_turn += sent;
                channel->sent(static_cast<std::size_t>(sent), 0, 0);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return wait_writable(std::move(channel), std::move(region));
            if (n == 0)
                spdlog::warn("{}: a file ended {} bytes before the region being sent; closing", remote_, region.count);
            writing_ = false;
            return write_failed(channel);  // the peer is gone (EPIPE, ECONNRESET), or the file shrank
        }
        writing_ = false;
        const bool body_complete = body_sent_ == *fixed_length_;
        if (peer_gone_ && !body_complete) return write_failed(channel);
        pump(channel);
    }

    /// send_region's wait for room in the socket's send buffer.
    void wait_writable(std::shared_ptr<Channel> channel, FileRegion region) {
        region_timer_.expires_after(options_.write_timeout);
        region_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec) return;  // cancelled: the socket became writable
            spdlog::warn("{}: client read nothing for {} s of a file body; closing", self->remote_,
                         self->options_.write_timeout.count());
            beast::error_code ignored;
            self->stream_.socket().cancel(ignored);
        });
        stream_.socket().async_wait(tcp::socket::wait_write,
                                    [self = shared_from_this(), channel = std::move(channel),
                                     region = std::move(region)](beast::error_code ec) mutable {
                                        self->region_timer_.cancel();
                                        if (ec) {
                                            self->writing_ = false;
                                            return self->write_failed(channel);
                                        }
                                        self->send_region(std::move(channel), std::move(region));
                                    });
    }

    void write_failed(std::shared_ptr<Channel> channel) {
        if (closed_) return;
        channel->fail();
        channel->log_done(false);
        if (channel.get() == current_) current_ = nullptr;
        hard_close();
    }

    void response_done(std::shared_ptr<Channel> channel, bool ok, bool close) {
        if (!ok) return write_failed(std::move(channel));
        channel->log_done(true);
        if (channel.get() == current_) current_ = nullptr;
        header_.reset();
        serializer_.reset();
        fixed_length_.reset();
        std::string().swap(chunk_);
        beast::error_code ec;
        ++watch_generation_;          // a late watch completion is now stale
        stream_.socket().cancel(ec);  // ends the disconnect watch
        if (close || peer_gone_) return do_close();
        do_read();
    }

    /// Graceful close after the last response (RFC 9112 section 9.6): stop
    /// sending, then read and drop what the client still sends for a short
    /// while, so that closing with unread bytes does not reset the
    /// connection before the client has read the response.
    void do_close() {
        if (closed_) return;
        closed_ = true;
        current_ = nullptr;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) return hard_close();
        stream_.expires_after(std::chrono::seconds(2));
        drain();
    }
    void drain() {
        stream_.async_read_some(net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->hard_close();
            self->drain();
        });
    }
    void hard_close() {
        closed_ = true;
        current_ = nullptr;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    std::shared_ptr<ServerState> state_;
    const HttpOptions& options_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    /// The channel whose response is being sent; not owning (the channel owns
    /// its session), so that the two never keep each other alive.
    const Channel* current_ = nullptr;
    std::optional<http::response<http::empty_body>> header_;
    std::optional<http::response_serializer<http::empty_body>> serializer_;
    std::string chunk_;
    std::array<char, 16 * 1024> drain_{};
    net::steady_timer region_timer_;             ///< write_timeout of send_region's waits
    std::optional<std::uint64_t> fixed_length_;  ///< Content-Length of the current streamed response
    std::uint64_t body_sent_ = 0;                ///< body bytes of it handed to the socket
    std::string remote_;
    unsigned version_ = 11;
    bool writing_ = false;
    bool closed_ = false;
    bool peer_gone_ = false;  ///< EOF/reset seen while a write was in flight
    std::uint64_t watch_generation_ = 0;
};

// ---------------------------------------------------------------------------
// Channel, continued

void Channel::push(Item item, std::size_t queued) {
    {
        std::lock_guard lk(mutex_);
        if (failed_) return;
        queued_bytes_ += queued;
        queue_.push_back(std::move(item));
    }
    session_->kick(shared_from_this());
}

std::size_t Channel::reserve_spool(std::size_t want) {
    const auto& o = state_->options;
    if (spool_unusable_ || o.spool_bytes_per_response == 0 || o.spool_bytes_total == 0) return 0;
    if (!spool_) {
        spool_ = std::make_unique<Spool>();
        if (!spool_->open(state_->spool_dir)) {
            spool_unusable_ = true;
            return 0;
        }
    }
    const std::uint64_t own =
        o.spool_bytes_per_response > spool_reserved_ ? o.spool_bytes_per_response - spool_reserved_ : 0;
    const std::uint64_t n = std::min<std::uint64_t>(want, own);
    if (n == 0) return 0;
    std::uint64_t total = state_->spool_bytes.load();
    std::uint64_t k = 0;
    do {
        const std::uint64_t room = o.spool_bytes_total > total ? o.spool_bytes_total - total : 0;
        k = std::min(n, room);
        if (k == 0) return 0;
    } while (!state_->spool_bytes.compare_exchange_weak(total, total + k));
    spool_reserved_ += k;
    return static_cast<std::size_t>(k);
}

void Channel::write(std::string_view data) {
    if (data.empty()) return;
    const auto timeout = state_->options.write_timeout;
    std::unique_lock lk(mutex_);
    std::uint64_t progress = progress_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!data.empty()) {
        if (failed_) {
            cancel_ = true;
            throw votable::SinkClosed();
        }
        if (!spool_active_ && queued_bytes_ < state_->options.max_queued_bytes) {
            // Only a queue that was empty needs the session woken (issue 14:
            // a wake-up per chunk cost the worker a tenth of a stream):
            // otherwise a pump is due, the one of the kick that made the queue
            // non-empty, or the completion of the write in flight, which pops
            // the next item.
            const bool was_empty = queue_.empty();
            queued_bytes_ += data.size();
            queue_.emplace_back(std::string(data));
            lk.unlock();
            if (was_empty) session_->kick(shared_from_this());
            return;
        }
        if (spool_when_stalled_ && !spool_active_ && waited_ < kMaxWaitBeforeSpool) {
            // A file-backed body: wait for a client that reads (no spool copy);
            // one that reads nothing for a while goes to the spool as before,
            // so that it does not hold the worker.
            const auto start = std::chrono::steady_clock::now();
            const std::uint64_t before = progress_;
            space_.wait_for(lk, kStallBeforeSpool, [&] {
                return failed_ || progress_ != before || queued_bytes_ < state_->options.max_queued_bytes;
            });
            waited_ += std::chrono::steady_clock::now() - start;
            if (failed_ || queued_bytes_ < state_->options.max_queued_bytes) continue;
            if (progress_ != before) continue;  // reading, not yet below the limit
            spool_when_stalled_ = false;        // stalled: spool from now on
            continue;
        }
        if (const std::size_t n = reserve_spool(data.size()); n > 0) {
            if (!spool_active_) {
                spool_active_ = true;
                queue_.emplace_back(SpoolMark{});
            }
            const std::uint64_t offset = spool_end_;
            producer_writing_ = true;
            lk.unlock();
            const bool ok = spool_->write_at(offset, data.substr(0, n));
            const int err = errno;
            lk.lock();
            producer_writing_ = false;
            if (ok) {
                spool_end_ += n;
                data.remove_prefix(n);
            } else {
                spdlog::warn("cannot write a spool file ({}); the response waits for its client", std::strerror(err));
                spool_unusable_ = true;
                spool_reserved_ -= n;
                state_->spool_bytes -= n;
            }
            lk.unlock();
            session_->kick(shared_from_this());
            lk.lock();
            deadline = std::chrono::steady_clock::now() + timeout;
            continue;
        }
        // Memory queue and spool are full: wait for the client to read, as
        // long as it reads something within the write timeout.
        if (state_->stopping.load()) {
            failed_ = true;  // nobody will drain the queue any more
            continue;
        }
        const auto now = std::chrono::steady_clock::now();
        if (progress_ != progress) {
            progress = progress_;
            deadline = now + timeout;
        } else if (now >= deadline) {
            failed_ = true;
            cancel_ = true;
            lk.unlock();
            spdlog::warn("{}: client read nothing for {} s with the response's memory queue and spool full; closing",
                         request_->remote, timeout.count());
            session_->abort(shared_from_this());
            throw votable::SinkClosed();
        }
        space_.wait_for(lk, std::chrono::milliseconds(200));
    }
}

std::optional<Item> Channel::pop() {
    bool notify = false;
    std::optional<Item> out;
    {
        std::lock_guard lk(mutex_);
        while (!queue_.empty()) {
            if (std::holds_alternative<SpoolMark>(queue_.front())) {
                if (spool_read_ < spool_end_) {
                    const auto n =
                        static_cast<std::size_t>(std::min<std::uint64_t>(kSpoolRead, spool_end_ - spool_read_));
                    out = Item(SpoolChunk{spool_read_, n});
                    spool_read_ += n;
                    break;
                }
                if (producer_writing_) break;  // more is coming: its kick pumps again
                // Every spooled byte is sent: back to the memory queue.
                queue_.pop_front();
                spool_active_ = false;
                spool_->clear();
                state_->spool_bytes -= spool_reserved_;
                spool_reserved_ = 0;
                spool_end_ = spool_read_ = spool_freed_ = 0;
                notify = true;
                continue;
            }
            out = std::move(queue_.front());
            queue_.pop_front();
            break;
        }
    }
    if (notify) space_.notify_all();
    return out;
}

void Channel::write_file(std::shared_ptr<const OpenFile> file, std::uint64_t offset, std::uint64_t count) {
    if (count == 0) return;
    {
        std::unique_lock lk(mutex_);
        if (failed_) {
            cancel_ = true;
            throw votable::SinkClosed();
        }
        if (identity_body_ && !spool_active_) {
            const bool was_empty = queue_.empty();
            queue_.emplace_back(FileRegion{std::move(file), offset, count});
            lk.unlock();
            if (was_empty) session_->kick(shared_from_this());
            return;
        }
    }
    ResponseChannel::write_file(std::move(file), offset, count);
}

bool Channel::take_whole_body(std::string& body, std::size_t& queued) {
    std::lock_guard lk(mutex_);
    if (spool_active_ || queue_.empty() || !std::holds_alternative<LastChunk>(queue_.back())) return false;
    std::size_t total = 0;
    for (std::size_t i = 0; i + 1 < queue_.size(); ++i) {
        const auto* s = std::get_if<std::string>(&queue_[i]);
        if (!s) return false;
        total += s->size();
    }
    body.clear();
    body.reserve(total);
    for (std::size_t i = 0; i + 1 < queue_.size(); ++i) body += std::get<std::string>(queue_[i]);
    queue_.clear();
    queued = total;
    return true;
}

void Channel::sent(std::size_t bytes, std::size_t queued, std::size_t spooled) {
    {
        std::lock_guard lk(mutex_);
        queued_bytes_ -= std::min(queued, queued_bytes_);
        body_bytes_ += bytes;
        ++progress_;
        // Give back the disk blocks of what went out, in large aligned steps.
        if (spooled > 0 && punch_ok_ && spool_read_ >= spool_freed_ + kSpoolRelease) {
            const std::uint64_t to = spool_read_ / kSpoolAlign * kSpoolAlign;
            if (spool_->release(spool_freed_, to)) {
                const std::uint64_t freed = to - spool_freed_;
                spool_freed_ = to;
                spool_reserved_ -= freed;
                state_->spool_bytes -= freed;
            } else {
                punch_ok_ = false;  // given back when the spool is drained
            }
        }
        if (failed_) queued_bytes_ = 0;
    }
    space_.notify_all();
}

}  // namespace

// ---------------------------------------------------------------------------
// OpenFile, ResponseChannel

OpenFile::~OpenFile() { ::close(fd_); }

void ResponseChannel::write_file(std::shared_ptr<const OpenFile> file, std::uint64_t offset, std::uint64_t count) {
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(count, 256 * 1024)), '\0');
    while (count > 0) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(count, buf.size()));
        const ssize_t n = ::pread(file->fd(), buf.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error(std::string("cannot read a file being sent: ") + std::strerror(errno));
        if (n == 0) return;  // the file shrank: a short body
        write(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        offset += static_cast<std::uint64_t>(n);
        count -= static_cast<std::uint64_t>(n);
    }
}

// ---------------------------------------------------------------------------
// HttpServer

struct HttpServer::Impl {
    std::shared_ptr<ServerState> state = std::make_shared<ServerState>();
    net::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    std::vector<std::thread> threads;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;

    void do_accept() {
        acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                if (ec == net::error::operation_aborted) return;
                spdlog::warn("accept: {}", ec.message());
            } else {
                std::make_shared<Session>(std::move(socket), state)->run();
            }
            do_accept();
        });
    }
};

HttpServer::HttpServer(HttpOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
    auto& st = *impl_->state;
    st.options = std::move(options);
    st.handler = std::move(handler);
    st.spool_dir = st.options.spool_dir;
    if (st.spool_dir.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        st.spool_dir = tmp && *tmp ? tmp : "/tmp";
    }
}

HttpServer::~HttpServer() { stop(); }

unsigned short HttpServer::listen() {
    auto& im = *impl_;
    if (im.acceptor) return im.acceptor->local_endpoint().port();
    const auto& options = im.state->options;
    im.state->access_log.open(options);
    beast::error_code ec;
    const auto address = net::ip::make_address(options.host, ec);
    if (ec) throw std::runtime_error("bad listen address \"" + options.host + "\": " + ec.message());
    const tcp::endpoint endpoint(address, options.port);
    im.acceptor.emplace(im.ioc);
    const std::string where = options.host + ":" + std::to_string(options.port);
    im.acceptor->open(endpoint.protocol(), ec);
    if (!ec) im.acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) im.acceptor->bind(endpoint, ec);
    if (!ec) im.acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        im.acceptor.reset();  // a later listen() tries again instead of reporting a dead acceptor
        throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
    return im.acceptor->local_endpoint().port();
}

unsigned short HttpServer::start() {
    auto& im = *impl_;
    const unsigned short port = listen();
    im.do_accept();
    im.guard.emplace(im.ioc.get_executor());
    // spdlog's registry is made on first use; make it here, before the I/O
    // threads, so that their first log lines do not race on its construction
    // (ThreadSanitizer, server_tests: two I/O threads logging first at once).
    (void)spdlog::default_logger_raw();
    for (int i = 0; i < std::max(1, im.state->options.threads); ++i) im.threads.emplace_back([&im] { im.ioc.run(); });
    return port;
}

void HttpServer::wait(bool handle_signals) {
    auto& im = *impl_;
    if (handle_signals) {
        net::signal_set signals(im.ioc, SIGINT, SIGTERM, SIGHUP);
        std::mutex m;
        std::condition_variable cv;
        bool fired = false;
        std::function<void(beast::error_code, int)> on_signal = [&](beast::error_code ec, int sig) {
            if (!ec && sig == SIGHUP) {
                spdlog::info("SIGHUP received, reopening the access log");
                im.state->access_log.reopen();
                signals.async_wait(on_signal);
                return;
            }
            if (!ec) spdlog::info("signal {} received, stopping", sig);
            std::lock_guard lk(m);
            fired = true;
            cv.notify_all();
        };
        signals.async_wait(on_signal);
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return fired || im.ioc.stopped(); });
        lk.unlock();
        stop();
        return;
    }
    for (auto& t : im.threads)
        if (t.joinable()) t.join();
}

void HttpServer::reopen_access_log() { impl_->state->access_log.reopen(); }

void HttpServer::stop() {
    if (!impl_) return;
    auto& im = *impl_;
    im.state->stopping = true;
    im.guard.reset();
    im.ioc.stop();
    for (auto& t : im.threads)
        if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    im.threads.clear();
    // Only now, with no I/O thread left to run the accept handler (which
    // re-arms async_accept on the acceptor), is closing it race-free.
    if (im.acceptor) {
        beast::error_code ec;
        im.acceptor->close(ec);
    }
}

}  // namespace vo::server
