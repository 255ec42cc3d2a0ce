// HTTP binding of a UWS 1.1 job list (server/uws_endpoint.hpp).
#include "server/uws_endpoint.hpp"
#include "server/dali_error.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <list>
#include <mutex>
#include <thread>

#include "server/access.hpp"
#include "server/file_response.hpp"
#include "server/params.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

constexpr const char* kXml = "text/xml;charset=UTF-8";
constexpr const char* kText = "text/plain;charset=UTF-8";

Reply dali_error(unsigned status, const std::string& message) { return dali_error_reply(status, message); }

Reply text(unsigned status, const char* content_type, std::string body) {
    Reply r;
    r.status = status;
    r.content_type = content_type;
    r.body = std::move(body);
    return r;
}

/// UWS 1.1 section 2.2.3: state-changing requests answer 303 See Other.
Reply see_other(const std::string& location) {
    Reply r = text(303, kText, "see " + location + "\n");
    r.headers.emplace_back("Location", location);
    return r;
}

std::string upper(std::string s) {
    for (auto& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::optional<long long> parse_int(const std::string& s) {
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

/// The UWS control parameters, which are not parameters of the job itself.
bool is_control(const std::string& name) {
    return iequals(name, "PHASE") || iequals(name, "RUNID") || iequals(name, "ACTION") ||
           iequals(name, "EXECUTIONDURATION") || iequals(name, "DESTRUCTION") || iequals(name, "WAIT");
}

}  // namespace

struct UwsEndpoint::Impl {
    uws::JobManager& manager;
    std::string jobs_path, jobs_url;
    Submit control, download;
    int max_waiting;
    std::vector<std::string> challenges;
    AdmitJob admit;

    struct Waiting {
        std::shared_ptr<ResponseChannel> channel;
        std::string id;
        uws::Phase start;
        std::chrono::steady_clock::time_point until;
    };
    std::mutex mutex;
    std::list<Waiting> waiting;
    bool stopping = false;
    std::thread waiter;

    Impl(uws::JobManager& m, std::string path, std::string url, Submit c, Submit d, int max)
        : manager(m),
          jobs_path(std::move(path)),
          jobs_url(std::move(url)),
          control(std::move(c)),
          download(std::move(d)),
          max_waiting(max) {
        waiter = std::thread([this] { watch(); });
    }
    ~Impl() {
        {
            std::lock_guard lk(mutex);
            stopping = true;
        }
        waiter.join();
    }

    std::string job_url(const std::string& id) const { return jobs_url + "/" + id; }

    /// The waiter thread: answers parked WAIT requests when their job leaves
    /// its phase, disappears, or their time is up.
    void watch() {
        std::uint64_t seen = manager.change_count();
        for (;;) {
            seen = manager.wait_for_change(seen, std::chrono::milliseconds(200));
            std::list<Waiting> due;
            {
                std::lock_guard lk(mutex);
                const auto now = std::chrono::steady_clock::now();
                for (auto it = waiting.begin(); it != waiting.end();) {
                    bool done = stopping || now >= it->until || it->channel->cancelled();
                    if (!done) {
                        auto j = manager.find(it->id);
                        done = !j || j->phase != it->start;
                    }
                    if (done)
                        due.splice(due.end(), waiting, it++);
                    else
                        ++it;
                }
                if (stopping && waiting.empty() && due.empty()) return;
            }
            for (auto& w : due) {
                if (w.channel->cancelled()) continue;
                try {
                    auto j = manager.find(w.id);
                    if (!j)
                        w.channel->reply(dali_error(404, "no job " + w.id + " (it was deleted)"));
                    else
                        w.channel->reply(text(200, kXml, uws::job_document(*j, job_url(w.id))));
                } catch (const std::exception& e) {
                    w.channel->reply(dali_error(500, std::string("job store: ") + e.what()));
                }
            }
        }
    }

    void handle(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                const Caller& caller) {
        if (!control([this, req, channel, caller] { serve(req, channel, caller); }))
            channel->reply(dali_error(503, "too many job requests waiting; try again shortly"));
    }

    /// Runs on a control worker.
    void serve(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
               const Caller& caller) {
        try {
            serve_or_throw(req, channel, caller);
        } catch (const ParamError& e) {
            channel->reply(dali_error(400, e.what()));
        } catch (const uws::JobStateError& e) {
            channel->reply(dali_error(400, e.what()));
        } catch (const std::exception& e) {
            spdlog::error("UWS {}: {}", req->path, e.what());
            channel->reply(dali_error(500, std::string("internal error: ") + e.what()));
        }
    }

    void serve_or_throw(const std::shared_ptr<const Request>& req, const std::shared_ptr<ResponseChannel>& channel,
                        const Caller& caller) {
        const std::string& m = req->method;
        const bool read = m == "GET" || m == "HEAD";
        const DaliParams params =
            parse_request_params(m == "HEAD" ? "GET" : m, req->target, req->content_type, req->body);
        std::string rest = req->path.substr(jobs_path.size());
        if (!rest.empty() && rest.back() == '/') rest.pop_back();
        if (rest.empty()) {
            if (read) {
                // an anonymous caller's list is empty: anonymous jobs are
                // reached only through their unguessable URLs
                uws::JobFilter filter = job_filter(params);
                if (!caller.authenticated()) return channel->reply(text(200, kXml, uws::jobs_document({}, jobs_url)));
                filter.owner = caller.user;
                return channel->reply(text(200, kXml, uws::jobs_document(manager.list(filter), jobs_url)));
            }
            if (m == "POST") return create(params, channel, caller);
            return not_allowed(channel, "GET, POST");
        }
        // rest = /{id}[/{child}[/{result}]]
        std::vector<std::string> parts;
        for (std::size_t i = 1; i <= rest.size();) {
            std::size_t j = rest.find('/', i);
            if (j == std::string::npos) j = rest.size();
            parts.push_back(rest.substr(i, j - i));
            i = j + 1;
        }
        const std::string& id = parts[0];
        auto job = manager.find(id);
        if (!job) return channel->reply(dali_error(404, "no job " + id + " in " + jobs_url));
        if (!job->owner.empty() && job->owner != caller.user) {
            if (!caller.authenticated())
                return channel->reply(unauthorized_reply(
                    "AuthenticationError: job " + id + " belongs to a user; authenticate as its owner", challenges));
            return channel->reply(
                forbidden_reply("AuthorizationError: job " + id + " belongs to another user than " + caller.user));
        }
        const std::string url = job_url(id);
        if (parts.size() == 1) {
            if (read) return job_get(*job, params, channel);
            if (m == "DELETE") return destroyed(id, channel);
            if (m == "POST") {
                if (auto a = params.single("ACTION")) {
                    if (!iequals(*a, "DELETE"))
                        throw ParamError("ACTION=" + *a + " is not known (UWS 1.1 knows ACTION=DELETE)");
                    return destroyed(id, channel);
                }
                apply_settings(*job, params, false);
                return channel->reply(see_other(url));
            }
            return not_allowed(channel, "GET, POST, DELETE");
        }
        const std::string& child = parts[1];
        if (parts.size() == 3 && child == "results")
            return result_file(*job, parts[2], read, req->header("Range"), channel);
        if (parts.size() > 2) return channel->reply(dali_error(404, "no resource " + req->path));
        if (child == "phase") {
            if (read) return channel->reply(text(200, kText, uws::to_string(job->phase)));
            if (m != "POST") return not_allowed(channel, "GET, POST");
            const auto p = params.single("PHASE");
            if (!p) throw ParamError("POST to phase needs PHASE=RUN or PHASE=ABORT");
            phase_action(id, *p);
            return channel->reply(see_other(url));
        }
        if (child == "executionduration") {
            if (read) return channel->reply(text(200, kText, std::to_string(job->execution_duration)));
            if (m != "POST") return not_allowed(channel, "GET, POST");
            if (!params.has("EXECUTIONDURATION")) throw ParamError("POST to executionduration needs EXECUTIONDURATION");
            apply_settings(*job, params, false);
            return channel->reply(see_other(url));
        }
        if (child == "destruction") {
            if (read) return channel->reply(text(200, kText, uws::iso8601(job->destruction)));
            if (m != "POST") return not_allowed(channel, "GET, POST");
            if (!params.has("DESTRUCTION")) throw ParamError("POST to destruction needs DESTRUCTION (ISO 8601)");
            apply_settings(*job, params, false);
            return channel->reply(see_other(url));
        }
        if (child == "parameters" && m == "POST") {  // the job's parameters, while PENDING
            apply_settings(*job, params, false);
            return channel->reply(see_other(url));
        }
        if (!read) return not_allowed(channel, "GET");
        if (child == "quote") return channel->reply(text(200, kText, job->quote ? uws::iso8601(*job->quote) : ""));
        if (child == "owner") return channel->reply(text(200, kText, job->owner));
        if (child == "parameters") return channel->reply(text(200, kXml, uws::parameters_document(*job)));
        if (child == "results") return channel->reply(text(200, kXml, uws::results_document(*job, url)));
        if (child == "error") {
            // UWS 1.1 section 2.2.2.3 / TAP 1.1 section 2.10.3: the error
            // document, a DALI error VOTable served with 200.
            if (job->phase != uws::Phase::ERROR)
                return channel->reply(dali_error(
                    404, std::string("job ") + id + " has no error (it is " + uws::to_string(job->phase) + ")"));
            Reply r = dali_error(200, job->error_message);
            return channel->reply(std::move(r));
        }
        channel->reply(dali_error(404, "no resource " + child + " of job " + id));
    }

    static void not_allowed(const std::shared_ptr<ResponseChannel>& channel, const char* allow) {
        Reply r = dali_error(405, std::string("method not allowed here (allowed: ") + allow + ")");
        r.headers.emplace_back("Allow", allow);
        channel->reply(std::move(r));
    }

    uws::JobFilter job_filter(const DaliParams& params) const {
        uws::JobFilter f;
        for (const auto& p : params.all("PHASE")) {
            auto ph = uws::parse_phase(upper(p));
            if (!ph)
                throw ParamError("PHASE=" + p +
                                 " is not a UWS phase (PENDING, QUEUED, EXECUTING, COMPLETED, ERROR, ABORTED, HELD, "
                                 "SUSPENDED, ARCHIVED, UNKNOWN)");
            f.phases.push_back(*ph);
        }
        if (auto a = params.single("AFTER")) {
            f.after = uws::parse_iso8601(*a);
            if (!f.after) throw ParamError("AFTER=" + *a + " is not an ISO 8601 UTC date and time");
        }
        if (auto l = params.single("LAST")) {
            auto v = parse_int(*l);
            if (!v || *v <= 0) throw ParamError("LAST=" + *l + " must be an integer greater than 0");
            f.last = static_cast<std::size_t>(*v);
        }
        return f;
    }

    /// EXECUTIONDURATION, DESTRUCTION, RUNID and job parameters of a POST;
    /// at creation (`creating`) PHASE=RUN is applied by the caller.
    void apply_settings(const uws::Job& job, const DaliParams& params, bool creating) {
        std::vector<std::pair<std::string, std::string>> job_params;
        for (const auto& [k, v] : params.pairs())
            if (!is_control(k)) job_params.emplace_back(k, v);
        if (!job_params.empty()) manager.set_parameters(job.id, job_params);
        // files of a multipart POST: inline uploads (DALI 1.1 section 3.4.5)
        for (const auto& f : params.files) manager.attach(job.id, f.part_name, f.content);
        if (auto d = params.single("EXECUTIONDURATION")) {
            auto v = parse_int(*d);
            if (!v) throw ParamError("EXECUTIONDURATION=" + *d + " must be an integer number of seconds");
            manager.set_execution_duration(job.id, *v);
        }
        if (auto d = params.single("DESTRUCTION")) {
            auto t = uws::parse_iso8601(*d);
            if (!t) throw ParamError("DESTRUCTION=" + *d + " is not an ISO 8601 UTC date and time");
            manager.set_destruction(job.id, *t);
        }
        if (!creating)
            if (auto p = params.single("PHASE")) phase_action(job.id, *p);
    }

    void phase_action(const std::string& id, const std::string& phase) {
        if (iequals(phase, "RUN"))
            manager.run(id);
        else if (iequals(phase, "ABORT"))
            manager.abort(id);
        else
            throw ParamError("PHASE=" + phase + " cannot be requested (use PHASE=RUN or PHASE=ABORT)");
    }

    void create(const DaliParams& params, const std::shared_ptr<ResponseChannel>& channel, const Caller& caller) {
        // check everything before the job exists, so a refused request leaves nothing behind
        if (auto p = params.single("PHASE"); p && !iequals(*p, "RUN"))
            throw ParamError("PHASE=" + *p + " cannot be given at job creation (only PHASE=RUN)");
        if (auto d = params.single("EXECUTIONDURATION"); d && !parse_int(*d))
            throw ParamError("EXECUTIONDURATION=" + *d + " must be an integer number of seconds");
        if (auto d = params.single("DESTRUCTION"); d && !uws::parse_iso8601(*d))
            throw ParamError("DESTRUCTION=" + *d + " is not an ISO 8601 UTC date and time");
        if (admit)
            if (auto refusal = admit(params, caller)) return channel->reply(std::move(*refusal));
        uws::Job job = manager.create({}, caller.user, params.single("RUNID").value_or(""));
        try {
            apply_settings(job, params, true);
            if (params.single("PHASE")) manager.run(job.id);
        } catch (...) {
            manager.destroy(job.id);
            throw;
        }
        channel->reply(see_other(job_url(job.id)));
    }

    void destroyed(const std::string& id, const std::shared_ptr<ResponseChannel>& channel) {
        manager.destroy(id);
        // a cheap list to land on (UWS 1.1 section 2.2.2.1 allows LAST here)
        channel->reply(see_other(jobs_url + "?LAST=100"));
    }

    void job_get(const uws::Job& job, const DaliParams& params, const std::shared_ptr<ResponseChannel>& channel) {
        const auto wait = params.single("WAIT");
        if (!wait) return channel->reply(text(200, kXml, uws::job_document(job, job_url(job.id))));
        auto seconds = parse_int(*wait);
        if (!seconds)
            throw ParamError("WAIT=" + *wait + " must be an integer number of seconds (-1: as long as allowed)");
        std::optional<uws::Phase> phase;
        if (auto p = params.single("PHASE")) {
            phase = uws::parse_phase(upper(*p));
            if (!phase) throw ParamError("PHASE=" + *p + " is not a UWS phase");
        }
        // UWS 1.1 section 2.2.1.2: return at once unless active and in PHASE
        if (!uws::is_active(job.phase) || (phase && job.phase != *phase) || *seconds == 0)
            return channel->reply(text(200, kXml, uws::job_document(job, job_url(job.id))));
        const int cap = manager.options().max_wait_seconds;
        const long long s = (*seconds < 0 || *seconds > cap) ? cap : *seconds;
        std::lock_guard lk(mutex);
        if (static_cast<int>(waiting.size()) >= max_waiting) {
            Reply r = dali_error(503, "too many clients are waiting on jobs; poll without WAIT or retry shortly");
            r.headers.emplace_back("Retry-After", "5");
            return channel->reply(std::move(r));
        }
        waiting.push_back({channel, job.id, job.phase, std::chrono::steady_clock::now() + std::chrono::seconds(s)});
    }

    void result_file(const uws::Job& job, const std::string& rid, bool read, const std::string& range,
                     const std::shared_ptr<ResponseChannel>& channel) {
        if (!read) return not_allowed(channel, "GET");
        const uws::Result* r = nullptr;
        for (const auto& x : job.results)
            if (x.id == rid) r = &x;
        if (!r) return channel->reply(dali_error(404, "job " + job.id + " has no result " + rid));
        FileResponse f;  // RFC 9110 section 14: single byte ranges (server/file_response.hpp)
        f.path = r->path;
        f.content_type = r->mime_type;
        f.range = range;
        if (!download([channel, f = std::move(f)] { send_file(f, *channel, "the result file of this job"); }))
            channel->reply(dali_error(503, "too many downloads waiting; try again shortly"));
    }
};

UwsEndpoint::UwsEndpoint(uws::JobManager& manager, std::string jobs_path, std::string jobs_url, Submit control,
                         Submit download, int max_waiting)
    : impl_(std::make_unique<Impl>(manager, std::move(jobs_path), std::move(jobs_url), std::move(control),
                                   std::move(download), max_waiting)) {}

UwsEndpoint::~UwsEndpoint() = default;

void UwsEndpoint::handle(std::shared_ptr<const Request> request, std::shared_ptr<ResponseChannel> channel,
                         const Caller& caller) {
    impl_->handle(request, channel, caller);
}

void UwsEndpoint::set_access(std::vector<std::string> challenges, AdmitJob admit) {
    impl_->challenges = std::move(challenges);
    impl_->admit = std::move(admit);
}

}  // namespace vo::server
