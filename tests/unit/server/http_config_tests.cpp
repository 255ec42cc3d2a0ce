// The configuration keys of the HTTP layer ([server] and [limits]).
#include <catch2/catch.hpp>

#include "server/config.hpp"

using namespace vo::server;

namespace {

std::string error_of(const std::string& text) {
    try {
        parse_config(text, "/etc/vo/test.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("HTTP keys: defaults", "[config][http]") {
    const Config c = parse_config("", "/etc/vo/test.toml");
    CHECK(c.server.write_timeout_seconds == 120);
    CHECK(c.server.spool_dir.empty());
    CHECK(c.server.access_log.empty());
    CHECK(c.server.access_log_max_bytes == 0);
    CHECK(c.server.access_log_keep == 5);
    CHECK(c.limits.max_url_bytes == 65536);
    CHECK(c.limits.max_header_bytes == 65536);
    CHECK(c.limits.spool_bytes_per_response == std::int64_t{1} << 30);
    CHECK(c.limits.spool_bytes_total == std::int64_t{4} << 30);
}

TEST_CASE("HTTP keys: values, paths resolved against the file's directory", "[config][http]") {
    const Config c = parse_config(R"(
[server]
write_timeout_seconds = 30
spool_dir = "spool"
access_log = "log/access.log"
access_log_max_bytes = 1000000
access_log_keep = 3
[limits]
max_url_bytes = 131072
max_header_bytes = 32768
spool_bytes_per_response = 0
spool_bytes_total = 100
)",
                                  "/etc/vo/test.toml");
    CHECK(c.server.write_timeout_seconds == 30);
    CHECK(c.server.spool_dir == "/etc/vo/spool");
    CHECK(c.server.access_log == "/etc/vo/log/access.log");
    CHECK(c.server.access_log_max_bytes == 1000000);
    CHECK(c.server.access_log_keep == 3);
    CHECK(c.limits.max_url_bytes == 131072);
    CHECK(c.limits.max_header_bytes == 32768);
    CHECK(c.limits.spool_bytes_per_response == 0);
    CHECK(c.limits.spool_bytes_total == 100);
    CHECK(parse_config("[server]\naccess_log = \"-\"\n", "/etc/vo/test.toml").server.access_log == "-");
}

TEST_CASE("HTTP keys: bad values name the key", "[config][http]") {
    CHECK_THAT(error_of("[server]\nwrite_timeout_seconds = 0\n"), Catch::Contains("server.write_timeout_seconds"));
    CHECK_THAT(error_of("[server]\naccess_log = 1\n"), Catch::Contains("server.access_log: must be a string"));
    CHECK_THAT(error_of("[server]\naccess_log_max_bytes = -1\n"), Catch::Contains("server.access_log_max_bytes"));
    CHECK_THAT(error_of("[limits]\nmax_url_bytes = 10\n"), Catch::Contains("limits.max_url_bytes: must be between"));
    CHECK_THAT(error_of("[limits]\nmax_header_bytes = \"big\"\n"), Catch::Contains("limits.max_header_bytes"));
    CHECK_THAT(error_of("[limits]\nspool_bytes_total = -5\n"), Catch::Contains("limits.spool_bytes_total"));
    CHECK_THAT(error_of("[limits]\nspool_byte_total = 5\n"), Catch::Contains("limits.spool_byte_total: unknown key"));
}

TEST_CASE("HTTP keys: trusted_proxies and database URLs", "[config][http]") {
    const Config c = parse_config(R"(
[server]
trusted_proxies = ["127.0.0.1", "::1", "10.0.0.5"]
[archive]
database = "postgresql://voserver_writer@db.example.org:5432/archive"
jobs_database = "postgresql://voserver_writer@db.example.org:5432/archive"
)",
                                  "/etc/vo/test.toml");
    CHECK(c.server.trusted_proxies == std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.5"});
    // URLs are kept as written (a file path would be resolved against /etc/vo)
    CHECK(c.archive.database == "postgresql://voserver_writer@db.example.org:5432/archive");
    CHECK(c.archive.jobs_database == c.archive.database);
    CHECK(c.archive.query_database == c.archive.database);
    CHECK(c.archive.results_dir == "/etc/vo/var/results");
    CHECK(parse_config("", "/etc/vo/test.toml").server.trusted_proxies.empty());
    CHECK_THAT(error_of("[server]\ntrusted_proxies = [\"balancer\"]\n"),
               Catch::Contains("server.trusted_proxies") && Catch::Contains("not an IP address"));
    CHECK_THAT(error_of("[server]\ntrusted_proxies = \"127.0.0.1\"\n"), Catch::Contains("must be an array"));
}

TEST_CASE("addresses compare in one form: IPv4-mapped IPv6 is IPv4, IPv6 in lower case", "[config][http]") {
    CHECK(normalized_address("10.0.0.5") == "10.0.0.5");
    CHECK(normalized_address("::ffff:10.0.0.5") == "10.0.0.5");
    CHECK(normalized_address("2001:DB8::1") == "2001:db8::1");
    CHECK(normalized_address("balancer").empty());
    CHECK(
        parse_config("[server]\ntrusted_proxies = [\"::FFFF:127.0.0.1\"]\n", "/etc/vo/t.toml").server.trusted_proxies ==
        std::vector<std::string>{"127.0.0.1"});
}
