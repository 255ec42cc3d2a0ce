// Unit tests of the configuration reader and DALI parameter parsing.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "server/config.hpp"
#include "server/params.hpp"

using namespace vo::server;

namespace {

std::string config_error(const std::string& text) {
    try {
        parse_config(text, "/etc/vo/test.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("the shipped configuration parses and resolves paths against its directory", "[config]") {
    const std::string path = std::string(VO_SOURCE_DIR) + "/conf/voserver.toml";
    const Config c = load_config(path);
    CHECK(c.server.host == "127.0.0.1");
    CHECK(c.server.port == 8080);
    CHECK(c.base_url() == "http://127.0.0.1:8080");
    CHECK_FALSE(c.server.base_url_explicit);
    const auto root = std::filesystem::weakly_canonical(std::filesystem::path(VO_SOURCE_DIR));
    CHECK(c.archive.database == (root / "var" / "voserver.sqlite").string());
    CHECK(c.demo.out_dir == (root / "var" / "demo" / "phangs-muse").string());
    REQUIRE(c.collections.size() == 2);
    CHECK(c.collections[0].name == "phangs-muse");
    CHECK(c.collections[1].name == "samples");
    REQUIRE(c.collections[1].directories.size() == 1);
    CHECK(c.collections[1].directories[0] == (root.parent_path() / "shared" / "data" / "fits").string());
    CHECK(c.limits.maxrec_default <= c.limits.maxrec_hard);
}

TEST_CASE("configuration values and defaults", "[config]") {
    const Config c = parse_config(R"(
[server]
port = 9000
base_url = "https://archive.example.org/vo/"
[archive]
authority = "ivo://example.org"
database = "db/store.sqlite"
[limits]
maxrec_default = 100
maxrec_hard = 1000
[[collection]]
name = "alma"
directories = ["/data/alma", "relative"]
calib_level = 3
)",
                                  "/etc/vo/test.toml");
    CHECK(c.server.port == 9000);
    CHECK(c.base_url() == "https://archive.example.org/vo");  // trailing '/' dropped
    CHECK(c.archive.authority == "example.org");              // ivo:// prefix dropped
    CHECK(c.archive.database == "/etc/vo/db/store.sqlite");
    REQUIRE(c.collections.size() == 1);
    CHECK(c.collections[0].directories == std::vector<std::string>{"/data/alma", "/etc/vo/relative"});
    CHECK(c.collections[0].calib_level == 3);
    CHECK(c.limits.maxrec_default == 100);
}

TEST_CASE("unknown keys and bad values are errors naming the key", "[config]") {
    CHECK_THAT(config_error("[server]\nprot = 80\n"), Catch::Contains("server.prot: unknown key"));
    CHECK_THAT(config_error("[sever]\nport = 80\n"), Catch::Contains("sever: unknown key"));
    CHECK_THAT(config_error("[server]\nport = \"80\"\n"), Catch::Contains("server.port: must be an integer"));
    CHECK_THAT(config_error("[server]\nport = 70000\n"), Catch::Contains("server.port: must be between 0 and 65535"));
    CHECK_THAT(config_error("[server]\nbase_url = \"ftp://x\"\n"), Catch::Contains("server.base_url"));
    CHECK_THAT(config_error("[limits]\nmaxrec_hard = -1\n"), Catch::Contains("limits.maxrec_hard"));
    CHECK_THAT(config_error("[limits]\nmaxrec_default = 50\nmaxrec_hard = 10\n"),
               Catch::Contains("limits.maxrec_default"));
    CHECK_THAT(config_error("[[collection]]\nname = \"a\"\ndirectories = [\"x\"]\ncolour = 1\n"),
               Catch::Contains("collection[0].colour: unknown key"));
    CHECK_THAT(config_error("[[collection]]\nname = \"a b\"\ndirectories = [\"x\"]\n"),
               Catch::Contains("collection[0].name"));
    CHECK_THAT(config_error("[[collection]]\nname = \"a\"\n"),
               Catch::Contains("collection[0].directories: is required"));
    CHECK_THAT(config_error("[[collection]]\nname = \"a\"\ndirectories = [\"x\"]\ncalib_level = 7\n"),
               Catch::Contains("collection[0].calib_level"));
    CHECK_THAT(config_error("[server\nport = 1"), Catch::Contains("/etc/vo/test.toml: line 1"));
    CHECK_THAT(config_error("[archive]\nauthority = \"a/b\"\n"), Catch::Contains("archive.authority"));
    CHECK_THROWS_AS(load_config("/nonexistent/voserver.toml"), ConfigError);
}

TEST_CASE("DALI parameter names are case-insensitive, values are kept as sent", "[params]") {
    DaliParams p = parse_request_params(
        "GET", "/tap/sync?lang=ADQL&Query=SELECT+TOP+1+*+FROM+t+WHERE+a%3D%27x%2By%27&MAXREC=5", "", "");
    CHECK(p.single("LANG") == "ADQL");
    CHECK(p.single("query") == "SELECT TOP 1 * FROM t WHERE a='x+y'");
    CHECK(p.single("maxrec") == "5");
    CHECK_FALSE(p.single("RESPONSEFORMAT").has_value());
    CHECK(parse_maxrec(p, 100, 1000) == 5);
}

TEST_CASE("POST application/x-www-form-urlencoded adds to the query-string parameters", "[params]") {
    DaliParams p = parse_request_params("POST", "/tap/sync?REQUEST=doQuery", "application/x-www-form-urlencoded",
                                        "LANG=ADQL&QUERY=SELECT%20obs_id%20FROM%20ivoa.obscore&responseFormat=csv\r\n");
    CHECK(p.single("request") == "doQuery");
    CHECK(p.single("QUERY") == "SELECT obs_id FROM ivoa.obscore");
    CHECK(p.single("RESPONSEFORMAT") == "csv");
    CHECK_THROWS_AS(parse_request_params("POST", "/x", "application/x-www-form-urlencoded", "a=%zz"), ParamError);
    CHECK_THROWS_AS(parse_request_params("POST", "/x", "application/json", "{}"), ParamError);
}

TEST_CASE("POST multipart/form-data (RFC 7578) with fields and a file", "[params]") {
    const std::string body =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"lang\"\r\n\r\n"
        "ADQL\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"QUERY\"\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "SELECT *\r\nFROM ivoa.obscore\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"t1\"; filename=\"t1.xml\"\r\n"
        "Content-Type: application/x-votable+xml\r\n\r\n"
        "<VOTABLE/>\r\n"
        "--XyZ--\r\n";
    DaliParams p = parse_request_params("POST", "/tap/sync", "multipart/form-data; boundary=\"XyZ\"", body);
    CHECK(p.single("LANG") == "ADQL");
    CHECK(p.single("query") == "SELECT *\r\nFROM ivoa.obscore");
    REQUIRE(p.files.size() == 1);
    CHECK(p.files[0].part_name == "t1");
    CHECK(p.files[0].filename == "t1.xml");
    CHECK(p.files[0].content_type == "application/x-votable+xml");
    CHECK(p.files[0].content == "<VOTABLE/>");
    CHECK_THROWS_AS(parse_multipart("multipart/form-data", body, p), ParamError);  // no boundary
    CHECK_THROWS_AS(parse_multipart("multipart/form-data; boundary=XyZ", "--XyZ\r\nbroken", p), ParamError);
}

TEST_CASE("single-valued parameters and MAXREC", "[params]") {
    DaliParams p;
    p.add("MAXREC", "10");
    p.add("maxrec", "20");
    CHECK_THROWS_WITH(p.single("MAXREC"), Catch::Contains("MAXREC is single-valued"));
    DaliParams q;
    CHECK(parse_maxrec(q, 100, 1000) == 100);  // default
    q.add("MAXREC", "5000");
    CHECK(parse_maxrec(q, 100, 1000) == 1000);  // hard limit
    DaliParams z;
    z.add("MAXREC", "0");
    CHECK(parse_maxrec(z, 100, 1000) == 0);
    for (const char* bad : {"-1", "ten", "1.5", ""}) {
        DaliParams b;
        b.add("MAXREC", bad);
        CHECK_THROWS_WITH(parse_maxrec(b, 100, 1000), Catch::Contains("MAXREC must be a non-negative integer"));
    }
}

TEST_CASE("the shipped ALMA profile declares ALMA's extension columns with their sources", "[config]") {
    const Config c = load_config(std::string(VO_SOURCE_DIR) + "/conf/voserver.toml");
    REQUIRE(c.archive.profiles.size() == 1);
    const auto& cols = c.archive.extension_columns;
    const auto find = [&](const std::string& name) -> const vo::obscore::ExtensionColumn& {
        for (const auto& col : cols)
            if (col.def.name == name) return col;
        FAIL("no extension column " << name);
        return cols.front();
    };
    CHECK(find("frequency").def.unit == "GHz");
    CHECK(find("frequency").def.datatype == "double");
    CHECK_FALSE(find("frequency").adql.empty());
    CHECK(find("data_rights").data_rights);
    CHECK(std::get<std::string>(*find("science_observation").default_value) == "T");
    CHECK(find("obs_creator_name").keywords.back() == "OBSERVER");
    CHECK(find("band_list").def.arraysize == "*");
    CHECK_FALSE(find("type").def.std);
    CHECK(c.collections[1].proprietary_months == 12);
}

TEST_CASE("profile errors name the file and the key", "[config]") {
    const auto dir = std::filesystem::temp_directory_path() / ("voserver-profile-cfg-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto error = [&](const std::string& profile) {
        const auto path = dir / "p.toml";
        FILE* f = std::fopen(path.c_str(), "w");
        REQUIRE(f);
        std::fputs(profile.c_str(), f);
        std::fclose(f);
        return config_error("[archive]\nprofiles = [\"" + path.string() + "\"]\n");
    };
    CHECK_THAT(error("[[column]]\nname = \"x\"\ndatatype = \"text\"\n"),
               Catch::Contains("p.toml: column[0].datatype: must be one of char"));
    CHECK_THAT(error("[[column]]\nname = \"x\"\ndatatype = \"char\"\ncolour = 1\n"),
               Catch::Contains("column[0].colour: unknown key"));
    CHECK_THAT(error("[[column]]\nname = \"em_min\"\ndatatype = \"double\"\n"), Catch::Contains("ObsCore column"));
    CHECK_THAT(error("[[column]]\nname = \"1x\"\ndatatype = \"double\"\n"), Catch::Contains("regular identifier"));
    CHECK_THAT(error("[[column]]\nname = \"x\"\ndatatype = \"double\"\ndefault = \"T\"\n"),
               Catch::Contains("default: does not match datatype double"));
    CHECK_THAT(error("[[column]]\nname = \"x\"\ndatatype = \"double\"\nadql = \"s_ra\"\nkeywords = [\"RA\"]\n"),
               Catch::Contains("takes no other source"));
    CHECK_THAT(error("[[column]]\nname = \"x\"\ndatatype = \"char\"\n[[column]]\nname = \"X\"\ndatatype = \"char\"\n"),
               Catch::Contains("duplicate column X"));
    CHECK_THAT(config_error("[archive]\nprofiles = [\"/nonexistent/p.toml\"]\n"),
               Catch::Contains("cannot read the profile"));
    CHECK_THAT(config_error("[[collection]]\nname = \"a\"\ndirectories = [\"/x\"]\nproprietary_months = -1\n"),
               Catch::Contains("proprietary_months"));
}
