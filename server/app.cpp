// The voserver web application: routing, TAP sync, VOSI, landing page.
#include "server/app.hpp"
#include "server/dali_error.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "adql/adql.hpp"
#include "obscore/backend.hpp"
#include "obscore/clock.hpp"
#include "obscore/writer.hpp"
#include "server/access.hpp"
#include "server/auth.hpp"
#include "server/auth_api.hpp"
#include "server/datalink.hpp"
#include "server/examples.hpp"
#include "server/params.hpp"
#include "server/query.hpp"
#include "server/tap_request.hpp"
#include "server/uws_endpoint.hpp"
#include "uws/manager.hpp"
#include "server/sia_endpoint.hpp"
#include "server/soda_endpoint.hpp"
#include "server/vosi.hpp"
#include "server/web_assets.hpp"
#include "server/worker_pool.hpp"
#include "soda/params.hpp"
#include "votable/gzip_sink.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

constexpr const char* kXml = "text/xml;charset=UTF-8";
constexpr const char* kHtml = "text/html;charset=UTF-8";
constexpr const char* kVOTable = "application/x-votable+xml";

Reply dali_error(unsigned status, const std::string& message) { return dali_error_reply(status, message); }

Reply document(std::string content_type, std::string body) {
    Reply r;
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return r;
}

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

/// The address part of "address:port" (Request::remote), which is what a
/// per-client limit counts.
std::string client_address(const std::string& remote) {
    const auto colon = remote.rfind(':');
    return colon == std::string::npos ? remote : remote.substr(0, colon);
}

/// The client of a request: the connection's address, or, when that is a
/// trusted proxy, the right-most X-Forwarded-For address (all such header
/// fields in order, comma-separated lists) that is not a trusted proxy
/// (the convention HAProxy's `option forwardfor` and nginx's
/// `proxy_add_x_forwarded_for` follow; RFC 7239 section 5.2 describes it).
std::string client_of(const Request& req, const std::vector<std::string>& trusted_proxies) {
    std::string client = client_address(req.remote);
    if (!client.empty() && client.front() == '[' && client.back() == ']') client = client.substr(1, client.size() - 2);
    if (trusted_proxies.empty()) return client;
    const auto trusted = [&](const std::string& a) {
        const std::string n = normalized_address(a);
        return !n.empty() && std::find(trusted_proxies.begin(), trusted_proxies.end(), n) != trusted_proxies.end();
    };
    if (!trusted(client)) return client;
    std::vector<std::string> chain;
    for (const auto& [name, value] : req.headers) {
        if (!iequals(name, "X-Forwarded-For")) continue;
        std::size_t start = 0;
        while (start <= value.size()) {
            const auto comma = value.find(',', start);
            std::string a = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            a.erase(0, a.find_first_not_of(" \t"));
            a.erase(a.find_last_not_of(" \t") + 1);
            if (!a.empty()) chain.push_back(a);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        client = *it;
        if (!trusted(client)) break;
    }
    return client;
}

}  // namespace

/// A pool of workers with one read-only QueryEngine each (created by its
/// worker on first use).
struct Lane {
    std::unique_ptr<WorkerPool> pool;
    std::vector<std::unique_ptr<QueryEngine>> engines;
    const std::string* database = nullptr;
    EngineLimits limits;

    void start(std::size_t workers, std::size_t max_queued, const std::string& db, EngineLimits l) {
        database = &db;
        limits = l;
        engines.resize(workers);
        pool = std::make_unique<WorkerPool>(workers, max_queued);
    }
    /// The engine of `worker` (opened on first use; throws obscore::StoreError).
    QueryEngine& engine(std::size_t worker) {
        if (!engines[worker]) engines[worker] = std::make_unique<QueryEngine>(*database, limits);
        return *engines[worker];
    }
};

/// Concurrent requests per client address (issue 7 item 2): a slot is held
/// from submission until the request's task ends, through any hand-over
/// between pools.
class ClientSlots {
public:
    explicit ClientSlots(int max) : max_(max) {}
    /// A held slot, or null when `client` already holds the maximum.
    std::shared_ptr<void> acquire(const std::string& client) {
        std::lock_guard lk(mutex_);
        int& n = held_[client];
        if (n >= max_) return nullptr;
        ++n;
        // non-null (operator bool tells a slot from a refusal); the deleter frees the slot
        return std::shared_ptr<void>(static_cast<void*>(this), [this, client](void*) {
            std::lock_guard lk2(mutex_);
            if (--held_[client] <= 0) held_.erase(client);
        });
    }
    int max() const { return max_; }

private:
    int max_;
    std::mutex mutex_;
    std::map<std::string, int> held_;
};

struct App::Impl {
    /// Set when a query found the database unreachable, cleared when one
    /// succeeds (VOSI 1.1 section 3.3 availability).
    std::atomic<bool> database_down{false};
    Config config;
    Lane express;  // cheap queries, and every query's classification
    Lane general;  // queries the planner estimates heavy
    Lane soda;     // SODA cutouts
    std::unique_ptr<ClientSlots> slots;
    EngineLimits engine_limits;
    // UWS (TAP 1.1 section 2.2.2 /async): jobs on the manager's own pool,
    // job-store requests on `control`, result downloads on the soda lane.
    std::unique_ptr<WorkerPool> control;
    std::unique_ptr<uws::JobManager> tap_jobs;
    std::unique_ptr<UwsEndpoint> tap_async;
    std::unique_ptr<uws::JobManager> soda_jobs;  // SODA 1.0 section 3.2 {async}
    std::unique_ptr<UwsEndpoint> soda_async;
    std::unique_ptr<HttpServer> http;
    // issue 12: users, authentication, the guard of product bytes, the audit log
    std::shared_ptr<UserStore> users;
    std::unique_ptr<Authenticator> authenticator;
    std::unique_ptr<AuditLog> audit;
    std::unique_ptr<ProductGuard> guard;
    std::vector<std::string> protected_collections;  ///< collections whose metadata are protected

    /// The door check of a product's bytes for `caller` (ProductGuard::admit).
    AdmitProduct admit_for(const Caller& caller, const std::string& client, const char* action) const {
        return [this, caller, client, action](const std::string& did, const obscore::ProductFile& product,
                                              ResponseChannel& channel) {
            return guard->admit(caller, client, action, did, product, channel);
        };
    }

    /// (Re)creates the UWS endpoints of /tap/async and /soda/async, whose job
    /// URLs derive from config.base_url(); called again by App::start when the
    /// bound port changes that URL (port 0), before any request is accepted.
    void make_async_endpoints() {
        const auto submit_to = [](WorkerPool* pool) {
            return [pool](std::function<void()> task) {
                return pool->try_submit([task = std::move(task)](std::size_t) { task(); });
            };
        };
        const int waiting = config.limits.max_waiting_clients;
        tap_async.reset();
        tap_async = std::make_unique<UwsEndpoint>(*tap_jobs, "/tap/async", config.base_url() + "/tap/async",
                                                  submit_to(control.get()), submit_to(soda.pool.get()), waiting);
        tap_async->set_access(authenticator->challenges(), {});
        soda_async.reset();
        soda_async = std::make_unique<UwsEndpoint>(*soda_jobs, "/soda/async", config.base_url() + "/soda/async",
                                                   submit_to(control.get()), submit_to(soda.pool.get()), waiting);
        // a cutout job of a product the caller may not have is refused at
        // creation (and checked again when it runs: parameters may change)
        soda_async->set_access(authenticator->challenges(),
                               [this](const DaliParams& params, const Caller& caller) -> std::optional<Reply> {
                                   return admit_soda_job(params, caller);
                               });
    }

    /// A ResponseChannel that writes a response into a file instead of a
    /// socket, so that a job runs the very code of the sync endpoint.
    class FileChannel final : public ResponseChannel {
    public:
        FileChannel(std::string path, const std::atomic<bool>* cancel) : path_(std::move(path)), cancel_(cancel) {}
        ~FileChannel() override {
            if (f_) std::fclose(f_);
        }
        void reply(Reply r) override {
            status = r.status;
            content_type = r.content_type;
            body = std::move(r.body);
        }
        void start(unsigned s, std::string ct, std::vector<std::pair<std::string, std::string>>,
                   std::optional<std::uint64_t>) override {
            status = s;
            content_type = std::move(ct);
            f_ = std::fopen(path_.c_str(), "wb");
            if (!f_) throw votable::SinkClosed();
        }
        void write(std::string_view data) override {
            if (cancelled() || !f_ || std::fwrite(data.data(), 1, data.size(), f_) != data.size()) {
                failed = true;
                throw votable::SinkClosed();
            }
        }
        void finish() override {
            if (f_ && std::fclose(f_) != 0) failed = true;
            f_ = nullptr;
            streamed = true;
        }
        bool cancelled() const override { return cancel_ && cancel_->load(); }
        const std::atomic<bool>& cancel_flag() const override { return cancel_ ? *cancel_ : never_; }

        unsigned status = 0;
        std::string content_type, body;
        bool streamed = false, failed = false;

    private:
        std::string path_;
        const std::atomic<bool>* cancel_;
        std::atomic<bool> never_{false};
        std::FILE* f_ = nullptr;
    };

    /// The message of a DALI error VOTable (the text of its QUERY_STATUS INFO).
    static std::string error_message_of(const std::string& votable) {
        const auto b = votable.find("value=\"ERROR\">");
        if (b == std::string::npos) return votable;
        const auto start = b + 15;
        const auto e = votable.find("</INFO>", start);
        std::string m = votable.substr(start, e == std::string::npos ? std::string::npos : e - start);
        for (const auto& [esc, c] : std::vector<std::pair<std::string, std::string>>{
                 {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}})
            for (std::size_t i; (i = m.find(esc)) != std::string::npos;) m.replace(i, esc.size(), c);
        return m;
    }

    /// The executor of /soda/async jobs (SODA 1.0 section 3.2): the sync
    /// endpoint's code into a file; no overlap is a text/plain result saying
    /// so (SODA 1.0 section 5.1: an async job always has a result then).
    std::vector<uws::ProducedResult> run_soda_job(const uws::Job& job, const uws::ExecContext& ctx) {
        DaliParams params;
        for (const auto& [k, v] : job.parameters) params.add(k, v);
        SodaRequest request;
        try {
            request = parse_soda_request(params);
        } catch (const soda::SodaError& e) {
            throw uws::JobFailure(e.what());
        } catch (const ParamError& e) {
            throw uws::JobFailure(std::string("UsageError: ") + e.what());
        }
        thread_local std::unique_ptr<QueryEngine> engine;  // the store, one per job worker thread
        if (!engine) engine = std::make_unique<QueryEngine>(config.archive.query_database, engine_limits);
        const std::string path = ctx.result_dir + "/result";
        FileChannel out(path, ctx.cancel);
        // issue 12: the owner's rights now (the parameters may have changed
        // since creation, a delegation may have been withdrawn)
        const Caller owner = authenticator->caller_named(job.owner);
        const AdmitProduct admit = [&](const std::string& did, const obscore::ProductFile& product, ResponseChannel&) {
            unsigned status = 0;
            const std::string refusal = guard->check(owner, "job " + job.id, "cutout-async", did, product, status);
            if (!refusal.empty()) throw uws::JobFailure(refusal);
            return true;
        };
        run_soda_sync(request, VisibleProducts(engine->backend(), row_visibility(owner, protected_collections)), out,
                      admit);
        if (out.status == 204) {
            std::FILE* f = std::fopen(path.c_str(), "wb");
            const std::string msg =
                "NoOverlap: the cutout of " + request.id + " is empty (no pixel in the region asked for)\n";
            if (!f || std::fwrite(msg.data(), 1, msg.size(), f) != msg.size())
                throw uws::JobFailure("cannot write the result");
            std::fclose(f);
            return {{"result", "text/plain;charset=UTF-8", path}};
        }
        if (out.status != 200) throw uws::JobFailure(error_message_of(out.body));
        if (out.failed) throw uws::JobFailure(out.cancelled() ? "cancelled" : "the cutout could not be written");
        if (!out.streamed) {  // a small cutout comes whole
            std::FILE* f = std::fopen(path.c_str(), "wb");
            if (!f || std::fwrite(out.body.data(), 1, out.body.size(), f) != out.body.size())
                throw uws::JobFailure("the cutout could not be written");
            std::fclose(f);
        }
        return {{"result", out.content_type, path}};
    }

    /// The executor of /tap/async jobs: the job's parameters through the same
    /// request layer as /tap/sync, the result written to a file.
    std::vector<uws::ProducedResult> run_tap_job(const uws::Job& job, const uws::ExecContext& ctx) {
        DaliParams params;
        for (const auto& [k, v] : job.parameters) params.add(k, v);
        // inline uploads were kept as the job's input files (UwsEndpoint)
        for (auto& [name, content] : uws::read_input_files(ctx.input_dir))
            params.files.push_back({name, name, "application/x-votable+xml", std::move(content)});
        TapRequest t;
        try {
            t = parse_tap_request(params, config.limits);
        } catch (const ParamError& e) {
            throw uws::JobFailure(e.what());
        }
        t.query.datalink_base_url = config.base_url();
        // issue 12 item 3: the rows the job's owner may see
        t.query.visibility = row_visibility(authenticator->caller_named(job.owner), protected_collections);
        t.query.cancel = ctx.cancel;
        t.query.deadline = ctx.deadline;
        t.query.deadline_reason = "the execution duration of this job (" + std::to_string(job.execution_duration) +
                                  " s, EXECUTIONDURATION; at most " + std::to_string(config.limits.async_max_seconds) +
                                  " s here)";
        thread_local std::unique_ptr<QueryEngine> engine;  // one per job worker thread
        if (!engine) engine = std::make_unique<QueryEngine>(config.archive.query_database, engine_limits);
        const std::string path = ctx.result_dir + "/result";
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (!f) throw uws::JobFailure("cannot write the result file of this job");
        bool write_failed = false;
        QueryOutcome outcome;
        try {
            outcome = engine->run(t.query, nullptr, [&](std::string_view chunk) {
                if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) write_failed = true;
            });
        } catch (const adql::AdqlError& e) {
            std::fclose(f);
            throw uws::JobFailure(e.what());
        } catch (const QueryError& e) {
            std::fclose(f);
            throw uws::JobFailure(e.what());
        }
        if (std::fclose(f) != 0 || write_failed) throw uws::JobFailure("the result could not be written (disk full?)");
        if (outcome.error) throw uws::JobFailure(*outcome.error);
        return {{"result", t.content_type, path}};
    }

    /// The VOSI documents and pages made from the store's catalogue and
    /// counts. Rebuilt when an ingest has committed to the store since they
    /// were made (checked on each request for one of them: one PRAGMA), so
    /// /tables, TAP_SCHEMA-based documents and the landing page follow the
    /// store without a restart.
    struct Documents {
        std::string capabilities;
        std::string tableset_max, tableset_min;
        std::map<std::string, std::string> table_docs;  // lower-case qualified name -> document
        std::string landing;
        std::string tap_page;
        std::string soda_capabilities;      // SODA 1.0 section 2.5
        std::string datalink_capabilities;  // DataLink 1.1 section 2.3
        std::string sia_capabilities;       // SIA 2.0 section 2.3
        std::string soda_html;
    };
    std::mutex docs_mutex;
    std::unique_ptr<obscore::QueryBackend> docs_backend;  // read-only, used under docs_mutex
    std::shared_ptr<const Documents> docs_current;

    /// The current documents (rebuilt first if the store changed).
    std::shared_ptr<const Documents> docs() {
        std::lock_guard lock(docs_mutex);
        try {
            if (docs_backend && docs_backend->refresh_if_changed()) docs_current = make_documents(*docs_backend);
        } catch (const std::exception& e) {
            spdlog::error("cannot rebuild the VOSI documents after a change of the store: {}", e.what());
        }
        return docs_current;
    }

    /// Builds the documents from scratch (start-up, and after the bound port is known).
    void build_documents() {
        std::lock_guard lock(docs_mutex);
        if (!docs_backend) docs_backend = obscore::open_query_backend(config.archive.query_database);
        docs_backend->refresh_if_changed();
        docs_current = make_documents(*docs_backend);
    }

    std::shared_ptr<const Documents> make_documents(const obscore::QueryBackend& backend) const {
        auto d = std::make_shared<Documents>();
        const adql::Catalog& catalog = backend.catalog();
        d->capabilities = capabilities_document(config, backend.udfs());
        const auto keys = backend.foreign_keys();
        d->tableset_max = tableset_document(catalog, false, keys);
        d->tableset_min = tableset_document(catalog, true);
        for (const auto& t : catalog.tables()) d->table_docs[lower(qualified_name(t))] = table_document(t, keys);

        std::vector<CollectionSummary> summaries;
        // the landing page counts what an anonymous visitor may see (issue 12 item 3)
        const auto counts = backend.collection_counts(row_visibility(Caller{}, protected_collections));
        long long total = 0;
        for (const auto& [name, n] : counts) total += n;
        for (const auto& c : config.collections) {
            auto it = counts.find(c.name);
            summaries.push_back({c.name, c.description, it == counts.end() ? 0 : it->second});
        }
        for (const auto& [name, n] : counts) {
            bool configured = false;
            for (const auto& c : config.collections) configured = configured || c.name == name;
            if (!configured) summaries.push_back({name, "", n});
        }
        d->landing = landing_page(config, summaries, total);
        d->soda_capabilities = soda_capabilities_document(config);
        d->datalink_capabilities = datalink_capabilities_document(config);
        d->sia_capabilities = sia_capabilities_document(config);
        d->soda_html = soda_page(config);

        const std::string base = votable::xml_escape(config.base_url());
        d->tap_page =
            html_page_start("TAP service") +
            "</head><body>\n"
            "<h1>TAP 1.1 service: " +
            votable::xml_escape(config.archive.title) +
            "</h1>\n"
            "<p>ADQL 2.1 queries over <code>ivoa.obscore</code> (ObsCore 1.1) and <code>TAP_SCHEMA</code>.</p>\n<ul>\n"
            "<li><a href=\"" +
            base + "/tap/sync\">" + base +
            "/tap/sync</a>: synchronous queries (LANG=ADQL, QUERY, MAXREC, RESPONSEFORMAT=votable|csv|tsv)</li>\n"
            "<li><a href=\"" +
            base + "/tap/async\">" + base +
            "/tap/async</a>: asynchronous queries (UWS 1.1 jobs, as TOPCAT and pyvo's run_async use them)</li>\n"
            "<li><a href=\"" +
            base + "/tap/capabilities\">capabilities</a>, <a href=\"" + base + "/tap/tables\">tables</a>, <a href=\"" +
            base + "/tap/availability\">availability</a>, <a href=\"" + base +
            "/tap/examples\">examples</a></li>\n"
            "</ul>\n<p><a href=\"" +
            base + "/\">archive home</a></p>\n</body></html>\n";
        return d;
    }

    /// SODA async creation (issue 12 item 3): each ID's product checked
    /// for `caller`; nullopt = create the job. Runs on a control worker.
    std::optional<Reply> admit_soda_job(const DaliParams& params, const Caller& caller) {
        const auto ids = params.all("ID");
        if (ids.empty()) return std::nullopt;              // the run reports the missing ID
        thread_local std::unique_ptr<QueryEngine> engine;  // this control worker's store
        if (!engine) engine = std::make_unique<QueryEngine>(config.archive.query_database, engine_limits);
        for (const auto& id : ids) {
            const auto product = engine->backend().find_product(id, row_visibility(caller, protected_collections));
            if (!product) continue;  // the run reports an unknown ID
            unsigned status = 0;
            const std::string refusal = guard->check(caller, caller.client, "cutout-async", id, *product, status);
            if (!refusal.empty())
                return status == 401 ? unauthorized_reply(refusal, guard->challenges()) : forbidden_reply(refusal);
        }
        return std::nullopt;
    }

    void tap_sync(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                  const Caller& caller) {
        sync_query(req, channel, caller, "/tap/sync", [this](const DaliParams& params) {
            TapRequest t = parse_tap_request(params, config.limits);
            t.query.datalink_base_url = config.base_url();
            return t;
        });
    }

    /// SIA 2.0 section 2.1: the parameters as one ADQL query on the TAP path.
    void sia_query(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                   const Caller& caller) {
        sync_query(req, channel, caller, "/sia2/query", [this](const DaliParams& params) {
            TapRequest t = parse_sia_request(params, config.limits, config.base_url());
            t.query.datalink_base_url = config.base_url();
            return t;
        });
    }

    /// A synchronous query (TAP sync, SIAv2): `parse` turns the DALI
    /// parameters into the request (throws ParamError -> 400); the query runs
    /// on the express or general lane under the sync time limit and the
    /// per-client slots.
    template <class Parse>
    void sync_query(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                    const Caller& caller, const char* path, Parse parse) {
        if (req->method != "GET" && req->method != "POST") {
            Reply r = dali_error(405, "method " + req->method + " not allowed on " + path + " (use GET or POST)");
            r.headers.emplace_back("Allow", "GET, POST");
            return channel->reply(std::move(r));
        }
        QueryRequest q;
        std::string content_type;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            TapRequest t = parse(params);
            q = std::move(t.query);
            content_type = std::move(t.content_type);
        } catch (const ParamError& e) {
            return channel->reply(dali_error(400, e.what()));
        }
        q.visibility = row_visibility(caller, protected_collections);  // issue 12 item 3
        q.cancel = &channel->cancel_flag();
        const int sync_seconds = std::min(config.limits.max_sync_seconds, config.limits.max_query_seconds);
        q.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(sync_seconds);
        q.deadline_reason = "the " + std::to_string(sync_seconds) +
                            " s execution limit of synchronous queries (limits.max_sync_seconds)";
        auto slot = slots->acquire(caller.client);
        if (!slot) return channel->reply(too_many_from_client());

        // Issue 7 item 2: while a general worker is free the query starts
        // there at once; otherwise it is classified on an express worker from
        // the planner's estimate, cheap ones run there (for at most
        // express_seconds before their first row), the rest wait for the
        // general workers, so a TOP 1 is answered while heavy queries hold
        // them all. (The estimate costs a plan: on PostgreSQL a second one,
        // about 0.4 ms; it is only worth it when the general lane is busy.)
        // RFC 9110 section 8.4.1.3: results gzipped for clients that accept it
        const bool gzip = votable::accepts_gzip(req->header("Accept-Encoding"));
        auto job =
            std::make_shared<QueryJob>(QueryJob{std::move(q), std::move(content_type), channel, std::move(slot), gzip});
        if (general.pool->try_submit_if_idle(general_task(job))) return;
        if (!express.pool->try_submit([this, job](std::size_t worker) { classify_and_run(job, worker); }))
            channel->reply(dali_error(503, "too many queries waiting; try again shortly"));
    }

    struct QueryJob {
        QueryRequest request;
        std::string content_type;
        std::shared_ptr<ResponseChannel> channel;
        std::shared_ptr<void> slot;
        bool gzip = false;  ///< Content-Encoding: gzip
    };

    Reply too_many_from_client() const {
        Reply r = dali_error(429, "too many concurrent requests from this client address (limit " +
                                      std::to_string(slots->max()) +
                                      ", limits.max_queries_per_client); wait for one to finish");
        r.headers.emplace_back("Retry-After", "2");
        return r;
    }

    /// The general lane's task for `job`: run it under its request's limits.
    WorkerPool::Task general_task(const std::shared_ptr<QueryJob>& job) {
        return [this, job](std::size_t w) { run_query(general, w, job->request, *job); };
    }

    void classify_and_run(const std::shared_ptr<QueryJob>& job, std::size_t worker) {
        double cost = 0;
        bool estimated = false;
        try {
            // a query with uploads names tables that exist only while it runs: general
            cost = job->request.uploads.empty() ? express.engine(worker).estimate_cost(
                                                      job->request.adql, job->request.maxrec, job->request.visibility)
                                                : 1e300;
            estimated = job->request.uploads.empty();
        } catch (...) {
            // translation or preparation errors: run_query reports them
        }
        if (cost <= config.limits.express_max_cost) {
            QueryRequest r = job->request;
            r.first_row_by = std::chrono::steady_clock::now() + std::chrono::seconds(config.limits.express_seconds);
            r.store_checked = estimated;                      // the estimate just looked for an ingest on this engine
            if (run_query(express, worker, r, *job)) return;  // done (or failed cleanly)
        }
        if (!general.pool->try_submit(general_task(job)))
            job->channel->reply(dali_error(503, "too many queries waiting; try again shortly"));
    }

    /// Runs one query into its channel. False only when an express run found
    /// no first row in time (nothing sent; the caller hands it on).
    bool run_query(Lane& lane, std::size_t worker, const QueryRequest& q, const QueryJob& job) {
        const auto& channel = job.channel;
        bool started = false;
        try {
            const votable::Sink to_channel = [&](std::string_view chunk) { channel->write(chunk); };
            std::optional<votable::GzipSink> gz;
            if (job.gzip) gz.emplace(to_channel);
            const QueryOutcome outcome = lane.engine(worker).run(
                q,
                [&] {
                    std::vector<std::pair<std::string, std::string>> headers;
                    if (gz) headers = {{"Content-Encoding", "gzip"}, {"Vary", "Accept-Encoding"}};
                    channel->start(200, job.content_type, std::move(headers));
                    started = true;
                },
                gz ? gz->sink() : to_channel);
            if (gz) gz->finish();
            channel->finish();
            // a query that failed after its first row (the database lost
            // mid-stream) says nothing about the database being back
            // (read first: a store to a flag every worker shares would bounce
            // its cache line between cores on every query)
            if (!outcome.error && database_down.load(std::memory_order_relaxed)) database_down = false;
        } catch (const ExpressExpired&) {
            return false;
        } catch (const votable::SinkClosed&) {
            // the client went away; the session has closed the connection
        } catch (const adql::AdqlError& e) {
            if (!started)
                channel->reply(dali_error(400, e.what()));
            else
                channel->finish();
        } catch (const obscore::DatabaseUnavailable& e) {
            database_down = true;  // VOSI availability says so until a query succeeds
            if (!started)
                channel->reply(dali_error(503, std::string("ServiceUnavailable: ") + e.what() + "; try again later"));
            else
                channel->finish();
        } catch (const QueryError& e) {
            if (!started)
                channel->reply(dali_error(e.client_error() ? 400 : 500, e.what()));
            else
                channel->finish();
        } catch (const obscore::StoreError& e) {
            // the store could not be opened for this worker (a database that went away)
            database_down = true;
            if (!started)
                channel->reply(dali_error(503, std::string("ServiceUnavailable: ") + e.what() + "; try again later"));
            else
                channel->finish();
        } catch (const std::exception& e) {
            spdlog::error("query failed: {}", e.what());
            if (!started)
                channel->reply(dali_error(500, std::string("internal error: ") + e.what()));
            else
                channel->finish();
        }
        return true;
    }

    /// SODA 1.0 {sync} (server/soda_endpoint.hpp): parameters checked here,
    /// the ID lookup and the cutout on a worker with its read-only store.
    void soda_sync(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                   const Caller& caller) {
        if (req->method != "GET" && req->method != "POST") {
            Reply r = dali_error(405, "method " + req->method + " not allowed on /soda/sync (use GET or POST)");
            r.headers.emplace_back("Allow", "GET, POST");
            return channel->reply(std::move(r));
        }
        SodaRequest soda_request;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            soda_request = parse_soda_request(params);
        } catch (const ParamError& e) {
            return channel->reply(dali_error(400, std::string("UsageError: ") + e.what()));
        } catch (const soda::SodaError& e) {
            return channel->reply(soda_error_reply(e));
        }
        auto slot = slots->acquire(caller.client);
        if (!slot) return channel->reply(too_many_from_client());
        auto task = [this, channel, soda_request = std::move(soda_request), slot,
                     admit = admit_for(caller, caller.client, "cutout"),
                     visibility = row_visibility(caller, protected_collections)](std::size_t worker) {
            QueryEngine* engine = nullptr;
            try {
                engine = &soda.engine(worker);
            } catch (const std::exception& e) {
                spdlog::error("SODA: cannot open the store: {}", e.what());
                return channel->reply(
                    dali_error(500, std::string("Error: the archive store cannot be opened: ") + e.what()));
            }
            run_soda_sync(soda_request, VisibleProducts(engine->backend(), visibility), *channel, admit);
        };
        if (!soda.pool->try_submit(std::move(task)))
            channel->reply(dali_error(503, "ServiceUnavailable: too many requests waiting; try again shortly"));
    }

    /// Runs `task` with the read-only store of a cutout/download worker
    /// (the SODA lane), holding a client slot; replies 429/503/500 itself.
    /// The task sees only the products `caller` may see (VisibleProducts).
    void on_download_lane(const Caller& caller, const std::shared_ptr<ResponseChannel>& channel,
                          std::function<void(const obscore::ProductLookup&)> task) {
        auto slot = slots->acquire(caller.client);
        if (!slot) return channel->reply(too_many_from_client());
        auto run = [this, channel, task = std::move(task), slot,
                    visibility = row_visibility(caller, protected_collections)](std::size_t worker) {
            QueryEngine* engine = nullptr;
            try {
                engine = &soda.engine(worker);
            } catch (const std::exception& e) {
                spdlog::error("cannot open the store: {}", e.what());
                return channel->reply(
                    dali_error(500, std::string("FatalFault: the archive store cannot be opened: ") + e.what()));
            }
            task(VisibleProducts(engine->backend(), visibility));
        };
        if (!soda.pool->try_submit(std::move(run)))
            channel->reply(dali_error(503, "TransientFault: too many requests waiting; try again shortly"));
    }

    /// DataLink 1.1 {links} (server/datalink.hpp): GET with one ID, POST
    /// (urlencoded or multipart) with many; each ID looked up on a download
    /// worker; per-ID failures are error_message rows of a 200 response.
    void datalink_sync(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                       const Caller& caller) {
        if (req->method != "GET" && req->method != "POST") {
            Reply r = dali_error(
                405, "UsageFault: method " + req->method + " not allowed on /datalink/sync (use GET or POST)");
            r.headers.emplace_back("Allow", "GET, POST");
            return channel->reply(std::move(r));
        }
        DataLinkRequest dl;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            dl = parse_datalink_request(params, config.limits.max_datalink_ids);
        } catch (const ParamError& e) {
            const std::string m = e.what();
            return channel->reply(dali_error(400, m.rfind("UsageFault", 0) == 0 ? m : "UsageFault: " + m));
        }
        const std::string base = config.base_url();
        // DataLink 1.1 sections 3.2.11-12: link_auth and link_authorized for this caller
        const RightsOf rights = [caller](const obscore::ProductFile& product) {
            return product_rights(caller, product, obscore::archive_now());
        };
        on_download_lane(
            caller, channel, [this, channel, dl = std::move(dl), base, rights](const obscore::ProductLookup& store) {
                std::vector<IdLinks> all;
                all.reserve(dl.ids.size());
                try {
                    for (std::size_t i = 0; i < dl.ids.size(); ++i) {
                        if (channel->cancelled()) return;
                        all.push_back(build_links(
                            dl.ids[i], describe_product(store, dl.ids[i], config.collections, rights), base, i + 1));
                    }
                } catch (const std::exception& e) {
                    spdlog::error("DataLink: {}", e.what());
                    return channel->reply(
                        dali_error(500, std::string("FatalFault: the archive store cannot be read: ") + e.what()));
                }
                Reply r;
                r.content_type = kDataLinkMime;
                r.body = links_document(all, dl.overflow);
                channel->reply(std::move(r));
            });
    }

    /// Product downloads: GET/HEAD /datalink/file?ID=<obs_publisher_did>
    /// (server/datalink.hpp send_product_file), streamed on a download worker.
    void datalink_file(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                       const Caller& caller) {
        if (req->method != "GET") {
            Reply r = dali_error(
                405, "UsageFault: method " + req->method + " not allowed on /datalink/file (use GET or HEAD)");
            r.headers.emplace_back("Allow", "GET, HEAD");
            return channel->reply(std::move(r));
        }
        std::string id;
        std::size_t file_index = 0;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            std::vector<std::string> ids;
            for (const auto& v : params.all("ID"))
                if (std::find(ids.begin(), ids.end(), v) == ids.end()) ids.push_back(v);
            if (ids.size() > 1)
                return channel->reply(dali_error(400, "UsageFault: ID: " + std::to_string(ids.size()) +
                                                          " values given; one file is downloaded per request"));
            if (!ids.empty()) id = ids.front();
            if (auto n = params.single("FILE")) {  // a configured file next to the product ([[collection.link]])
                std::size_t used = 0;
                unsigned long v = 0;
                try {
                    v = std::stoul(*n, &used);
                } catch (const std::exception&) {
                    used = 0;
                }
                if (used != n->size() || v == 0 || n->empty() || (*n)[0] == '-')
                    return channel->reply(
                        dali_error(400, "UsageFault: FILE: a positive file number is expected, got '" + *n + "'"));
                file_index = v;
            }
        } catch (const ParamError& e) {
            return channel->reply(dali_error(400, std::string("UsageFault: ") + e.what()));
        }
        on_download_lane(
            caller, channel,
            [this, channel, id, file_index, range = req->header("Range"), if_range = req->header("If-Range"),
             admit = admit_for(caller, caller.client, "download")](const obscore::ProductLookup& store) {
                send_product_file(store, id, range, if_range, *channel, config.collections, file_index, admit);
            });
    }

    /// Previews: GET/HEAD /datalink/preview?ID=<obs_publisher_did>&KIND=<kind>
    /// (server/datalink.hpp send_preview), made and served on a download worker.
    void datalink_preview(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                          const Caller& caller) {
        if (req->method != "GET") {
            Reply r = dali_error(
                405, "UsageFault: method " + req->method + " not allowed on /datalink/preview (use GET or HEAD)");
            r.headers.emplace_back("Allow", "GET, HEAD");
            return channel->reply(std::move(r));
        }
        std::string id, kind;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            id = params.single("ID").value_or("");
            kind = params.single("KIND").value_or("");
        } catch (const ParamError& e) {
            return channel->reply(dali_error(400, std::string("UsageFault: ") + e.what()));
        }
        if (kind.empty())
            return channel->reply(
                dali_error(400, "UsageFault: missing parameter KIND (peak, mean, spectrum or image)"));
        on_download_lane(
            caller, channel,
            [channel, id, kind, dir = config.archive.previews_dir, admit = admit_for(caller, caller.client, "preview")](
                const obscore::ProductLookup& store) { send_preview(store, dir, id, kind, *channel, admit); });
    }

    void tables(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel) {
        const std::string prefix = "/tap/tables/";
        if (req->path.size() > prefix.size()) {
            const std::string name = lower(percent_decode_path(req->path.substr(prefix.size())));
            const auto d = docs();
            auto it = d->table_docs.find(name);
            if (it == d->table_docs.end())
                return channel->reply(dali_error(
                    404, "no table " + percent_decode_path(req->path.substr(prefix.size())) + " in this service"));
            return channel->reply(document(kXml, it->second));
        }
        bool min = false;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            if (auto d = params.single("detail")) min = iequals(*d, "min");
        } catch (const ParamError& e) {
            return channel->reply(dali_error(400, e.what()));
        }
        const auto d = docs();
        channel->reply(document(kXml, min ? d->tableset_min : d->tableset_max));
    }

    /// Issue 12 item 2: the caller of a request (anonymous without an
    /// Authorization header). Bad credentials are answered here (401 with
    /// the challenges, 429 past the failed-login limit) and audited.
    std::optional<Caller> authenticate(const Request& req, const std::shared_ptr<ResponseChannel>& channel) {
        const std::string client = client_of(req, config.server.trusted_proxies);
        const std::string authorization = req.header("Authorization");
        if (authorization.empty()) {
            Caller anonymous;
            anonymous.client = client;
            return anonymous;
        }
        AuthResult r = authenticator->authenticate(authorization, client);
        if (r.caller) {
            r.caller->client = client;
            return std::move(r.caller);
        }
        const AuthFailure& f = *r.failure;
        audit->record(client, f.user, "login", "-",
                      f.kind == AuthFailure::Kind::rate_limited ? "refused-429" : "failed-401");
        if (f.kind == AuthFailure::Kind::rate_limited) {
            Reply reply = dali_error(429, "AuthenticationError: " + f.message);
            reply.headers.emplace_back("Retry-After", std::to_string(f.retry_after_seconds));
            channel->reply(std::move(reply));
        } else {
            channel->reply(unauthorized_reply("AuthenticationError: " + f.message, authenticator->challenges()));
        }
        return std::nullopt;
    }

    void route(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel) {
        // a credential not verified yet costs an argon2id verification (or a
        // signature check): on a control worker, never on an I/O thread
        const std::string authorization = req->header("Authorization");
        if (!authorization.empty() && !authenticator->cached(authorization)) {
            if (!control->try_submit([this, req, channel](std::size_t) { dispatch(req, channel); }))
                channel->reply(dali_error(503, "ServiceUnavailable: too many requests waiting; try again shortly"));
            return;
        }
        dispatch(req, channel);
    }

    /// route() once the caller's credentials can be checked on this thread.
    void dispatch(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel) {
        const std::string& p = req->path;
        const auto who = authenticate(*req, channel);
        if (!who) return;
        const Caller& caller = *who;
        if (p == "/tap/sync") return tap_sync(req, channel, caller);
        if (p == "/soda/sync") return soda_sync(req, channel, caller);
        if (p == "/datalink/sync") return datalink_sync(req, channel, caller);
        if (p == "/datalink/file") return datalink_file(req, channel, caller);
        if (p == "/datalink/preview") return datalink_preview(req, channel, caller);
        if (p == "/auth" || p.rfind("/auth/", 0) == 0) {  // the users store is written: off the I/O threads
            if (!control->try_submit(
                    [this, req, channel, caller](std::size_t) { auth_api(*req, caller, *authenticator, *channel); }))
                channel->reply(dali_error(503, "ServiceUnavailable: too many requests waiting; try again shortly"));
            return;
        }
        if (p == kPortalPrefix || p.rfind("/portal/", 0) == 0)  // issue 13: the browser portal's files
            return serve_web_asset(req, channel, config.server, *control);

        if (p == "/tap/async" || p.rfind("/tap/async/", 0) == 0) return tap_async->handle(req, channel, caller);
        if (p == "/soda/async" || p.rfind("/soda/async/", 0) == 0) return soda_async->handle(req, channel, caller);
        const bool read = req->method == "GET" || req->method == "POST";
        if (!read) {
            Reply r = dali_error(405, "method " + req->method + " not allowed on " + p);
            r.headers.emplace_back("Allow", "GET, POST");
            return channel->reply(std::move(r));
        }
        if (p == "/" || p == "/index.html") return channel->reply(document(kHtml, docs()->landing));
        if (p == "/tap" || p == "/tap/") return channel->reply(document(kHtml, docs()->tap_page));
        if (p == "/tap/availability")
            return channel->reply(document(
                kXml, database_down ? availability_document(false,
                                                            "the database is unavailable (the last query could not "
                                                            "reach it); queries answer 503 until it returns")
                                    : availability_document(true, "service is accepting queries")));
        if (p == "/tap/capabilities") return channel->reply(document(kXml, docs()->capabilities));
        if (p == "/tap/tables" || p.rfind("/tap/tables/", 0) == 0) return tables(req, channel);
        if (p == "/tap/examples")  // DALI 1.1 section 2.3, TAP 1.1 section 2.6
            return channel->reply(document("application/xhtml+xml;charset=UTF-8",
                                           examples_document(config.base_url() + "/tap", config.archive.title)));
        // SODA 1.0 (sync above; section 2.4-2.5 VOSI resources here).
        if (p == "/soda" || p == "/soda/") return channel->reply(document(kHtml, docs()->soda_html));
        if (p == "/soda/capabilities") return channel->reply(document(kXml, docs()->soda_capabilities));
        if (p == "/soda/availability")
            return channel->reply(document(kXml, availability_document(true, "service is accepting cutout requests")));

        // DataLink 1.1 section 2.3: VOSI resources of the {links} endpoint.
        if (p == "/datalink/capabilities") return channel->reply(document(kXml, docs()->datalink_capabilities));
        if (p == "/datalink/availability")
            return channel->reply(
                document(kXml, availability_document(true, "service is accepting DataLink requests")));
        // SIA 2.0 sections 2.1-2.3
        if (p == "/sia2/query") return sia_query(req, channel, caller);
        if (p == "/sia2/capabilities") return channel->reply(document(kXml, docs()->sia_capabilities));
        if (p == "/sia2/availability")
            return channel->reply(document(kXml, availability_document(true, "service is accepting SIAv2 queries")));
        if (p == "/favicon.ico") {
            Reply r;
            r.status = 404;
            r.content_type = "text/plain;charset=UTF-8";
            r.body = "no icon\n";
            return channel->reply(std::move(r));
        }
        channel->reply(dali_error(404, "no resource " + p + " on this server (see " + config.base_url() + "/)"));
    }
};

App::App(Config config) : impl_(std::make_unique<Impl>()) {
    impl_->config = std::move(config);
    {  // configurations built in code (tests) may leave these empty: beside the store, as parse_config does
        auto& a = impl_->config.archive;
        const std::filesystem::path dir = std::filesystem::path(a.database).parent_path();
        if (a.jobs_database.empty()) a.jobs_database = (dir / "jobs.sqlite").string();
        if (a.results_dir.empty()) a.results_dir = (dir / "results").string();
        if (a.previews_dir.empty()) a.previews_dir = (dir / "previews").string();
        if (a.query_database.empty()) a.query_database = a.database;
    }
    {
        auto& a = impl_->config.auth;
        const std::filesystem::path dir = obscore::is_postgresql_url(impl_->config.archive.database)
                                              ? std::filesystem::path(impl_->config.archive.results_dir).parent_path()
                                              : std::filesystem::path(impl_->config.archive.database).parent_path();
        if (a.users_database.empty()) a.users_database = (dir / "users.sqlite").string();
        if (a.audit_log.empty()) a.audit_log = (dir / "audit.log").string();
        obscore::archive_now();  // a malformed VOSERVER_NOW stops the start here
        const std::filesystem::path users_db(a.users_database);
        if (users_db.has_parent_path()) std::filesystem::create_directories(users_db.parent_path());
        impl_->users = std::make_shared<UserStore>(a.users_database);
        impl_->authenticator = std::make_unique<Authenticator>(a, impl_->users);
        impl_->audit = std::make_unique<AuditLog>(a.audit_log);
        impl_->guard = std::make_unique<ProductGuard>(impl_->authenticator.get(), impl_->audit.get());
        for (const auto& col : impl_->config.collections)
            if (col.metadata_protected) impl_->protected_collections.push_back(col.name);
    }
    impl_->build_documents();
    const Config& c = impl_->config;
    obscore::set_public_base_url(c.base_url());  // access_url of every query (again once the port is bound)
    EngineLimits limits;
    limits.adql.max_query_bytes = static_cast<std::size_t>(c.limits.max_query_bytes);
    limits.adql.max_depth = c.limits.max_query_depth;
    limits.adql.max_nodes = static_cast<std::size_t>(c.limits.max_query_nodes);
    limits.max_cell_bytes = c.limits.max_cell_bytes;
    limits.cache_bytes = static_cast<std::size_t>(c.limits.query_cache_bytes);
    limits.query_memory_bytes = c.limits.query_memory_bytes;
    // Issue 7 item 3: one memory budget for every query connection of the
    // process; a query beyond it fails with a message naming the limit.
    obscore::set_process_memory_limit(c.limits.query_memory_bytes);
    const auto queued = static_cast<std::size_t>(c.limits.max_queued_queries);
    const auto n = [](int v) { return static_cast<std::size_t>(std::max(1, v)); };
    impl_->express.start(n(c.server.express_workers), queued, c.archive.query_database, limits);
    impl_->general.start(n(c.server.query_workers), queued, c.archive.query_database, limits);
    impl_->soda.start(n(c.server.soda_workers), queued, c.archive.query_database, limits);
    impl_->slots = std::make_unique<ClientSlots>(c.limits.max_queries_per_client);
    impl_->engine_limits = limits;

    uws::ManagerOptions uo;
    uo.results_dir = (std::filesystem::path(c.archive.results_dir) / "tap").string();
    uo.workers = n(c.server.async_workers);
    uo.max_queued = queued * 16;
    uo.default_execution_duration = c.limits.async_default_seconds;
    uo.max_execution_duration = c.limits.async_max_seconds;
    uo.default_retention = c.limits.retention_seconds;
    uo.max_retention = c.limits.max_retention_seconds;
    uo.max_wait_seconds = c.limits.max_wait_seconds;
    uo.results_quota_bytes = c.limits.results_quota_bytes;
    // The job stores: SQLite files, or schemas of a PostgreSQL database that
    // several instances share (issue 11 item 4; results_dir then shared too).
    const bool shared_jobs = obscore::is_postgresql_url(c.archive.jobs_database);
    const auto open_jobs = [&](const std::string& schema, const std::string& sqlite_path) {
        return shared_jobs ? uws::open_pg_job_store(c.archive.jobs_database, schema)
                           : uws::open_sqlite_job_store(sqlite_path);
    };
    if (!shared_jobs) {
        const std::filesystem::path jobs_db(c.archive.jobs_database);
        if (jobs_db.has_parent_path()) std::filesystem::create_directories(jobs_db.parent_path());
    }
    Impl* impl = impl_.get();
    impl_->tap_jobs = std::make_unique<uws::JobManager>(
        open_jobs("uws", c.archive.jobs_database),
        [impl](const uws::Job& job, const uws::ExecContext& ctx) { return impl->run_tap_job(job, ctx); }, uo);
    impl_->control = std::make_unique<WorkerPool>(2, queued * 16);
    uws::ManagerOptions so = uo;
    so.results_dir = (std::filesystem::path(c.archive.results_dir) / "soda").string();
    so.workers = n(c.server.soda_workers);
    const std::filesystem::path soda_db =
        std::filesystem::path(c.archive.jobs_database).replace_extension(".soda.sqlite");
    impl_->soda_jobs = std::make_unique<uws::JobManager>(
        open_jobs("uws_soda", soda_db.string()),
        [impl](const uws::Job& job, const uws::ExecContext& ctx) { return impl->run_soda_job(job, ctx); }, so);
    impl_->make_async_endpoints();
}

App::~App() {
    stop();
    // join the workers before their engines go; the UWS endpoint before its manager
    impl_->control.reset();
    impl_->tap_async.reset();
    impl_->tap_jobs.reset();
    impl_->soda_async.reset();
    impl_->soda_jobs.reset();
    impl_->express.pool.reset();
    impl_->general.pool.reset();
    impl_->soda.pool.reset();
}

void App::handle(std::shared_ptr<const Request> request, std::shared_ptr<ResponseChannel> channel) {
    impl_->route(request, channel);
}

unsigned short App::start() {
    HttpOptions o;
    o.host = impl_->config.server.host;
    o.port = static_cast<unsigned short>(impl_->config.server.port);
    o.threads = impl_->config.server.threads;
    o.read_timeout = std::chrono::seconds(impl_->config.server.read_timeout_seconds);
    o.write_timeout = std::chrono::seconds(impl_->config.server.write_timeout_seconds);
    o.body_limit = static_cast<std::uint64_t>(impl_->config.limits.max_request_bytes);
    o.max_url_bytes = static_cast<std::size_t>(impl_->config.limits.max_url_bytes);
    o.max_header_bytes = static_cast<std::size_t>(impl_->config.limits.max_header_bytes);
    o.spool_dir = impl_->config.server.spool_dir;
    o.cors_origins = impl_->config.server.cors_origins;
    o.spool_bytes_per_response = static_cast<std::uint64_t>(impl_->config.limits.spool_bytes_per_response);
    o.spool_bytes_total = static_cast<std::uint64_t>(impl_->config.limits.spool_bytes_total);
    o.access_log = impl_->config.server.access_log;
    o.access_log_max_bytes = static_cast<std::uint64_t>(impl_->config.server.access_log_max_bytes);
    o.access_log_keep = impl_->config.server.access_log_keep;
    impl_->http =
        std::make_unique<HttpServer>(o, [this](std::shared_ptr<const Request> r, std::shared_ptr<ResponseChannel> c) {
            handle(std::move(r), std::move(c));
        });
    const unsigned short bound = impl_->http->listen();
    if (bound != impl_->config.server.port) {
        // port 0: the published URLs (capabilities, landing pages, job URLs)
        // follow the port actually bound unless base_url is set explicitly;
        // nothing is accepted before they are rebuilt
        impl_->config.server.port = bound;
        if (impl_->config.server.base_url.empty()) {
            obscore::set_public_base_url(impl_->config.base_url());
            impl_->build_documents();
            impl_->make_async_endpoints();
        }
    }
    return impl_->http->start();
}

void App::wait(bool handle_signals) {
    if (impl_->http) impl_->http->wait(handle_signals);
}

void App::stop() {
    if (impl_->http) impl_->http->stop();
}

const Config& App::config() const { return impl_->config; }

}  // namespace vo::server
