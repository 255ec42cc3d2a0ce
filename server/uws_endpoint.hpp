// The HTTP binding of a UWS 1.1 job list (UWS 1.1 section 2.2), e.g.
// /tap/async (TAP 1.1 section 2.2.2): job list and creation, the job and its
// children (phase, executionduration, destruction, quote, owner, error,
// parameters, results, results/{id}), blocking WAIT, DELETE. The work of a
// job is the uws::JobManager's executor; this class only maps HTTP to it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "server/auth.hpp"
#include "server/http.hpp"
#include "server/params.hpp"
#include "uws/manager.hpp"

namespace vo::server {

/// Runs a blocking task off the I/O threads; false when it cannot be queued.
using Submit = std::function<bool(std::function<void()>)>;

/// Checks a job's parameters at creation against the caller's rights
/// (issue 12 item 3: e.g. a SODA async cutout of a proprietary product):
/// nullopt = create it; else the refusal (401/403) to send instead. Runs on
/// a control worker.
using AdmitJob = std::function<std::optional<Reply>(const DaliParams& params, const Caller& caller)>;

/// One UWS job list published at `jobs_path` (e.g. "/tap/async") whose public
/// URL is `jobs_url` (base URL + jobs_path, DESIGN.md "one base URL").
class UwsEndpoint {
public:
    /// `control` runs job-store work (small, bounded); `download` streams
    /// result files (the pool of cutouts and downloads). `max_waiting` WAIT
    /// requests may be parked at once (503 beyond).
    UwsEndpoint(uws::JobManager& manager, std::string jobs_path, std::string jobs_url, Submit control, Submit download,
                int max_waiting);
    ~UwsEndpoint();
    UwsEndpoint(const UwsEndpoint&) = delete;
    UwsEndpoint& operator=(const UwsEndpoint&) = delete;

    /// Handles a request whose path is jobs_path or below it. Never blocks:
    /// store work goes to `control`, result files to `download`, and WAIT
    /// requests are parked until their job changes phase or their time is up
    /// (UWS 1.1 section 2.2.1.2). Errors are DALI error documents: 404 for a
    /// job or child that does not exist, 400 for a malformed parameter, 405
    /// for a method the resource does not take.
    ///
    /// Jobs have owners (issue 12 item 4, UWS 1.1 section 2.1.8): a job
    /// created by an authenticated `caller` is theirs (ownerId); only they
    /// list it, read it, change it, delete it and fetch its results (another
    /// user: 403; anonymous: 401 with `challenges`). Anonymous jobs are in no
    /// list (the job list of an anonymous caller is empty) and reachable
    /// only through their unguessable URL.
    void handle(std::shared_ptr<const Request> request, std::shared_ptr<ResponseChannel> channel,
                const Caller& caller = {});

    /// The WWW-Authenticate challenges of 401 answers, and the check of
    /// new jobs (none by default). Call before the first request.
    void set_access(std::vector<std::string> challenges, AdmitJob admit);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vo::server
