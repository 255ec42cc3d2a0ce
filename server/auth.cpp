#include "server/auth.hpp"

#include <jwt.h>
#include <sodium.h>

#include <boost/json/src.hpp>  // Boost.JSON header-only (the aud claim)
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>

namespace vo::server {

namespace {

bool iequals_prefix(const std::string& s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

/// A jwt_t freed on scope exit.
struct Jwt {
    jwt_t* p = nullptr;
    ~Jwt() { jwt_free(p); }
};

/// True when the JSON value of `aud` (a string or an array of strings) names `audience`.
bool audience_matches(jwt_t* j, const std::string& audience) {
    if (const char* s = jwt_get_grant(j, "aud")) return audience == s;
    char* json = jwt_get_grants_json(j, "aud");
    if (!json) return false;
    std::string text(json);
    std::free(json);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_array()) return false;
    for (const auto& e : v.as_array())
        if (e.is_string() && e.as_string() == audience) return true;
    return false;
}

}  // namespace

std::optional<std::string> verify_jwt(const JwtConfig& config, const std::string& token, std::int64_t now,
                                      std::string& why) {
    if (config.public_key.empty()) {
        why = "this server accepts no bearer tokens";
        return std::nullopt;
    }
    if (token.empty() || token.size() > 16384) {
        why = "the bearer token is empty or too long";
        return std::nullopt;
    }
    const jwt_alg_t want = jwt_str_alg(config.algorithm.c_str());
    Jwt j;
    // the key is the provider's public key: the signature must verify with it
    if (jwt_decode(&j.p, token.c_str(), reinterpret_cast<const unsigned char*>(config.public_key.data()),
                   static_cast<int>(config.public_key.size())) != 0 ||
        !j.p) {
        why = "the bearer token is malformed or its signature does not verify";
        return std::nullopt;
    }
    // pinned algorithm: refuses alg=none and an HMAC "signed" with the public key
    if (jwt_get_alg(j.p) != want) {
        why = std::string("the bearer token is signed with ") + jwt_alg_str(jwt_get_alg(j.p)) + ", not " +
              config.algorithm;
        return std::nullopt;
    }
    errno = 0;
    const long exp = jwt_get_grant_int(j.p, "exp");
    if (errno == ENOENT) {
        why = "the bearer token has no expiry (exp)";
        return std::nullopt;
    }
    if (now > exp + config.leeway_seconds) {
        why = "the bearer token has expired";
        return std::nullopt;
    }
    errno = 0;
    const long nbf = jwt_get_grant_int(j.p, "nbf");
    if (errno != ENOENT && now + config.leeway_seconds < nbf) {
        why = "the bearer token is not valid yet (nbf)";
        return std::nullopt;
    }
    const char* iss = jwt_get_grant(j.p, "iss");
    if (!iss || config.issuer != iss) {
        why = "the bearer token is not from the configured issuer";
        return std::nullopt;
    }
    if (!config.audience.empty() && !audience_matches(j.p, config.audience)) {
        why = "the bearer token is not meant for this service (aud)";
        return std::nullopt;
    }
    const char* user = jwt_get_grant(j.p, config.user_claim.c_str());
    if (!user || !*user) {
        why = "the bearer token has no " + config.user_claim + " claim";
        return std::nullopt;
    }
    return std::string(user);
}

Authenticator::Authenticator(AuthConfig config, std::shared_ptr<UserStore> users)
    : config_(std::move(config)), users_(std::move(users)) {
    if (sodium_init() < 0) throw UsersError("libsodium cannot be initialised");
    randombytes_buf(key_, sizeof key_);
}

const std::string& Authenticator::dummy_hash() {
    std::call_once(dummy_once_, [this] {
        unsigned char pw[24];
        randombytes_buf(pw, sizeof pw);
        dummy_hash_ = hash_password(std::string(reinterpret_cast<char*>(pw), sizeof pw));
    });
    return dummy_hash_;
}

std::string Authenticator::cache_key(const std::string& authorization) const {
    unsigned char out[32];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(authorization.data()),
                       authorization.size(), key_, sizeof key_);
    return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::optional<AuthFailure> Authenticator::locked_out(const std::string& client) {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(client);
    if (it == failures_.end()) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    const auto window = std::chrono::seconds(config_.failed_login_window_seconds);
    if (now - it->second.window_start >= window) {
        failures_.erase(it);
        return std::nullopt;
    }
    if (it->second.count < config_.max_failed_logins) return std::nullopt;
    AuthFailure f;
    f.kind = AuthFailure::Kind::rate_limited;
    f.retry_after_seconds =
        static_cast<int>(std::chrono::ceil<std::chrono::seconds>(it->second.window_start + window - now).count());
    if (f.retry_after_seconds < 1) f.retry_after_seconds = 1;
    f.message = "too many failed logins from this address (auth.max_failed_logins = " +
                std::to_string(config_.max_failed_logins) + " in " +
                std::to_string(config_.failed_login_window_seconds) + " s); try again in " +
                std::to_string(f.retry_after_seconds) + " s";
    return f;
}

void Authenticator::count_failure(const std::string& client) {
    std::lock_guard lock(mutex_);
    if (failures_.size() > 100000) failures_.clear();  // bounded memory under a flood of addresses
    const auto now = std::chrono::steady_clock::now();
    auto& f = failures_[client];
    if (f.count == 0 || now - f.window_start >= std::chrono::seconds(config_.failed_login_window_seconds)) {
        f.count = 0;
        f.window_start = now;
    }
    ++f.count;
}

Caller Authenticator::finish(const std::string& user, const std::string& method, const Directory& d) const {
    Caller c;
    c.user = user;
    c.method = method;
    if (const UserRecord* u = d.user(user)) c.staff = u->staff;
    c.projects = d.projects_of(user);
    return c;
}

Caller Authenticator::caller_named(const std::string& user) {
    if (user.empty()) return {};
    const auto d = users_->directory();
    return finish(user, "job", *d);
}

bool Authenticator::cached(const std::string& authorization) {
    const auto dir = users_->directory();
    const std::string key = cache_key(authorization);
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    return it != cache_.end() && std::chrono::steady_clock::now() < it->second.until &&
           (it->second.method == "bearer" || it->second.generation == dir->generation);
}

AuthResult Authenticator::authenticate(const std::string& authorization, const std::string& client) {
    AuthResult r;
    if (authorization.empty()) {
        r.caller = Caller{};
        return r;
    }
    if (auto f = locked_out(client)) {
        r.failure = std::move(f);
        return r;
    }
    const auto fail = [&](AuthFailure::Kind kind, std::string message, std::string user = "") {
        count_failure(client);
        r.failure = AuthFailure{kind, std::move(message), 0, std::move(user)};
        return r;
    };
    const auto dir = users_->directory();
    const std::string key = cache_key(authorization);
    {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(key);
        if (it != cache_.end()) {
            const bool fresh = std::chrono::steady_clock::now() < it->second.until &&
                               (it->second.method == "bearer" || it->second.generation == dir->generation);
            if (fresh) {
                r.caller = finish(it->second.user, it->second.method, *dir);
                return r;
            }
            cache_.erase(it);
        }
    }
    std::string user, method;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(config_.cache_seconds);
    if (iequals_prefix(authorization, "Basic ")) {
        const std::string b64 = trim(authorization.substr(6));
        std::string plain(b64.size(), '\0');
        std::size_t len = 0;
        if (b64.empty() || sodium_base642bin(reinterpret_cast<unsigned char*>(plain.data()), plain.size(), b64.data(),
                                             b64.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
            return fail(AuthFailure::Kind::malformed,
                        "malformed Authorization header: Basic credentials are not base64");
        plain.resize(len);
        const auto colon = plain.find(':');
        if (colon == std::string::npos)
            return fail(AuthFailure::Kind::malformed,
                        "malformed Authorization header: Basic credentials need user:password");
        user = plain.substr(0, colon);
        const std::string password = plain.substr(colon + 1);
        const UserRecord* u = dir->user(user);
        // an unknown user costs as much as a known one (no user enumeration by timing)
        const bool ok = verify_password(u ? u->password_hash : dummy_hash(), password) && u;
        sodium_memzero(plain.data(), plain.size());
        if (!ok) return fail(AuthFailure::Kind::invalid, "wrong user name or password", user);
        method = "basic";
    } else if (iequals_prefix(authorization, "Bearer ")) {
        const std::string token = trim(authorization.substr(7));
        std::string why;
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        auto name = verify_jwt(config_.jwt, token, now, why);
        if (!name) return fail(AuthFailure::Kind::invalid, why);
        user = *name;
        method = "bearer";
        Jwt j;  // cache no longer than the token lives (already verified: decode only)
        if (jwt_decode(&j.p, token.c_str(), reinterpret_cast<const unsigned char*>(config_.jwt.public_key.data()),
                       static_cast<int>(config_.jwt.public_key.size())) == 0 &&
            j.p) {
            const long exp = jwt_get_grant_int(j.p, "exp");
            const auto left = std::chrono::seconds(std::max<long>(0, exp - now));
            until = std::min(until, std::chrono::steady_clock::now() + left);
        }
    } else {
        return fail(AuthFailure::Kind::malformed,
                    "malformed Authorization header: this server takes the Basic and Bearer schemes");
    }
    {
        std::lock_guard lock(mutex_);
        if (cache_.size() > 10000) cache_.clear();  // bounded; refilled by the next requests
        cache_[key] = CacheEntry{user, method, until, dir->generation};
    }
    r.caller = finish(user, method, *dir);
    return r;
}

std::vector<std::string> Authenticator::challenges() const {
    std::vector<std::string> c{"Basic realm=\"" + config_.realm + "\", charset=\"UTF-8\""};
    if (tokens_enabled()) c.push_back("Bearer realm=\"" + config_.realm + "\"");
    return c;
}

AuditLog::AuditLog(std::string path) : path_(std::move(path)) {}

void AuditLog::record(const std::string& client, const std::string& user, const std::string& action,
                      const std::string& id, const std::string& outcome) {
    if (path_.empty()) return;
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    // values are written without spaces or newlines, so a line is one record
    const auto clean = [](std::string s) {
        for (char& c : s)
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') c = '_';
        return s.empty() ? std::string("-") : s;
    };
    const std::string line = std::string(when) + " client=" + clean(client) + " user=" + clean(user) +
                             " action=" + clean(action) + " id=" + clean(id) + " outcome=" + clean(outcome) + "\n";
    std::lock_guard lock(mutex_);
    if (FILE* f = std::fopen(path_.c_str(), "a")) {
        std::fwrite(line.data(), 1, line.size(), f);
        std::fclose(f);
    }
}

}  // namespace vo::server
