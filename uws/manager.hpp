// The UWS 1.1 job manager: creates jobs, runs them on a bounded pool of its
// own, moves them through their phases (UWS 1.1 section 2.1.3), blocks WAIT
// requests (section 2.2.1.2), destroys jobs and their results when their
// destruction time comes (section 2.1.6), and recovers after a restart.
//
// The work of a job is an Executor supplied by the service (TAP, SODA): the
// manager knows nothing of queries or cutouts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "uws/job.hpp"
#include "uws/job_store.hpp"

namespace vo::uws {

/// Thrown by an Executor to end its job in phase ERROR with `what()` as the
/// error summary (UWS 1.1 section 2.1.11). Any other exception does too.
class JobFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A request the job's phase does not allow (e.g. parameters changed after
/// RUN, UWS 1.1 section 2.2.3.1); the service answers it with 400 or 409.
class JobStateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What an Executor is given.
struct ExecContext {
    /// Set when the job is aborted or the server stops; the work must stop soon.
    const std::atomic<bool>* cancel = nullptr;
    /// The end of the job's EXECUTIONDURATION (time_point::max() if unlimited).
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Directory for this job's result files (exists, empty).
    std::string result_dir;
    /// Directory of the job's input files (JobManager::attach); may not exist.
    std::string input_dir;
};

/// The path of input file `name` (any text: characters other than letters,
/// digits, '-', '_' and '.' are hex-encoded) in `input_dir`.
std::string input_path(const std::string& input_dir, const std::string& name);

/// Every input file of `input_dir` as (name, content), names decoded as
/// input_path encodes them; empty when the directory does not exist.
std::vector<std::pair<std::string, std::string>> read_input_files(const std::string& input_dir);

/// One result an Executor wrote: `file` is a path inside ExecContext::result_dir.
struct ProducedResult {
    std::string id;  ///< "result" for TAP (TAP 1.1 section 2.4)
    std::string mime_type;
    std::string file;
};

/// Runs one job; returns its results or throws (JobFailure for a clear message).
using Executor = std::function<std::vector<ProducedResult>(const Job&, const ExecContext&)>;

/// Options of a JobManager (configuration [uws]; every limit is published by
/// the service in its capabilities).
struct ManagerOptions {
    std::string results_dir;                         ///< one sub-directory per job
    std::size_t workers = 2;                         ///< jobs running at once
    std::size_t max_queued = 1000;                   ///< QUEUED jobs beyond this: RUN refused
    std::int64_t default_execution_duration = 3600;  ///< s, when the client gives none
    std::int64_t max_execution_duration = 4 * 3600;  ///< s, larger requests are lowered to this
    std::int64_t default_retention = 7 * 86400;      ///< s from creation to destruction
    std::int64_t max_retention = 30 * 86400;         ///< s, later DESTRUCTION requests are lowered
    int max_wait_seconds = 60;                       ///< WAIT=-1 and larger values are capped to this
    std::int64_t results_quota_bytes = std::int64_t{20} * 1024 * 1024 * 1024;  ///< all results together
    std::chrono::seconds reap_interval{60};  ///< how often destruction times are checked
    /// What a job found EXECUTING at start-up becomes: true = QUEUED again
    /// (it runs from the start), false = ERROR saying the server restarted.
    bool rerun_interrupted = false;
    /// On a store shared by several instances: an EXECUTING job without a
    /// heartbeat for this many seconds (by the store's clock; instances send
    /// one every 2 s) belongs to an instance that stopped, and is ended in
    /// ERROR by whichever instance notices first.
    std::int64_t stale_seconds = 15;
};

/// The job manager. Thread-safe. Methods throw JobStoreError on storage
/// failures and JobStateError on requests the job's phase does not allow.
class JobManager {
public:
    /// Takes over `store`; recovers its jobs (QUEUED ones are queued again,
    /// EXECUTING ones become ERROR or QUEUED, see ManagerOptions) and starts
    /// the workers and the reaper.
    JobManager(std::unique_ptr<JobStore> store, Executor executor, ManagerOptions options);
    /// Stops the workers (running jobs are cancelled and recorded as ERROR
    /// "server stopped" unless rerun_interrupted) and the reaper.
    ~JobManager();
    JobManager(const JobManager&) = delete;
    JobManager& operator=(const JobManager&) = delete;

    /// Creates a PENDING job with these parameters (UWS 1.1 section 2.2.3.1).
    /// Destruction = now + default retention, execution duration = default.
    Job create(std::vector<std::pair<std::string, std::string>> parameters, std::string owner, std::string run_id);

    std::optional<Job> find(const std::string& id) const;
    std::vector<Job> list(const JobFilter& filter) const;

    /// PHASE=RUN: PENDING or HELD -> QUEUED. A job already QUEUED, EXECUTING
    /// or finished is left as it is (UWS 1.1 section 2.2.3.2). Throws
    /// JobStateError when the queue is full.
    Job run(const std::string& id);
    /// PHASE=ABORT: a PENDING/QUEUED/HELD job becomes ABORTED at once, an
    /// EXECUTING one is cancelled and becomes ABORTED when its work stops.
    Job abort(const std::string& id);
    /// Deletes the job, its record and its results (aborting it first).
    /// False when there is no such job.
    bool destroy(const std::string& id);
    /// Adds or replaces parameters (names case-insensitive) of a PENDING job.
    Job set_parameters(const std::string& id, const std::vector<std::pair<std::string, std::string>>& parameters);
    /// Stores `content` as input file `name` of a PENDING job, replacing one
    /// of that name: a file sent with the job's parameters (DALI 1.1 section
    /// 3.4.5 inline upload; UWS 1.1 section 2.2.3.1). Refused when the
    /// results quota has no room for it; deleted with the job. Throws JobStateError (not PENDING, quota
    /// used up) or JobStoreError (cannot write).
    void attach(const std::string& id, const std::string& name, std::string_view content);
    /// Sets EXECUTIONDURATION (seconds, capped; 0 or negative = the maximum). PENDING only.
    Job set_execution_duration(const std::string& id, std::int64_t seconds);
    /// Sets DESTRUCTION (capped to creation + max retention).
    Job set_destruction(const std::string& id, Time t);
    /// Blocks while the job is active and in its current phase (or in
    /// `phase`, if given), at most `seconds` (negative or beyond the cap: the
    /// cap) (UWS 1.1 section 2.2.1.2). Returns the job as it is then, or
    /// nullopt when it does not exist (any more).
    std::optional<Job> wait(const std::string& id, int seconds, std::optional<Phase> phase);
    /// A counter of job changes (phase, parameters, destruction); grows by
    /// one or more on every change.
    std::uint64_t change_count() const;
    /// Blocks until change_count() differs from `since` or `timeout` passes;
    /// returns change_count(). For services that watch many WAIT requests
    /// from one thread instead of blocking a thread per request.
    std::uint64_t wait_for_change(std::uint64_t since, std::chrono::milliseconds timeout);
    /// Destroys every job whose destruction time has passed; returns how many.
    std::size_t reap();

    const ManagerOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vo::uws
