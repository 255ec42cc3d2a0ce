// Issue 12 through QueryEngine (server/query.hpp): QueryRequest::visibility
// restricts every query form to the rows the caller may see, the cache of
// prepared queries never hands one caller's translation to another, a
// cached query computes data_rights at the time it runs, and TAP_UPLOAD
// joins see only visible rows.
#include <catch2/catch.hpp>

#include <string>

#include "server/query.hpp"
#include "tests/unit/obscore/visibility_scenario.hpp"

using namespace vo;
namespace tv = vo::test_visibility;

namespace {

/// The inline VOTable of TAP_UPLOAD.ids (tv::upload_ids()).
std::string ids_votable() {
    std::string rows;
    for (const auto& id : tv::upload_ids()) rows += "<TR><TD>" + id + "</TD></TR>";
    return "<?xml version=\"1.0\"?><VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">"
           "<RESOURCE><TABLE><FIELD name=\"obs_id\" datatype=\"char\" arraysize=\"*\"/><DATA><TABLEDATA>" +
           rows + "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>";
}

/// The rows of a CSV result (header dropped), cells joined by '|'.
tv::Rows csv_rows(const std::string& csv) {
    tv::Rows rows;
    std::size_t at = csv.find('\n');  // after the header
    while (at != std::string::npos && at + 1 < csv.size()) {
        std::size_t end = csv.find('\n', at + 1);
        std::string line = csv.substr(at + 1, (end == std::string::npos ? csv.size() : end) - at - 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        for (char& c : line)
            if (c == ',') c = '|';
        rows.push_back(line);
        at = end;
    }
    return rows;
}

}  // namespace

TEST_CASE("QueryEngine: the caller's visibility restricts every query; cached queries follow the clock",
          "[query][visibility]") {
    const std::string path = tv::temp_path("engine.sqlite");
    tv::build_store(path);
    server::QueryEngine engine(path);
    int runs = 0;
    tv::check_cases([&](const tv::Case& c, const obscore::RowVisibility& v) {
        server::QueryRequest request;
        request.adql = c.adql;
        request.format = votable::Format::csv;
        request.visibility = v;
        if (c.upload) request.uploads.push_back({"ids", "", ids_votable()});
        // an estimate first, as the express lane does: it must not leave a
        // translation of another visibility in the cache
        if (!c.upload) (void)engine.estimate_cost(c.adql, request.maxrec, v);
        std::string out;
        const auto outcome = engine.run(request, {}, [&](std::string_view s) { out += s; });
        CHECK_FALSE(outcome.error);
        ++runs;
        return csv_rows(out);
    });
    CHECK(runs > 40);
}

TEST_CASE("QueryEngine: an estimate without a visibility does not serve a caller with one", "[query][visibility]") {
    const std::string path = tv::temp_path("estimate.sqlite");
    tv::build_store(path);
    server::QueryEngine engine(path);
    obscore::set_archive_now_for_testing(tv::before());
    const std::string adql = "SELECT COUNT(*) FROM ivoa.obscore";
    (void)engine.estimate_cost(adql, 10000);  // everything visible, cached
    server::QueryRequest request;
    request.adql = adql;
    request.format = votable::Format::csv;
    request.visibility = tv::caller();
    std::string out;
    engine.run(request, {}, [&](std::string_view s) { out += s; });
    CHECK(csv_rows(out) == tv::Rows{"5"});
    request.visibility = {};
    out.clear();
    engine.run(request, {}, [&](std::string_view s) { out += s; });
    CHECK(csv_rows(out) == tv::Rows{"7"});
    obscore::set_archive_now_for_testing(std::nullopt);
}
