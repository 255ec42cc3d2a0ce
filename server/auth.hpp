// Authentication of HTTP requests (issue 12 item 2): HTTP Basic (RFC 7617)
// against the users store's argon2id hashes, and bearer tokens (RFC 6750)
// that are JWTs (RFC 7519) of an OpenID Connect provider, verified with the
// provider's configured public key (libjwt: signature; here: the algorithm
// pinned by configuration, `exp`, `nbf`, `iss`, `aud`; the user from `sub`
// or a configured claim). Failed logins are counted per client address and
// refused with 429 beyond a configured number in a window (item 5).
//
// Verification is cached: a password hash is checked once per distinct
// credential (keyed by a keyed BLAKE2b digest of the header, never the
// secret itself) until `cache_seconds` pass or the users store changes; a
// token once per token until it expires.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/users.hpp"

namespace vo::server {

/// [auth.jwt]: the OpenID Connect provider whose tokens are accepted.
struct JwtConfig {
    std::string issuer;               ///< required `iss` value
    std::string audience;             ///< required in `aud` (a string or an array)
    std::string public_key_file;      ///< PEM public key (absolute path); "" = bearer tokens off
    std::string public_key;           ///< its text (read when the configuration is loaded)
    std::string algorithm = "RS256";  ///< RS256/384/512, ES256/384/512 or PS256/384/512; tokens must use it
    std::string user_claim = "sub";   ///< the claim naming the user
    int leeway_seconds = 30;          ///< clock skew allowed for exp/nbf
};

/// [auth]: users, failed-login limits, audit log.
struct AuthConfig {
    std::string users_database;  ///< absolute path of users.sqlite ("" = beside the archive store)
    std::string realm = "voserver";
    std::string audit_log;       ///< absolute path ("" = audit.log beside the archive store)
    int max_failed_logins = 10;  ///< per client address and window; then 429
    int failed_login_window_seconds = 300;
    int cache_seconds = 300;  ///< a verified password is trusted this long (or until the store changes)
    JwtConfig jwt;
};

/// Who is asking. Anonymous when `user` is empty.
struct Caller {
    std::string user;
    bool staff = false;
    std::string method;  ///< "basic", "bearer" or "" (anonymous)
    /// proposal_ids the caller may read before their release (PI, delegate)
    std::vector<std::string> projects;
    /// The client address (server/app.cpp client_of), for the audit log.
    std::string client;
    bool authenticated() const { return !user.empty(); }
};

/// Why a request's credentials were refused.
struct AuthFailure {
    enum class Kind {
        malformed,    ///< 400-ish: a malformed Authorization header (answered 401 with a challenge)
        invalid,      ///< wrong password, unknown user, bad/expired token: 401
        rate_limited  ///< too many failures from this address: 429 with Retry-After
    };
    Kind kind = Kind::invalid;
    std::string message;  ///< for the client (names no secret)
    int retry_after_seconds = 0;
    std::string user;  ///< the user name claimed, for the audit log ("" if none)
};

/// The outcome of authenticate(): a caller or a failure.
struct AuthResult {
    std::optional<Caller> caller;
    std::optional<AuthFailure> failure;
};

/// Verifies a bearer token alone (no store). Returns the user name, or the
/// reason it is refused ("expired", "wrong issuer", ...). `now`: seconds
/// since the epoch. Thread-safe.
std::optional<std::string> verify_jwt(const JwtConfig& config, const std::string& token, std::int64_t now,
                                      std::string& why);

/// Authenticates requests; thread-safe, shared by every I/O thread.
class Authenticator {
public:
    Authenticator(AuthConfig config, std::shared_ptr<UserStore> users);

    /// `authorization`: the Authorization header ("" = anonymous);
    /// `client`: the client address failures are counted against.
    AuthResult authenticate(const std::string& authorization, const std::string& client);

    /// True when authenticate() would answer `authorization` from its cache
    /// (no hash or signature to verify): cheap enough for an I/O thread. The
    /// server verifies the others on a worker (an argon2id verification
    /// takes ~50 ms and 64 MiB).
    bool cached(const std::string& authorization);

    /// The WWW-Authenticate challenges of a 401 (RFC 9110 section 11.6.1):
    /// Basic, and Bearer when tokens are configured.
    std::vector<std::string> challenges() const;

    /// True when bearer tokens are accepted.
    bool tokens_enabled() const { return !config_.jwt.public_key.empty(); }

    UserStore& users() { return *users_; }
    /// The caller's projects and staff flag as the store says now (for a
    /// job owner named in a job record).
    Caller caller_named(const std::string& user);

private:
    struct CacheEntry {
        std::string user;
        std::string method;
        std::chrono::steady_clock::time_point until;
        std::uint64_t generation = 0;
    };
    std::optional<AuthFailure> locked_out(const std::string& client);
    void count_failure(const std::string& client);
    std::string cache_key(const std::string& authorization) const;
    Caller finish(const std::string& user, const std::string& method, const Directory& d) const;

    AuthConfig config_;
    std::shared_ptr<UserStore> users_;
    unsigned char key_[32];  ///< random per process: cache keys are keyed digests
    /// The hash verified for unknown users, so that they take as long as known
    /// ones; made on the first Basic login (argon2id holds 64 MiB while it
    /// hashes: a server nobody logs in to with a password never pays it).
    const std::string& dummy_hash();
    std::once_flag dummy_once_;
    std::string dummy_hash_;
    std::mutex mutex_;
    std::unordered_map<std::string, CacheEntry> cache_;
    struct Failures {
        int count = 0;
        std::chrono::steady_clock::time_point window_start;
    };
    std::unordered_map<std::string, Failures> failures_;
};

/// The audit log (issue 12 item 5): one line per access to protected bytes
/// and per refused authorization or login, appended to a file an operator
/// can grep: "TIME client=ADDR user=NAME action=ACTION id=DID outcome=WHAT".
class AuditLog {
public:
    explicit AuditLog(std::string path);  ///< "" = no log
    void record(const std::string& client, const std::string& user, const std::string& action, const std::string& id,
                const std::string& outcome);

private:
    std::string path_;
    std::mutex mutex_;
};

}  // namespace vo::server
