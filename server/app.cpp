// The voserver web application: routing, TAP sync, VOSI, landing page.
#include "server/app.hpp"

#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <optional>

#include "adql/adql.hpp"
#include "obscore/store.hpp"
#include "server/params.hpp"
#include "server/query.hpp"
#include "server/soda_endpoint.hpp"
#include "server/vosi.hpp"
#include "server/worker_pool.hpp"
#include "soda/params.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

constexpr const char* kXml = "text/xml;charset=UTF-8";
constexpr const char* kHtml = "text/html;charset=UTF-8";
constexpr const char* kVOTable = "application/x-votable+xml";

Reply dali_error(unsigned status, const std::string& message) {
    Reply r;
    r.status = status;
    r.content_type = kVOTable;
    r.body = votable::error_document(message);
    return r;
}

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

/// Percent-decodes a path segment (for /tap/tables/{name}).
std::string decode_path(std::string_view s) {
    const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

}  // namespace

/// TAP_SCHEMA.keys and key_columns (TAP 1.1 section 4.4) of the store, if it has them.
static std::vector<ForeignKey> read_foreign_keys(sqlite3* db) {
    std::vector<ForeignKey> keys;
    sqlite3_stmt* s = nullptr;
    const auto text = [](sqlite3_stmt* st, int i) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
        return std::string(p ? p : "");
    };
    std::vector<std::string> ids;
    if (sqlite3_prepare_v2(db, "SELECT key_id, from_table, target_table, COALESCE(description,''), COALESCE(utype,'') "
                               "FROM tap_schema_keys ORDER BY key_id", -1, &s, nullptr) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            ids.push_back(text(s, 0));
            keys.push_back({text(s, 1), text(s, 2), {}, text(s, 3), text(s, 4)});
        }
    }
    sqlite3_finalize(s);
    s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT key_id, from_column, target_column FROM tap_schema_key_columns", -1, &s,
                           nullptr) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            const std::string id = text(s, 0);
            for (std::size_t i = 0; i < ids.size(); ++i)
                if (ids[i] == id) keys[i].columns.emplace_back(text(s, 1), text(s, 2));
        }
    }
    sqlite3_finalize(s);
    return keys;
}

struct App::Impl {
    Config config;
    std::unique_ptr<WorkerPool> pool;
    std::vector<std::unique_ptr<QueryEngine>> engines;  // one per worker, created by that worker
    std::unique_ptr<HttpServer> http;

    // Documents built once at start-up (no catalogue reload per request).
    std::string capabilities;
    std::string tableset_max, tableset_min;
    std::map<std::string, std::string> table_docs;  // lower-case qualified name -> document
    std::string landing;
    std::string tap_page;
    std::string soda_capabilities;  // SODA 1.0 section 2.5
    std::string soda_html;

    void build_documents() {
        auto store = obscore::Store::open_read_only(config.archive.database);
        const adql::Catalog& catalog = store->catalog();
        capabilities = capabilities_document(config, adql::sqlite_udfs());
        const auto keys = read_foreign_keys(store->db());
        tableset_max = tableset_document(catalog, false, keys);
        tableset_min = tableset_document(catalog, true);
        for (const auto& t : catalog.tables()) table_docs[lower(qualified_name(t))] = table_document(t, keys);

        std::vector<CollectionSummary> summaries;
        std::map<std::string, long long> counts;
        sqlite3_stmt* s = nullptr;
        const std::string sql = std::string("SELECT obs_collection, COUNT(*) FROM ") + obscore::kObsCoreTable +
                                " GROUP BY obs_collection";
        if (sqlite3_prepare_v2(store->db(), sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
            while (sqlite3_step(s) == SQLITE_ROW) {
                const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
                counts[name ? name : ""] = sqlite3_column_int64(s, 1);
            }
        }
        sqlite3_finalize(s);
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
        landing = landing_page(config, summaries, total);
        soda_capabilities = soda_capabilities_document(config);
        soda_html = soda_page(config);

        const std::string base = votable::xml_escape(config.base_url());
        tap_page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>TAP service</title></head><body>\n"
                   "<h1>TAP 1.1 service: " + votable::xml_escape(config.archive.title) + "</h1>\n"
                   "<p>ADQL 2.1 queries over <code>ivoa.obscore</code> (ObsCore 1.1) and <code>TAP_SCHEMA</code>.</p>\n<ul>\n"
                   "<li><a href=\"" + base + "/tap/sync\">" + base + "/tap/sync</a>: synchronous queries (LANG=ADQL, QUERY, MAXREC, RESPONSEFORMAT=votable|csv|tsv)</li>\n"
                   "<li><a href=\"" + base + "/tap/capabilities\">capabilities</a>, <a href=\"" + base +
                   "/tap/tables\">tables</a>, <a href=\"" + base + "/tap/availability\">availability</a></li>\n"
                   "</ul>\n<p><a href=\"" + base + "/\">archive home</a></p>\n</body></html>\n";
    }

    void tap_sync(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel) {
        if (req->method != "GET" && req->method != "POST") {
            Reply r = dali_error(405, "method " + req->method + " not allowed on /tap/sync (use GET or POST)");
            r.headers.emplace_back("Allow", "GET, POST");
            return channel->reply(std::move(r));
        }
        QueryRequest q;
        std::string content_type;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            if (auto request = params.single("REQUEST"); request && !iequals(*request, "doQuery"))
                return channel->reply(dali_error(400, "REQUEST=" + *request + " is not supported (TAP 1.1 knows only doQuery)"));
            const auto lang = params.single("LANG");
            if (lang && !iequals(*lang, "ADQL") && !iequals(*lang, "ADQL-2.0") && !iequals(*lang, "ADQL-2.1"))
                return channel->reply(dali_error(400, "unknown query language LANG=" + *lang + " (supported: ADQL, ADQL-2.0, ADQL-2.1)"));
            const auto query = params.single("QUERY");
            if (!query || query->find_first_not_of(" \t\r\n") == std::string::npos)
                return channel->reply(dali_error(400, "missing parameter QUERY (the ADQL query to run)"));
            if (params.has("UPLOAD"))
                return channel->reply(dali_error(400, "UPLOAD is not supported by this service yet"));
            std::string responseformat = params.single("RESPONSEFORMAT").value_or("");
            if (responseformat.empty()) responseformat = params.single("FORMAT").value_or("");  // TAP 1.1 section 2.7.3
            const auto format = responseformat.empty() ? std::optional(votable::Format::votable)
                                                       : votable::parse_format(responseformat);
            if (!format)
                return channel->reply(dali_error(400, "unsupported RESPONSEFORMAT=" + responseformat +
                                                          " (supported: votable, votable/td, application/x-votable+xml, text/xml, csv, text/csv, tsv, text/tab-separated-values)"));
            q.format = *format;
            // DALI 1.1 section 3.4.3: a MIME type asked for is the Content-Type sent.
            content_type = std::string(votable::mime_type(*format));
            if (responseformat.find('/') != std::string::npos && lower(responseformat).rfind("votable", 0) != 0)
                content_type = responseformat;
            if (q.format != votable::Format::votable && content_type.find("charset") == std::string::npos)
                content_type += ";charset=UTF-8";
            q.maxrec = parse_maxrec(params, config.limits.maxrec_default, config.limits.maxrec_hard);
            q.adql = *query;
            q.infos.push_back({"QUERY", *query});
        } catch (const ParamError& e) {
            return channel->reply(dali_error(400, e.what()));
        }
        q.cancel = &channel->cancel_flag();
        q.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config.limits.max_query_seconds);

        auto task = [this, channel, q = std::move(q), content_type](std::size_t worker) {
            bool started = false;
            try {
                if (!engines[worker]) engines[worker] = std::make_unique<QueryEngine>(config.archive.database);
                engines[worker]->run(
                    q,
                    [&] {
                        channel->start(200, content_type);
                        started = true;
                    },
                    [&](std::string_view chunk) { channel->write(chunk); });
                channel->finish();
            } catch (const votable::SinkClosed&) {
                // the client went away; the session has closed the connection
            } catch (const adql::AdqlError& e) {
                if (!started) channel->reply(dali_error(400, e.what()));
                else channel->finish();
            } catch (const QueryError& e) {
                if (!started) channel->reply(dali_error(e.client_error() ? 400 : 500, e.what()));
                else channel->finish();
            } catch (const std::exception& e) {
                spdlog::error("query failed: {}", e.what());
                if (!started) channel->reply(dali_error(500, std::string("internal error: ") + e.what()));
                else channel->finish();
            }
        };
        if (!pool->try_submit(std::move(task)))
            channel->reply(dali_error(503, "too many queries waiting; try again shortly"));
    }

    /// SODA 1.0 {sync} (server/soda_endpoint.hpp): parameters checked here,
    /// the ID lookup and the cutout on a worker with its read-only store.
    void soda_sync(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel) {
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
        auto task = [this, channel, soda_request = std::move(soda_request)](std::size_t worker) {
            try {
                if (!engines[worker]) engines[worker] = std::make_unique<QueryEngine>(config.archive.database);
            } catch (const std::exception& e) {
                spdlog::error("SODA: cannot open the store: {}", e.what());
                return channel->reply(dali_error(500, std::string("Error: the archive store cannot be opened: ") + e.what()));
            }
            run_soda_sync(soda_request, engines[worker]->store(), *channel);
        };
        if (!pool->try_submit(std::move(task)))
            channel->reply(dali_error(503, "ServiceUnavailable: too many requests waiting; try again shortly"));
    }

    void tables(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel) {
        const std::string prefix = "/tap/tables/";
        if (req->path.size() > prefix.size()) {
            const std::string name = lower(decode_path(req->path.substr(prefix.size())));
            auto it = table_docs.find(name);
            if (it == table_docs.end())
                return channel->reply(dali_error(404, "no table " + decode_path(req->path.substr(prefix.size())) + " in this service"));
            return channel->reply(document(kXml, it->second));
        }
        bool min = false;
        try {
            const DaliParams params = parse_request_params(req->method, req->target, req->content_type, req->body);
            if (auto d = params.single("detail")) min = iequals(*d, "min");
        } catch (const ParamError& e) {
            return channel->reply(dali_error(400, e.what()));
        }
        channel->reply(document(kXml, min ? tableset_min : tableset_max));
    }

    void route(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel) {
        const std::string& p = req->path;
        if (p == "/tap/sync") return tap_sync(req, channel);
        if (p == "/soda/sync") return soda_sync(req, channel);

        const bool read = req->method == "GET" || req->method == "POST";
        if (!read) {
            Reply r = dali_error(405, "method " + req->method + " not allowed on " + p);
            r.headers.emplace_back("Allow", "GET, POST");
            return channel->reply(std::move(r));
        }
        if (p == "/" || p == "/index.html") return channel->reply(document(kHtml, landing));
        if (p == "/tap" || p == "/tap/") return channel->reply(document(kHtml, tap_page));
        if (p == "/tap/availability")
            return channel->reply(document(kXml, availability_document(true, "service is accepting queries")));
        if (p == "/tap/capabilities") return channel->reply(document(kXml, capabilities));
        if (p == "/tap/tables" || p.rfind("/tap/tables/", 0) == 0) return tables(req, channel);
        if (p == "/tap/async" || p.rfind("/tap/async/", 0) == 0)
            return channel->reply(dali_error(501, "asynchronous queries (UWS) are not available yet; use /tap/sync"));
        if (p == "/tap/examples") return channel->reply(dali_error(404, "this service has no DALI examples yet"));
        // SODA 1.0 (sync above; section 2.4-2.5 VOSI resources here).
        if (p == "/soda" || p == "/soda/") return channel->reply(document(kHtml, soda_html));
        if (p == "/soda/capabilities") return channel->reply(document(kXml, soda_capabilities));
        if (p == "/soda/availability")
            return channel->reply(document(kXml, availability_document(true, "service is accepting cutout requests")));
        if (p == "/soda/async" || p.rfind("/soda/async/", 0) == 0)
            return channel->reply(dali_error(501, "asynchronous cutouts (UWS) are not available yet; use /soda/sync"));
        if (p == "/datalink/sync" || p == "/sia2/query")
            return channel->reply(dali_error(501, p + " is not available yet in this version of voserver"));
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
    impl_->build_documents();
    const auto workers = static_cast<std::size_t>(std::max(1, impl_->config.server.query_workers));
    impl_->engines.resize(workers);
    impl_->pool = std::make_unique<WorkerPool>(workers, static_cast<std::size_t>(impl_->config.limits.max_queued_queries));
}

App::~App() {
    stop();
    impl_->pool.reset();  // joins the workers before the engines go
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
    o.spool_bytes_per_response = static_cast<std::uint64_t>(impl_->config.limits.spool_bytes_per_response);
    o.spool_bytes_total = static_cast<std::uint64_t>(impl_->config.limits.spool_bytes_total);
    o.access_log = impl_->config.server.access_log;
    o.access_log_max_bytes = static_cast<std::uint64_t>(impl_->config.server.access_log_max_bytes);
    o.access_log_keep = impl_->config.server.access_log_keep;
    impl_->http = std::make_unique<HttpServer>(o, [this](std::shared_ptr<const Request> r, std::shared_ptr<ResponseChannel> c) {
        handle(std::move(r), std::move(c));
    });
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
