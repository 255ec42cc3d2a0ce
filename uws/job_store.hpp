// Where UWS jobs live between requests and across restarts (UWS 1.1 section
// 2.1: a job exists until its destruction time). The interface lets a later
// store (PostgreSQL, shared by several server instances) replace the SQLite
// file without touching the job manager.
#pragma once

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
};

/// A JobStore in one SQLite file in WAL mode (crash-safe: each change is one
/// transaction, so a `kill -9` loses nothing that was acknowledged). Creates
/// the file and its schema when missing. Throws JobStoreError when the file
/// cannot be opened or created.
std::unique_ptr<JobStore> open_sqlite_job_store(const std::string& path);

}  // namespace vo::uws
