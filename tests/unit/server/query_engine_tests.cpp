// Issue 14: the writer fields and the DataLink descriptor are made once per
// cached query; every run must write the bytes a fresh translation writes.
#include <catch2/catch.hpp>

#include <string>

#include "server/query.hpp"
#include "tests/unit/obscore/visibility_scenario.hpp"

using namespace vo;
namespace tv = vo::test_visibility;

namespace {

std::string run(server::QueryEngine& engine, const std::string& adql, votable::Format format,
                const std::string& base_url) {
    server::QueryRequest request;
    request.adql = adql;
    request.format = format;
    request.datalink_base_url = base_url;
    request.infos = {{"QUERY", adql}};
    std::string out;
    const auto outcome = engine.run(request, {}, [&](std::string_view s) { out += s; });
    CHECK_FALSE(outcome.error);
    return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("QueryEngine: cached fields and DataLink descriptor give the bytes of a first run", "[query][cache]") {
    const std::string path = tv::temp_path("fields_cache.sqlite");
    tv::build_store(path);
    obscore::set_archive_now_for_testing(tv::before());
    const std::string adql = "SELECT TOP 5 * FROM ivoa.obscore ORDER BY obs_id";
    for (const auto format : {votable::Format::votable, votable::Format::votable_binary2, votable::Format::csv}) {
        INFO("format " << static_cast<int>(format));
        // each reference from an engine that has never seen the query
        const auto fresh = [&](const std::string& base) {
            server::QueryEngine engine(path);
            return run(engine, adql, format, base);
        };
        const std::string with_a = fresh("http://a.example/vo"), with_b = fresh("http://b.example/x"),
                          without = fresh("");
        if (format != votable::Format::csv) {
            CHECK(with_a.find("ID=\"obs_publisher_did\"") != std::string::npos);
            CHECK(with_a.find("http://a.example/vo/datalink/sync") != std::string::npos);
            CHECK(without.find("ID=\"obs_publisher_did\"") == std::string::npos);
        }
        server::QueryEngine engine(path);
        CHECK(run(engine, adql, format, "http://a.example/vo") == with_a);
        CHECK(run(engine, adql, format, "http://a.example/vo") == with_a);  // cached fields
        CHECK(run(engine, adql, format, "") == without);                    // the plain list
        CHECK(run(engine, adql, format, "http://b.example/x") == with_b);   // another base URL
        CHECK(run(engine, adql, format, "http://a.example/vo") == with_a);
        std::string b_as_a = with_b;
        replace_all(b_as_a, "http://b.example/x", "http://a.example/vo");
        CHECK(b_as_a == with_a);
    }
    obscore::set_archive_now_for_testing(std::nullopt);
}
