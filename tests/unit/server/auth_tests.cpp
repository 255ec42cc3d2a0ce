// Unit tests of the users store and the authentication of requests (issue 12
// item 2): argon2id hashes, Basic credentials, the verification cache, the
// failed-login limit, PI/delegate rules, and the product rights decision.
#include <catch2/catch.hpp>

#include <sodium.h>

#include <filesystem>
#include <random>
#include <string>

#include "obscore/record.hpp"
#include "server/access.hpp"
#include "server/auth.hpp"
#include "server/config.hpp"
#include "server/users.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace vo::server;

namespace {

using vo::testing::TempDir;

std::string basic(const std::string& user_password) {
    std::string out(sodium_base64_ENCODED_LEN(user_password.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(user_password.data()),
                      user_password.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.find('\0'));
    return "Basic " + out;
}

}  // namespace

TEST_CASE("passwords are stored as argon2id hashes and verified", "[auth]") {
    const std::string h = hash_password("correct horse");
    CHECK(h.rfind("$argon2id$", 0) == 0);
    CHECK(h.find("correct horse") == std::string::npos);
    CHECK(verify_password(h, "correct horse"));
    CHECK_FALSE(verify_password(h, "correct horsE"));
    CHECK_FALSE(verify_password(h, ""));
    CHECK_FALSE(verify_password("not a hash", "correct horse"));
    CHECK_FALSE(verify_password("", ""));
    CHECK(hash_password("correct horse") != h);  // salted
}

TEST_CASE("the users store keeps users, PIs and delegates; a delegate cannot delegate", "[auth]") {
    TempDir dir;
    const std::string db = (dir.path / "users.sqlite").string();
    UserStore store(db);
    store.add_user("pi", "pw-pi", false);
    store.add_user("friend", "pw-friend", false);
    store.add_user("other", "pw-other", false);
    store.add_user("boss", "pw-boss", true);
    CHECK_THROWS_AS(store.add_user("pi", "again", false), UsersError);
    CHECK_THROWS_AS(store.add_user("bad:name", "pw", false), UsersError);
    CHECK_THROWS_AS(store.add_user("empty", "", false), UsersError);
    CHECK_THROWS_AS(store.set_pi("2019.1.00001.S", "nobody"), UsersError);
    store.set_pi("2019.1.00001.S", "pi");
    store.delegate("2019.1.00001.S", "friend", "pi");
    // the delegate may not delegate further, another user neither; staff may
    CHECK_THROWS_WITH(store.delegate("2019.1.00001.S", "other", "friend"),
                      Catch::Contains("a delegate cannot delegate further"));
    CHECK_THROWS_AS(store.delegate("2019.1.00001.S", "other", "other"), UsersError);
    CHECK_THROWS_AS(store.delegate("no.such.project", "other", "pi"), UsersError);
    auto d = store.directory(0);
    CHECK(d->may_read_project("pi", "2019.1.00001.S"));
    CHECK(d->may_read_project("friend", "2019.1.00001.S"));
    CHECK_FALSE(d->may_read_project("other", "2019.1.00001.S"));
    CHECK(d->projects_of("friend") == std::vector<std::string>{"2019.1.00001.S"});
    store.delegate("2019.1.00001.S", "other", "boss");
    CHECK(store.directory(0)->may_read_project("other", "2019.1.00001.S"));
    CHECK(store.undelegate("2019.1.00001.S", "other", "pi"));
    CHECK_FALSE(store.undelegate("2019.1.00001.S", "other", "pi"));
    // a second connection (another process: the CLI) sees the changes; removal takes the delegations
    UserStore again(db);
    again.remove_user("friend");
    CHECK_FALSE(store.directory(0)->may_read_project("friend", "2019.1.00001.S"));
    CHECK(store.directory(0)->user("friend") == nullptr);
}

TEST_CASE("Basic credentials are verified once, cached, and refused when wrong or malformed", "[auth]") {
    TempDir dir;
    auto store = std::make_shared<UserStore>((dir.path / "users.sqlite").string());
    store->add_user("pi", "s3cret", false);
    store->set_pi("P1", "pi");
    AuthConfig config;
    config.max_failed_logins = 3;
    Authenticator auth(config, store);

    auto ok = auth.authenticate(basic("pi:s3cret"), "10.0.0.1");
    REQUIRE(ok.caller);
    CHECK(ok.caller->user == "pi");
    CHECK(ok.caller->method == "basic");
    CHECK(ok.caller->projects == std::vector<std::string>{"P1"});
    CHECK_FALSE(auth.authenticate("", "10.0.0.1").caller->authenticated());

    // the cache answers a repeated credential without a second argon2 verification
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) REQUIRE(auth.authenticate(basic("pi:s3cret"), "10.0.0.1").caller);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));

    // a changed password: the cached credential no longer works
    store->add_user("pi", "n3w", false, true);
    CHECK(auth.authenticate(basic("pi:s3cret"), "10.0.0.9").failure);
    CHECK(auth.authenticate(basic("pi:n3w"), "10.0.0.9").caller);

    for (const std::string& bad : {basic("pi:wrong"), basic("nobody:s3cret"), std::string("Basic !!!"),
                                   basic("no-colon"), std::string("Digest x=y"), std::string("Bearer abc")}) {
        auto r = auth.authenticate(bad, "10.0.0.2");
        REQUIRE(r.failure);
        CHECK_FALSE(r.caller);
        if (r.failure->kind == AuthFailure::Kind::rate_limited) break;
    }
    // three failures from 10.0.0.2: now even the right password gets 429 there, not elsewhere
    auto limited = auth.authenticate(basic("pi:n3w"), "10.0.0.2");
    REQUIRE(limited.failure);
    CHECK(limited.failure->kind == AuthFailure::Kind::rate_limited);
    CHECK(limited.failure->retry_after_seconds >= 1);
    CHECK(auth.authenticate(basic("pi:n3w"), "10.0.0.3").caller);
}

TEST_CASE("a product's bytes go to its PI, delegates and staff before release, to all after", "[auth]") {
    vo::obscore::ProductFile p;
    p.proposal_id = "P1";
    p.obs_release_date = "2030-01-01T00:00:00";
    const std::time_t before = 1700000000;  // 2023
    const std::time_t after = 1900000000;   // 2030-03
    Caller anonymous, pi, other, staff;
    pi.user = "pi";
    pi.projects = {"P0", "P1"};
    other.user = "other";
    other.projects = {"P2"};
    staff.user = "boss";
    staff.staff = true;
    CHECK_FALSE(product_rights(anonymous, p, before).authorized);
    CHECK_FALSE(product_rights(other, p, before).authorized);
    CHECK(product_rights(pi, p, before).authorized);
    CHECK(product_rights(staff, p, before).authorized);
    CHECK_FALSE(product_rights(pi, p, before).released);
    for (const Caller* c : {&anonymous, &other, &pi}) CHECK(product_rights(*c, p, after).authorized);
    p.obs_release_date.reset();  // no release date: public
    CHECK(product_rights(anonymous, p, before).authorized);
    p.obs_release_date = "2030-01-01T00:00:00";
    p.proposal_id.reset();  // no project: only staff before release
    CHECK_FALSE(product_rights(pi, p, before).authorized);
    CHECK(product_rights(staff, p, before).authorized);
}

TEST_CASE("the [auth] configuration is read and checked", "[auth][config]") {
    const auto c = parse_config("[auth]\nmax_failed_logins = 4\nrealm = \"ALMA\"\n", "/etc/vo/x.toml");
    CHECK(c.auth.max_failed_logins == 4);
    CHECK(c.auth.realm == "ALMA");
    CHECK(c.auth.users_database == "/etc/vo/var/users.sqlite");
    CHECK_THROWS_WITH(parse_config("[auth]\nrealm = \"a\\\"b\"\n", "/x.toml"), Catch::Contains("auth.realm"));
    CHECK_THROWS_WITH(parse_config("[auth.jwt]\nissuer = \"x\"\n", "/x.toml"), Catch::Contains("public_key"));
    CHECK_THROWS_WITH(parse_config("[auth]\nno_such = 1\n", "/x.toml"), Catch::Contains("unknown key"));
    CHECK_THROWS_WITH(parse_config("[[collection]]\nname = \"c\"\ndirectories = [\"d\"]\nrelease_date_keyword = "
                                   "\"release date\"\n",
                                   "/x.toml"),
                      Catch::Contains("release_date_keyword"));
}
