// DataLink 1.1 link building (server/datalink.hpp) and the single-range
// parser of file downloads (server/file_response.hpp), without a server.
#include <catch2/catch.hpp>

#include <algorithm>

#include <string>

#include "server/datalink.hpp"
#include "server/file_response.hpp"

using namespace vo::server;

namespace {

const std::string kBase = "http://archive.test";
const std::string kDid = "ivo://archive.test/samples?muse/cube.fits";

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

ProductInfo cube() {
    ProductInfo p;
    p.known = true;
    p.dataproduct_type = "cube";
    p.has_file = true;
    p.filename = "cube.fits";
    p.file_bytes = 123456;
    vo::soda::Bounds b;
    b.polygon = {{10, 20}, {10.1, 20}, {10.1, 20.1}, {10, 20.1}};
    b.circle_lon = 10.05, b.circle_lat = 20.05, b.circle_radius = 0.07;
    b.band = vo::soda::Interval{4.75e-7, 9.35e-7};
    b.time = vo::soda::Interval{58000.5, 58000.6};
    b.pol = {"I", "Q"};
    p.bounds = b;
    return p;
}

/// Exactly one of access_url, service_def, error_message (DataLink 1.1 section 3.2).
bool one_target(const Link& l) {
    return (!l.access_url.empty()) + (!l.service_def.empty()) + (!l.error_message.empty()) == 1;
}

}  // namespace

TEST_CASE("a cube gets #this, its previews and two #cutout rows with descriptors carrying its bounds", "[datalink]") {
    const IdLinks full = build_links(kDid, cube(), kBase, 3);
    REQUIRE(full.links.size() == 6);
    // issue 10 item 4: peak and mean images, the spectrum plot, right after #this
    CHECK(full.links[1].semantics == "#preview");
    CHECK(full.links[1].access_url ==
          kBase + "/datalink/preview?ID=ivo%3A%2F%2Farchive.test%2Fsamples%3Fmuse%2Fcube.fits&KIND=peak");
    CHECK(full.links[2].access_url.substr(full.links[2].access_url.size() - 9) == "KIND=mean");
    CHECK(full.links[3].semantics == "#preview-plot");
    for (int i = 1; i <= 3; ++i) {
        CHECK(full.links[i].content_type == "image/png");
        CHECK(one_target(full.links[i]));
    }
    IdLinks l = full;
    l.links.erase(l.links.begin() + 1, l.links.begin() + 4);
    REQUIRE(l.links.size() == 3);
    for (const auto& x : l.links) {
        CHECK(x.id == kDid);
        CHECK(one_target(x));
    }
    CHECK(l.links[0].semantics == "#this");
    CHECK(l.links[0].access_url == kBase + "/datalink/file?ID=ivo%3A%2F%2Farchive.test%2Fsamples%3Fmuse%2Fcube.fits");
    CHECK(l.links[0].content_length == 123456);
    CHECK(l.links[0].content_type == "application/fits");
    CHECK(l.links[0].content_qualifier == "#cube");
    CHECK(l.links[1].semantics == "#cutout");
    CHECK(l.links[1].service_def == "soda-sync-3");
    CHECK(l.links[2].service_def == "soda-async-3");
    REQUIRE(l.descriptors.size() == 2);
    const std::string& sync = l.descriptors[0];
    CHECK(sync.find("ID=\"soda-sync-3\"") != std::string::npos);
    CHECK(sync.find("utype=\"adhoc:service\"") != std::string::npos);
    CHECK(sync.find("value=\"ivo://ivoa.net/std/SODA#sync-1.0\"") != std::string::npos);
    CHECK(sync.find("value=\"http://archive.test/soda/sync\"") != std::string::npos);
    CHECK(sync.find("name=\"ID\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id;meta.main\" value=\"" + kDid + "\"") !=
          std::string::npos);
    CHECK(sync.find("<MIN value=\"4.75e-07\"/><MAX value=\"9.3500000000000005e-07\"/>") != std::string::npos);
    CHECK(sync.find("<MIN value=\"58000.5\"/><MAX value=\"58000.599999999999\"/>") != std::string::npos);
    CHECK(sync.find("<OPTION value=\"I\"/><OPTION value=\"Q\"/>") != std::string::npos);
    CHECK(sync.find("<MAX value=\"10 20 10.1 20 10.1 20.100000000000001 10 20.100000000000001\"/>") !=
          std::string::npos);
    CHECK(sync.find("name=\"POS\"") != std::string::npos);
    CHECK(l.descriptors[1].find("value=\"ivo://ivoa.net/std/SODA#async-1.0\"") != std::string::npos);
    CHECK(l.descriptors[1].find("value=\"http://archive.test/soda/async\"") != std::string::npos);
}

TEST_CASE("no #cutout without cut-able axes, and only the descriptors' parameters that apply", "[datalink]") {
    ProductInfo p = cube();
    p.bounds->polygon.clear();
    p.bounds->pol = {"I"};
    CHECK(has_cutable_axes(*p.bounds));  // BAND still
    const IdLinks band_only = build_links(kDid, p, kBase, 1);
    REQUIRE(band_only.descriptors.size() == 2);
    CHECK(band_only.descriptors[0].find("name=\"CIRCLE\"") == std::string::npos);
    CHECK(band_only.descriptors[0].find("name=\"BAND\"") != std::string::npos);
    p.bounds->band.reset();
    CHECK_FALSE(has_cutable_axes(*p.bounds));
    const IdLinks none = build_links(kDid, p, kBase, 1);
    REQUIRE(none.links.size() == 4);  // #this and the three previews
    CHECK(none.links[0].semantics == "#this");
    CHECK(none.links[3].semantics == "#preview-plot");
    CHECK(none.descriptors.empty());
    p.bounds.reset();  // describe_bounds failed: the file is still offered
    CHECK(build_links(kDid, p, kBase, 1).links.size() == 4);
    p.dataproduct_type = "spectrum";  // no previews of spectra
    CHECK(build_links(kDid, p, kBase, 1).links.size() == 1);
}

TEST_CASE("configured files next to a product become rows of their semantics with FILE= URLs", "[datalink]") {
    ProductInfo p = cube();
    p.related.push_back(
        {2, "#auxiliary", "Weight map", "application/fits", "cube_weights.fits", "/x/cube_weights.fits", 2880});
    const IdLinks l = build_links(kDid, p, kBase, 1);
    const auto it =
        std::find_if(l.links.begin(), l.links.end(), [](const Link& x) { return x.semantics == "#auxiliary"; });
    REQUIRE(it != l.links.end());
    CHECK(it->access_url == kBase + "/datalink/file?ID=ivo%3A%2F%2Farchive.test%2Fsamples%3Fmuse%2Fcube.fits&FILE=2");
    CHECK(it->description == "Weight map (cube_weights.fits)");
    CHECK(it->content_length == 2880);
    CHECK(it->access_url.find("/x/") == std::string::npos);  // never the path
    CHECK(one_target(*it));
}

TEST_CASE("unknown, malformed and file-less IDs give one error_message row with the fault name", "[datalink]") {
    ProductInfo unknown;
    const IdLinks u = build_links(kDid, unknown, kBase, 1);
    REQUIRE(u.links.size() == 1);
    CHECK(u.links[0].semantics == "#this");
    CHECK(u.links[0].error_message.rfind("NotFoundFault: ", 0) == 0);
    CHECK(one_target(u.links[0]));

    ProductInfo bad;
    bad.malformed = "ID x is not a publisher DID (ivo://...)";
    CHECK(build_links("x", bad, kBase, 1).links.at(0).error_message.rfind("UsageFault: ", 0) == 0);

    ProductInfo no_file;
    no_file.known = true;
    const IdLinks n = build_links(kDid, no_file, kBase, 1);
    REQUIRE(n.links.size() == 1);
    CHECK(n.links[0].error_message.rfind("FatalFault: ", 0) == 0);
    CHECK(n.links[0].access_url.empty());
}

TEST_CASE("the links document has every DataLink 1.1 column, the standardID and overflow after the table",
          "[datalink]") {
    const std::string d =
        links_document({build_links(kDid, cube(), kBase, 1), build_links("ivo://x/y", {}, kBase, 2)}, true);
    for (const char* f :
         {"<FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id;meta.main\"",
          "<FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref.url\"",
          "<FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref\"",
          "<FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code.error\"",
          "<FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code\"",
          "<FIELD name=\"description\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.note\"",
          "<FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code.mime\"",
          "<FIELD name=\"content_length\" datatype=\"long\" unit=\"byte\" ucd=\"phys.size;meta.file\"",
          "<FIELD name=\"content_qualifier\" datatype=\"char\"",
          "<FIELD name=\"local_semantics\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id.assoc\"",
          "<FIELD name=\"link_auth\" datatype=\"char\"", "<FIELD name=\"link_authorized\" datatype=\"boolean\""})
        CHECK(d.find(f) != std::string::npos);
    CHECK(d.find("<INFO name=\"standardID\" value=\"ivo://ivoa.net/std/DataLink#links-1.1\"/>") != std::string::npos);
    CHECK(count(d, "<TR>") == 7);  // cube: #this, 3 previews, 2 #cutout; unknown: 1
    CHECK(count(d, "utype=\"adhoc:service\"") == 2);
    CHECK(d.find("value=\"OVERFLOW\"") > d.find("</TABLE>"));
    CHECK(d.find("value=\"OVERFLOW\"") < d.find("</RESOURCE>"));
}

TEST_CASE("ID and RESPONSEFORMAT of a {links} request", "[datalink]") {
    DaliParams p;
    p.add("ID", "a");
    p.add("id", "b");
    p.add("ID", "a");
    p.add("ID", "c");
    const DataLinkRequest all = parse_datalink_request(p, 10);
    CHECK(all.ids == std::vector<std::string>{"a", "b", "c"});
    CHECK_FALSE(all.overflow);
    const DataLinkRequest cut = parse_datalink_request(p, 2);
    CHECK(cut.ids == std::vector<std::string>{"a", "b"});
    CHECK(cut.overflow);
    CHECK(parse_datalink_request(DaliParams{}, 10).ids.empty());

    for (const char* ok : {"votable", "application/x-votable+xml", "application/x-votable+xml;content=datalink",
                           "text/xml", "VOTable"}) {
        DaliParams f;
        f.add("RESPONSEFORMAT", ok);
        CHECK_NOTHROW(parse_datalink_request(f, 10));
    }
    DaliParams csv;
    csv.add("RESPONSEFORMAT", "text/csv");
    CHECK_THROWS_AS(parse_datalink_request(csv, 10), ParamError);
}

TEST_CASE("the TAP result's DataLink descriptor refers to the obs_publisher_did FIELD", "[datalink]") {
    const std::string r = datalink_service_descriptor(kBase, "obs_publisher_did");
    CHECK(r.find("utype=\"adhoc:service\"") != std::string::npos);
    CHECK(r.find("value=\"ivo://ivoa.net/std/DataLink#links-1.1\"") != std::string::npos);
    CHECK(r.find("value=\"http://archive.test/datalink/sync\"") != std::string::npos);
    CHECK(r.find("ref=\"obs_publisher_did\" value=\"\"") != std::string::npos);
}

TEST_CASE("single byte ranges (RFC 9110 section 14)", "[datalink][range]") {
    using K = ByteRange::Kind;
    const auto r = [](const char* h, std::uint64_t size) { return parse_byte_range(h, size); };
    CHECK(r("", 100).kind == K::whole);
    CHECK(r("bytes=0-9", 100).kind == K::partial);
    CHECK(r("bytes=0-9", 100).last == 9);
    CHECK(r("bytes=10-", 100).first == 10);
    CHECK(r("bytes=10-", 100).last == 99);
    CHECK(r("bytes=90-1000", 100).last == 99);
    CHECK(r("bytes=-10", 100).first == 90);
    CHECK(r("bytes=-1000", 100).first == 0);
    CHECK(r("Bytes = 5-6 ", 100).kind == K::partial);
    CHECK(r("bytes=100-", 100).kind == K::unsatisfiable);
    CHECK(r("bytes=200-300", 100).kind == K::unsatisfiable);
    CHECK(r("bytes=-0", 100).kind == K::unsatisfiable);
    CHECK(r("bytes=0-0", 0).kind == K::unsatisfiable);
    CHECK(r("bytes=9-5", 100).kind == K::whole);
    CHECK(r("bytes=0-1,5-9", 100).kind == K::whole);
    CHECK(r("items=0-9", 100).kind == K::whole);
    CHECK(r("bytes=a-9", 100).kind == K::whole);
    CHECK(r("bytes=-", 100).kind == K::whole);
    CHECK(r("bytes=+1-5", 100).kind == K::whole);
    CHECK(r("bytes=99999999999999999999999-", 100).kind == K::whole);
    CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
}
