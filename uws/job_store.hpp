// Where UWS jobs live between requests and across restarts (UWS 1.1 section
// 2.1: a job exists until its destruction time). The interface lets a later
// store (PostgreSQL, shared by several server instances) replace the SQLite
// file without touching the job manager.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "uws/job.hpp"

namespace vo::uws {

/// A failure of the job store itself (disk full, corrupt file): a server
/// error, not the client's.
class JobStoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Filters of a job list (UWS 1.1 section 2.2.2.1). Jobs are listed by
/// descending creation time; ARCHIVED jobs only when `phases` names ARCHIVED.
struct JobFilter {
    std::vector<Phase> phases;         ///< PHASE= (repeatable, a union); empty = all but ARCHIVED
    std::optional<Time> after;         ///< AFTER=: created strictly after
    std::optional<std::size_t> last;   ///< LAST=: at most this many, the most recent
    std::optional<std::string> owner;  ///< only this owner's jobs (authentication, later)
};

/// The persistent set of jobs. Thread-safe. Every method throws JobStoreError
/// on a storage failure.
class JobStore {
public:
    virtual ~JobStore() = default;
    /// Adds a new job (its id must be unused).
    virtual void insert(const Job& job) = 0;
    /// Replaces the stored record of `job.id` (all fields).
    virtual void update(const Job& job) = 0;
    /// The job `id`, or nullopt.
    virtual std::optional<Job> find(const std::string& id) const = 0;
    /// Jobs matching `filter`, most recent first.
    virtual std::vector<Job> list(const JobFilter& filter) const = 0;
    /// Removes the record of `id` (results files are the caller's).
    virtual void remove(const std::string& id) = 0;
    /// Jobs whose destruction time is at or before `t`.
    virtual std::vector<Job> due_for_destruction(Time t) const = 0;

    /// Replaces the stored record of `job.id` only if its stored phase is
    /// `expected`, atomically (compare and set); false, changing nothing,
    /// when the phase differs or the job is gone. How server instances that
    /// share a store claim a QUEUED job (one claim wins) and record a job's
    /// end without undoing an ABORT made through another instance.
    virtual bool update_if(const Job& job, Phase expected) = 0;

    /// True when other processes may change the jobs too (a store shared by
    /// several server instances): the job manager then watches the store for
    /// their changes (change_stamp), heartbeats the jobs it executes and
    /// takes over those of an instance that stopped (stale_executing).
    virtual bool shared() const { return false; }

    /// A value that changes whenever any process changes any job (shared
    /// stores; 0 otherwise). Cheap: polled several times a second.
    virtual std::uint64_t change_stamp() const { return 0; }

    /// Records that the EXECUTING jobs `ids` are alive now, by the store's
    /// clock (shared stores; every write of a job counts as a sign of life too).
    virtual void heartbeat(const std::vector<std::string>& ids) {}

    /// EXECUTING jobs without a sign of life for more than `seconds` by the
    /// store's clock (so instances' clocks need not agree): jobs whose
    /// instance stopped without ending them (shared stores).
    virtual std::vector<Job> stale_executing(std::int64_t seconds) const { return {}; }

    /// Bytes of all results of COMPLETED jobs (the results quota).
    virtual std::int64_t results_bytes() const {
        std::int64_t total = 0;
        JobFilter completed;
        completed.phases = {Phase::COMPLETED};
        for (const auto& j : list(completed))
            if (const auto full = find(j.id))
                for (const auto& r : full->results) total += r.size;
        return total;
    }
};

/// A JobStore in one SQLite file in WAL mode (crash-safe: each change is one
/// transaction, so a `kill -9` loses nothing that was acknowledged). Creates
/// the file and its schema when missing. Throws JobStoreError when the file
/// cannot be opened or created.
std::unique_ptr<JobStore> open_sqlite_job_store(const std::string& path);

/// A JobStore in a PostgreSQL database, shared by every server instance that
/// opens it (issue 11 item 4): tables `job`, `parameter`, `result` in schema
/// `schema` (created when missing, with the writer role that `url` names),
/// each change one transaction, a sequence `change_seq` bumped by every
/// change (change_stamp), a `heartbeat` column (stale_executing). A lost
/// connection is re-established on the next call. Throws JobStoreError
/// naming the URL without its password.
std::unique_ptr<JobStore> open_pg_job_store(const std::string& url, const std::string& schema = "uws");

}  // namespace vo::uws
