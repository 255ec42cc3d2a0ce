// Users, projects and delegations of an archive with proprietary data
// (issue 12 items 1-2): who may read a project's data before its release.
//
// The ALMA Science Archive Manual's model: every product belongs to a
// project (ObsCore `proposal_id`); a project has one PI, who may delegate
// access to the whole project to other registered users; a delegate cannot
// delegate further; archive staff may read everything. Passwords are stored
// only as argon2id hashes (libsodium `crypto_pwhash_argon2id_str`, PHC string
// format with salt and parameters); verification is libsodium's, which
// compares in constant time.
//
// The store is a SQLite file (`[auth] users_database`, default users.sqlite
// beside the archive store), written by `voserver users|projects ...` and by
// the delegation API, read by the server as an in-memory `Directory`
// snapshot reloaded when another connection has committed a change.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace vo::server {

/// A bad request to the users store: unknown user or project, a name that is
/// not allowed, a delegation the caller may not make. The message says which.
class UsersError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The argon2id hash (PHC string "$argon2id$v=19$m=...,t=...,p=1$salt$hash")
/// of `password` with libsodium's interactive limits (64 MiB, 2 passes).
/// Throws UsersError when the memory cannot be had.
std::string hash_password(const std::string& password);

/// True when `password` matches the PHC string `hash` (constant-time
/// comparison inside libsodium). False for a malformed hash.
bool verify_password(const std::string& hash, const std::string& password);

/// One registered user.
struct UserRecord {
    std::string name;
    std::string password_hash;  ///< argon2id PHC string ("" = no password: bearer tokens only)
    bool staff = false;         ///< archive staff: may read every product
};

/// One project (proposal) with its PI and delegates.
struct ProjectRecord {
    std::string id;  ///< the proposal_id of its products
    std::string pi;  ///< user name ("" = none set)
    std::set<std::string> delegates;
};

/// An immutable snapshot of the store: what authentication and
/// authorization read per request without touching the file.
struct Directory {
    std::map<std::string, UserRecord> users;
    std::map<std::string, ProjectRecord> projects;
    /// user -> proposal_ids the user may read (as PI or delegate)
    std::map<std::string, std::vector<std::string>> readable;
    /// Incremented at each reload: cached credentials of an older snapshot
    /// are checked again (a changed password, a removed user).
    std::uint64_t generation = 0;

    const UserRecord* user(const std::string& name) const;
    /// The proposal_ids `user` may read before release (PI or delegate).
    const std::vector<std::string>& projects_of(const std::string& user) const;
    /// True if `user` is the PI or a delegate of `project`.
    bool may_read_project(const std::string& user, const std::string& project) const;
};

/// The users store (SQLite). Thread-safe: one connection behind a mutex.
class UserStore {
public:
    /// Opens (creating the file and tables if missing) the store at `path`.
    /// Throws UsersError naming the file.
    explicit UserStore(const std::string& path);
    ~UserStore();
    UserStore(const UserStore&) = delete;
    UserStore& operator=(const UserStore&) = delete;

    /// Adds a user or, when `replace`, sets an existing user's password and
    /// staff flag. Names: 1-64 characters of letters, digits and ._@+- (no
    /// ':', which HTTP Basic reserves). Throws UsersError.
    void add_user(const std::string& name, const std::string& password, bool staff, bool replace = false);
    /// Removes a user, with their delegations; a project whose PI they were
    /// keeps no PI. Throws UsersError if unknown.
    void remove_user(const std::string& name);
    /// Sets the PI of `project` (created if new). The user must exist.
    void set_pi(const std::string& project, const std::string& user);
    /// Grants `user` read access to `project` on behalf of `by`: `by` must
    /// be the project's PI or staff ("" = the operator's command line);
    /// a delegate may not delegate further (UsersError saying so).
    void delegate(const std::string& project, const std::string& user, const std::string& by = "");
    /// Withdraws a delegation, with the same rule for `by`. Returns false
    /// if `user` was no delegate of `project`.
    bool undelegate(const std::string& project, const std::string& user, const std::string& by = "");

    /// The current snapshot, reloaded first when the file changed (another
    /// process or connection committed) at most once per `recheck_ms`.
    std::shared_ptr<const Directory> directory(int recheck_ms = 1000);

private:
    void reload_locked();
    std::mutex mutex_;
    sqlite3* db_ = nullptr;
    std::string path_;
    std::shared_ptr<const Directory> snapshot_;
    std::int64_t data_version_ = -1;
    std::int64_t checked_ms_ = 0;
    std::uint64_t generation_ = 0;
};

}  // namespace vo::server
