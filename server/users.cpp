#include "server/users.hpp"

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

namespace vo::server {

namespace {

/// libsodium must be initialised once before use (thread-safe, idempotent).
void init_sodium() {
    static const int rc = sodium_init();
    if (rc < 0) throw UsersError("libsodium cannot be initialised");
}

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string now_iso() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return b;
}

/// One prepared statement, finalized on scope exit.
class Stmt {
public:
    Stmt(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path) {
        if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail("cannot prepare");
    }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    bool step() {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc != SQLITE_DONE) fail("cannot run");
        return false;
    }
    std::string text(int i) const {
        const auto* p = sqlite3_column_text(s_, i);
        return p ? reinterpret_cast<const char*>(p) : "";
    }
    std::int64_t integer(int i) const { return sqlite3_column_int64(s_, i); }

private:
    [[noreturn]] void fail(const char* what) const {
        throw UsersError("users store " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
    }
    sqlite3* db_;
    const std::string& path_;
    sqlite3_stmt* s_ = nullptr;
};

void exec(sqlite3* db, const std::string& path, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string m = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        throw UsersError("users store " + path + ": " + m);
    }
}

void check_name(const std::string& what, const std::string& name) {
    if (name.empty() || name.size() > 64) throw UsersError(what + " names have 1 to 64 characters");
    if (what == "user") {
        for (unsigned char c : name)
            if (!(std::isalnum(c) || c == '.' || c == '_' || c == '@' || c == '+' || c == '-'))
                throw UsersError("user name '" + name + "': only letters, digits and . _ @ + - are allowed");
        return;
    }
    // project (proposal) identifiers as archives write them: 2019.1.01234.S, 1100.B-0651(A)
    for (unsigned char c : name)
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\' || c == '/')
            throw UsersError(what + " '" + name + "': no spaces, quotes, backslashes, '/' or control characters");
}

/// The project `project` of `d`, when `by` may manage its delegates: its
/// PI, archive staff, or "" (the operator's command line). A delegate may
/// not delegate further (ALMA Science Archive Manual). Throws UsersError.
std::map<std::string, ProjectRecord>::const_iterator managed_project(const Directory& d, const std::string& project,
                                                                     const std::string& by) {
    auto p = d.projects.find(project);
    if (p == d.projects.end()) throw UsersError("no project " + project);
    if (!by.empty()) {
        const UserRecord* actor = d.user(by);
        if (!actor || (!actor->staff && p->second.pi != by))
            throw UsersError("only the PI of project " + project + " (or archive staff) may manage its delegates" +
                             (p->second.delegates.count(by) ? "; a delegate cannot delegate further" : ""));
    }
    return p;
}

const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, staff INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, pi TEXT);
CREATE TABLE IF NOT EXISTS delegates (
  project TEXT NOT NULL, user TEXT NOT NULL, granted_by TEXT NOT NULL, granted TEXT NOT NULL,
  PRIMARY KEY (project, user));
)sql";

}  // namespace

std::string hash_password(const std::string& password) {
    init_sodium();
    char out[crypto_pwhash_argon2id_STRBYTES];
    if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                                   crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE) != 0)
        throw UsersError("cannot hash the password (out of memory)");
    return out;
}

bool verify_password(const std::string& hash, const std::string& password) {
    init_sodium();
    if (hash.empty() || hash.size() >= crypto_pwhash_argon2id_STRBYTES) return false;
    return crypto_pwhash_argon2id_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

const UserRecord* Directory::user(const std::string& name) const {
    auto it = users.find(name);
    return it == users.end() ? nullptr : &it->second;
}

const std::vector<std::string>& Directory::projects_of(const std::string& user) const {
    static const std::vector<std::string> none;
    auto it = readable.find(user);
    return it == readable.end() ? none : it->second;
}

bool Directory::may_read_project(const std::string& user, const std::string& project) const {
    if (user.empty() || project.empty()) return false;
    auto it = projects.find(project);
    if (it == projects.end()) return false;
    return it->second.pi == user || it->second.delegates.count(user) > 0;
}

UserStore::UserStore(const std::string& path) : path_(path) {
    init_sodium();
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string m = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw UsersError("users store " + path + ": cannot open: " + m);
    }
    sqlite3_busy_timeout(db_, 5000);
    try {
        exec(db_, path_, "PRAGMA journal_mode=WAL");
        exec(db_, path_, kSchema);
        std::lock_guard lock(mutex_);
        reload_locked();
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

UserStore::~UserStore() { sqlite3_close(db_); }

void UserStore::reload_locked() {
    auto d = std::make_shared<Directory>();
    {
        Stmt s(db_, path_, "SELECT name, password_hash, staff FROM users");
        while (s.step()) d->users[s.text(0)] = {s.text(0), s.text(1), s.integer(2) != 0};
    }
    {
        Stmt s(db_, path_, "SELECT id, COALESCE(pi, '') FROM projects");
        while (s.step()) {
            auto& p = d->projects[s.text(0)];
            p.id = s.text(0);
            p.pi = s.text(1);
            if (!p.pi.empty()) d->readable[p.pi].push_back(p.id);
        }
    }
    {
        Stmt s(db_, path_, "SELECT project, user FROM delegates");
        while (s.step()) {
            auto it = d->projects.find(s.text(0));
            if (it == d->projects.end()) continue;
            if (it->second.delegates.insert(s.text(1)).second && it->second.pi != s.text(1))
                d->readable[s.text(1)].push_back(it->first);
        }
    }
    for (auto& [user, list] : d->readable) std::sort(list.begin(), list.end());
    Stmt v(db_, path_, "PRAGMA data_version");
    v.step();
    data_version_ = v.integer(0);
    d->generation = ++generation_;
    snapshot_ = std::move(d);
    checked_ms_ = steady_ms();
}

std::shared_ptr<const Directory> UserStore::directory(int recheck_ms) {
    std::lock_guard lock(mutex_);
    const std::int64_t now = steady_ms();
    if (now - checked_ms_ >= recheck_ms) {
        checked_ms_ = now;
        Stmt v(db_, path_, "PRAGMA data_version");
        v.step();
        if (v.integer(0) != data_version_) reload_locked();
    }
    return snapshot_;
}

void UserStore::add_user(const std::string& name, const std::string& password, bool staff, bool replace) {
    check_name("user", name);
    if (password.empty()) throw UsersError("user " + name + ": an empty password is not allowed");
    const std::string hash = hash_password(password);
    std::lock_guard lock(mutex_);
    {
        Stmt s(db_, path_, "SELECT 1 FROM users WHERE name = ?1");
        s.bind(1, name);
        if (s.step() && !replace) throw UsersError("user " + name + " exists already");
    }
    Stmt s(db_, path_,
           "INSERT INTO users (name, password_hash, staff, created) VALUES (?1, ?2, ?3, ?4) "
           "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, staff = excluded.staff");
    s.bind(1, name).bind(2, hash).bind(3, std::int64_t{staff ? 1 : 0}).bind(4, now_iso());
    s.step();
    reload_locked();
}

void UserStore::remove_user(const std::string& name) {
    std::lock_guard lock(mutex_);
    exec(db_, path_, "BEGIN IMMEDIATE");
    try {
        Stmt s(db_, path_, "DELETE FROM users WHERE name = ?1");
        s.bind(1, name);
        s.step();
        if (sqlite3_changes(db_) == 0) throw UsersError("no user " + name);
        Stmt d(db_, path_, "DELETE FROM delegates WHERE user = ?1");
        d.bind(1, name);
        d.step();
        Stmt p(db_, path_, "UPDATE projects SET pi = NULL WHERE pi = ?1");
        p.bind(1, name);
        p.step();
        exec(db_, path_, "COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    reload_locked();
}

void UserStore::set_pi(const std::string& project, const std::string& user) {
    check_name("project", project);
    std::lock_guard lock(mutex_);
    if (!snapshot_->user(user)) reload_locked();
    if (!snapshot_->user(user))
        throw UsersError("no user " + user + " (add it first: voserver users add " + user + ")");
    Stmt s(db_, path_, "INSERT INTO projects (id, pi) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET pi = excluded.pi");
    s.bind(1, project).bind(2, user);
    s.step();
    reload_locked();
}

void UserStore::delegate(const std::string& project, const std::string& user, const std::string& by) {
    std::lock_guard lock(mutex_);
    reload_locked();
    const auto& d = *snapshot_;
    const auto p = managed_project(d, project, by);
    if (!d.user(user)) throw UsersError("no user " + user);
    if (p->second.pi == user) throw UsersError(user + " is the PI of project " + project);
    Stmt s(db_, path_,
           "INSERT INTO delegates (project, user, granted_by, granted) VALUES (?1, ?2, ?3, ?4) "
           "ON CONFLICT (project, user) DO NOTHING");
    s.bind(1, project).bind(2, user).bind(3, by.empty() ? std::string("(operator)") : by).bind(4, now_iso());
    s.step();
    reload_locked();
}

bool UserStore::undelegate(const std::string& project, const std::string& user, const std::string& by) {
    std::lock_guard lock(mutex_);
    reload_locked();
    managed_project(*snapshot_, project, by);
    Stmt s(db_, path_, "DELETE FROM delegates WHERE project = ?1 AND user = ?2");
    s.bind(1, project).bind(2, user);
    s.step();
    const bool removed = sqlite3_changes(db_) > 0;
    reload_locked();
    return removed;
}

}  // namespace vo::server
