// The UWS 1.1 job model (UWS 1.1 section 2.1): phases, the job record, the
// ISO 8601 times UWS uses, and the XML representations of a job and of a job
// list (UWS 1.1 section 2.2.2 and appendix B, schema UWS-v1.1.xsd).
//
// Nothing here knows TAP or SODA: a job's parameters are name/value pairs and
// its results are files with a MIME type (DESIGN.md: UWS is a library the
// services use).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vo::uws {

/// UWS 1.1 section 2.1.3 execution phases.
enum class Phase { PENDING, QUEUED, EXECUTING, COMPLETED, ERROR, ABORTED, UNKNOWN, HELD, SUSPENDED, ARCHIVED };

/// "PENDING", "QUEUED", ... as UWS writes them.
const char* to_string(Phase p);
/// The phase named `s` (upper case, as UWS writes it), or nullopt.
std::optional<Phase> parse_phase(std::string_view s);
/// True for PENDING, QUEUED and EXECUTING: the phases a job may still leave
/// by itself, and the only ones in which WAIT blocks (UWS 1.1 section 2.2.1.2).
bool is_active(Phase p);

/// Seconds since the Unix epoch, UTC (the unit of every time in a Job).
using Time = std::int64_t;
/// The current time.
Time now();
/// ISO 8601 UTC with a Z, e.g. "2026-12-02T13:54:07Z" (UWS 1.1 section 2.1.4).
std::string iso8601(Time t);
/// Parses an ISO 8601 UTC date and time as UWS clients send it
/// ("2026-12-02T13:54:07Z", with or without "Z", fractional seconds and a
/// "+00:00" offset accepted, a date alone meaning midnight); nullopt if malformed.
std::optional<Time> parse_iso8601(std::string_view s);

/// One result of a job (UWS 1.1 section 2.1.7): `id` is what clients fetch at
/// {job}/results/{id} (TAP 1.1 section 2.4 requires "result"); `path` is the
/// file holding it (never shown to clients).
struct Result {
    std::string id;
    std::string mime_type;
    std::string path;
    std::int64_t size = 0;  ///< bytes
};

/// One job (UWS 1.1 section 2.1). `parameters` keep the order and the case of
/// their first submission; names compare case-insensitively (DALI 1.1 section 3.1).
struct Job {
    std::string id;
    std::string run_id;  ///< RUNID, client-supplied label (section 2.1.9)
    std::string owner;   ///< "" = anonymous (section 2.1.8)
    Phase phase = Phase::PENDING;
    Time creation_time = 0;
    std::optional<Time> start_time, end_time;
    std::int64_t execution_duration = 0;  ///< seconds, 0 = unlimited (section 2.1.5)
    Time destruction = 0;                 ///< when the job and its results are deleted (section 2.1.6)
    std::optional<Time> quote;            ///< expected end (section 2.1.10), when known
    std::vector<std::pair<std::string, std::string>> parameters;
    std::vector<Result> results;
    std::string error_message;  ///< set in phase ERROR (section 2.1.11)
    bool error_fatal = true;    ///< errorSummary type fatal / transient

    /// The value of parameter `name` (case-insensitive), if given.
    std::optional<std::string> parameter(std::string_view name) const;
};

/// The uws:job document (UWS 1.1 appendix B, element `job`) of `job`, whose
/// URL is `job_url` (results link to `job_url`/results/{id}).
std::string job_document(const Job& job, const std::string& job_url);

/// The uws:jobs document (UWS 1.1 section 2.2.2.1): one jobref per job, each
/// linking to `jobs_url`/{id}.
std::string jobs_document(const std::vector<Job>& jobs, const std::string& jobs_url);

/// The uws:results document of `job` (UWS 1.1 section 2.2.2, element `results`).
std::string results_document(const Job& job, const std::string& job_url);

/// The uws:parameters document of `job`.
std::string parameters_document(const Job& job);

/// Escapes `s` for XML text and attribute values.
std::string xml_escape(std::string_view s);

}  // namespace vo::uws
