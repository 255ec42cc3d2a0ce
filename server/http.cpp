// HTTP server on Boost.Beast, in the style of Beast's "advanced server"
// example: a listener, one Session per connection on its own strand, read
// timeouts, keep-alive. Responses may be produced from worker threads through
// a ResponseChannel that queues items and writes them on the strand; a
// streamed body is chunked, or sent as is after a known Content-Length.
#include "server/http.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
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

class Session;

struct StreamHeader {
    unsigned status;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::uint64_t> content_length;  ///< none: chunked
};
struct LastChunk {};
using Item = std::variant<Reply, StreamHeader, std::string, LastChunk>;

/// The ResponseChannel of one request on one Session.
class Channel final : public ResponseChannel, public std::enable_shared_from_this<Channel> {
public:
    Channel(std::shared_ptr<Session> session, std::shared_ptr<const Request> request, bool keep_alive,
            std::size_t max_queued, const std::atomic<bool>* stopping)
        : session_(std::move(session)), request_(std::move(request)), keep_alive_(keep_alive),
          max_queued_(max_queued), stopping_(stopping), started_(std::chrono::steady_clock::now()) {}

    void reply(Reply r) override {
        push(Item(std::move(r)), 0);
    }
    void start(unsigned status, std::string content_type,
               std::vector<std::pair<std::string, std::string>> headers,
               std::optional<std::uint64_t> content_length) override {
        push(Item(StreamHeader{status, std::move(content_type), std::move(headers), content_length}), 0);
    }
    void write(std::string_view data) override {
        if (data.empty()) return;
        {
            std::unique_lock lk(mutex_);
            // Wait for the I/O thread to drain the queue; give up when the
            // server stops (nobody will drain it any more).
            while (!space_.wait_for(lk, std::chrono::milliseconds(200),
                                    [&] { return failed_ || queued_bytes_ < max_queued_; })) {
                if (stopping_ && stopping_->load()) failed_ = true;
            }
            if (failed_) {
                cancel_ = true;
                throw votable::SinkClosed();
            }
        }
        push(Item(std::string(data)), data.size());
    }
    void finish() override { push(Item(LastChunk{}), 0); }
    bool cancelled() const override { return cancel_.load(); }
    const std::atomic<bool>& cancel_flag() const override { return cancel_; }

    /// The client went away (seen by the disconnect watch or a failed write).
    void fail() {
        {
            std::lock_guard lk(mutex_);
            failed_ = true;
        }
        cancel_ = true;
        space_.notify_all();
    }

    // Used by the Session on its strand.
    std::optional<Item> pop() {
        std::lock_guard lk(mutex_);
        if (queue_.empty()) return std::nullopt;
        Item it = std::move(queue_.front());
        queue_.pop_front();
        return it;
    }
    void written(std::size_t bytes, std::size_t queued) {
        {
            std::lock_guard lk(mutex_);
            queued_bytes_ -= queued;
            body_bytes_ += bytes;
        }
        space_.notify_all();
    }
    void set_status(unsigned s) { status_ = s; }
    void log_done(bool ok) {
        if (logged_.exchange(true)) return;  // once per request
        const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
        spdlog::info("{} {} {} {} {:.2f}ms{}", request_->method, request_->path, status_, body_bytes_, ms,
                     ok ? "" : " (client gone)");
    }
    bool keep_alive() const { return keep_alive_; }

private:
    void push(Item item, std::size_t queued);

    std::shared_ptr<Session> session_;
    std::shared_ptr<const Request> request_;
    bool keep_alive_;
    std::size_t max_queued_;
    const std::atomic<bool>* stopping_;
    std::chrono::steady_clock::time_point started_;
    std::mutex mutex_;
    std::condition_variable space_;
    std::deque<Item> queue_;
    std::size_t queued_bytes_ = 0;
    std::uint64_t body_bytes_ = 0;
    bool failed_ = false;
    std::atomic<bool> cancel_{false};
    std::atomic<bool> logged_{false};
    unsigned status_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, const HttpOptions& options, const Handler& handler, const std::atomic<bool>& stopping)
        : stream_(std::move(socket)), options_(options), handler_(handler), stopping_(stopping) {
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

private:
    void do_read() {
        parser_.emplace();
        parser_->body_limit(options_.body_limit);
        parser_->header_limit(64 * 1024);
        stream_.expires_after(options_.read_timeout);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) return do_close();
        if (ec == http::error::body_limit || ec == http::error::header_limit) {
            // Answer and close: the rest of the request is not read.
            auto req = std::make_shared<Request>();
            req->method = "?";
            req->path = "?";
            auto ch = std::make_shared<Channel>(shared_from_this(), req, false, options_.max_queued_bytes, &stopping_);
            Reply r;
            r.status = 413;
            r.content_type = "application/x-votable+xml";
            r.body = votable::error_document(ec == http::error::body_limit
                                                 ? "request body larger than the limit of " +
                                                       std::to_string(options_.body_limit) + " bytes"
                                                 : "request header too large");
            ch->reply(std::move(r));
            return;
        }
        if (ec) return;  // timeout, reset, malformed request: close

        stream_.expires_never();
        auto msg = parser_->release();
        auto req = std::make_shared<Request>();
        req->method = std::string(msg.method_string());
        req->target = std::string(msg.target());
        req->path = req->target.substr(0, req->target.find('?'));
        req->content_type = std::string(msg[http::field::content_type]);
        req->host = std::string(msg[http::field::host]);
        req->body = std::move(msg.body());
        req->remote = remote_;
        version_ = msg.version();
        auto channel = std::make_shared<Channel>(shared_from_this(), req, msg.keep_alive(), options_.max_queued_bytes, &stopping_);
        watch_disconnect(channel);
        try {
            handler_(req, channel);
        } catch (const std::exception& e) {
            Reply r;
            r.status = 500;
            r.content_type = "application/x-votable+xml";
            r.body = votable::error_document(std::string("internal error: ") + e.what());
            channel->reply(std::move(r));
        }
    }

    /// Notices a client that closes the connection while its request runs.
    void watch_disconnect(std::shared_ptr<Channel> channel) { arm_watch(std::move(channel), ++watch_generation_); }

    void arm_watch(std::shared_ptr<Channel> channel, std::uint64_t generation) {
        stream_.socket().async_wait(tcp::socket::wait_read, [this, self = shared_from_this(), channel, generation](beast::error_code ec) {
            // Cancelled, or completed after its response was done (the bytes
            // seen may be the next request, already being read).
            if (ec || generation != watch_generation_ || closed_) return;
            // The reactor may report readiness spuriously: peek to tell EOF
            // (0), a pipelined request (> 0) and nothing yet (EAGAIN).
            char byte;
            const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n > 0) return;  // a pipelined request: read after this response
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return arm_watch(channel, generation);
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
        if (writing_ || closed_) return;
        auto item = channel->pop();
        if (!item) return;
        writing_ = true;
        stream_.expires_after(options_.write_timeout);
        auto self = shared_from_this();
        if (auto* r = std::get_if<Reply>(&*item)) {
            auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r->status), version_);
            res->set(http::field::server, options_.server_name);
            // 204 No Content (SODA 1.0 section 5.1) and 304 carry no body,
            // hence neither Content-Type nor Content-Length (RFC 9110
            // section 8.6: a server MUST NOT send Content-Length with 204).
            const bool bodiless = r->status == 204 || r->status == 304 || r->status < 200;
            if (!bodiless && !r->content_type.empty()) res->set(http::field::content_type, r->content_type);
            for (auto& [k, v] : r->headers) res->set(k, v);
            res->keep_alive(channel->keep_alive());
            if (!bodiless) {
                res->body() = std::move(r->body);
                res->prepare_payload();
            }
            channel->set_status(r->status);
            const std::size_t n = res->body().size();
            http::async_write(stream_, *res, [self, res, channel, n](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                channel->written(n, 0);
                self->response_done(channel, !ec, !res->keep_alive());
            });
        } else if (auto* h = std::get_if<StreamHeader>(&*item)) {
            header_.emplace(static_cast<http::status>(h->status), version_);
            header_->set(http::field::server, options_.server_name);
            header_->set(http::field::content_type, h->content_type);
            for (auto& [k, v] : h->headers) header_->set(k, v);
            header_->keep_alive(channel->keep_alive());
            fixed_length_ = h->content_length;
            body_sent_ = 0;
            if (fixed_length_) header_->content_length(*fixed_length_);
            else header_->chunked(true);
            serializer_.emplace(*header_);
            channel->set_status(h->status);
            http::async_write_header(stream_, *serializer_, [self, channel](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                if (ec || self->peer_gone_) return self->write_failed(channel);
                self->pump(channel);
            });
        } else if (auto* s = std::get_if<std::string>(&*item)) {
            chunk_ = std::move(*s);
            const std::size_t queued = chunk_.size();
            auto done = [self, channel, queued](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                channel->written(queued, queued);
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

    void write_failed(const std::shared_ptr<Channel>& channel) {
        if (closed_) return;
        channel->fail();
        channel->log_done(false);
        closed_ = true;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    void response_done(const std::shared_ptr<Channel>& channel, bool ok, bool close) {
        if (!ok) return write_failed(channel);
        channel->log_done(true);
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

    void do_close() {
        closed_ = true;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    const HttpOptions& options_;
    const Handler& handler_;
    const std::atomic<bool>& stopping_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<http::response<http::empty_body>> header_;
    std::optional<http::response_serializer<http::empty_body>> serializer_;
    std::string chunk_;
    std::optional<std::uint64_t> fixed_length_;  ///< Content-Length of the current streamed response
    std::uint64_t body_sent_ = 0;                ///< body bytes of it handed to the socket
    std::string remote_;
    unsigned version_ = 11;
    bool writing_ = false;
    bool closed_ = false;
    bool peer_gone_ = false;  ///< EOF/reset seen while a write was in flight
    std::uint64_t watch_generation_ = 0;
};

void Channel::push(Item item, std::size_t queued) {
    {
        std::lock_guard lk(mutex_);
        if (failed_ && !std::holds_alternative<Reply>(item) && !std::holds_alternative<LastChunk>(item)) return;
        queued_bytes_ += queued;
        queue_.push_back(std::move(item));
    }
    session_->kick(shared_from_this());
}

}  // namespace

struct HttpServer::Impl {
    HttpOptions options;
    Handler handler;
    net::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    std::vector<std::thread> threads;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
    std::atomic<bool> stopping{false};

    void do_accept() {
        acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                if (ec == net::error::operation_aborted) return;
                spdlog::warn("accept: {}", ec.message());
            } else {
                std::make_shared<Session>(std::move(socket), options, handler, stopping)->run();
            }
            do_accept();
        });
    }
};

HttpServer::HttpServer(HttpOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(); }

unsigned short HttpServer::start() {
    auto& im = *impl_;
    beast::error_code ec;
    const auto address = net::ip::make_address(im.options.host, ec);
    if (ec) throw std::runtime_error("bad listen address \"" + im.options.host + "\": " + ec.message());
    const tcp::endpoint endpoint(address, im.options.port);
    im.acceptor.emplace(im.ioc);
    const std::string where = im.options.host + ":" + std::to_string(im.options.port);
    im.acceptor->open(endpoint.protocol(), ec);
    if (!ec) im.acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) im.acceptor->bind(endpoint, ec);
    if (!ec) im.acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    const unsigned short port = im.acceptor->local_endpoint().port();
    im.do_accept();
    im.guard.emplace(im.ioc.get_executor());
    for (int i = 0; i < std::max(1, im.options.threads); ++i) im.threads.emplace_back([&im] { im.ioc.run(); });
    return port;
}

void HttpServer::wait(bool handle_signals) {
    auto& im = *impl_;
    if (handle_signals) {
        net::signal_set signals(im.ioc, SIGINT, SIGTERM);
        std::mutex m;
        std::condition_variable cv;
        bool fired = false;
        signals.async_wait([&](beast::error_code ec, int sig) {
            if (!ec) spdlog::info("signal {} received, stopping", sig);
            std::lock_guard lk(m);
            fired = true;
            cv.notify_all();
        });
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return fired || im.ioc.stopped(); });
        lk.unlock();
        stop();
        return;
    }
    for (auto& t : im.threads)
        if (t.joinable()) t.join();
}

void HttpServer::stop() {
    if (!impl_) return;
    auto& im = *impl_;
    im.stopping = true;
    if (im.acceptor) {
        beast::error_code ec;
        im.acceptor->close(ec);
    }
    im.guard.reset();
    im.ioc.stop();
    for (auto& t : im.threads)
        if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    im.threads.clear();
}

}  // namespace vo::server
namespace vo::server { void HttpServer::reopen_access_log() {} }
