// Unit tests of the streaming table writers (votable/writer.hpp).
#include <catch2/catch.hpp>
#include <fitsio.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "votable/formats.hpp"
#include "votable/writer.hpp"

using namespace vo::votable;

namespace {

using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

/// A RowSource over rows held in memory.
class VectorSource : public RowSource {
public:
    explicit VectorSource(std::vector<std::vector<Value>> rows) : rows_(std::move(rows)) {}
    bool next() override { return ++index_ < static_cast<long>(rows_.size()); }
    Cell cell(std::size_t i) override {
        const Value& v = rows_[static_cast<std::size_t>(index_)][i];
        Cell c;
        if (auto p = std::get_if<std::int64_t>(&v)) {
            c.kind = CellKind::integer;
            c.integer = *p;
        } else if (auto d = std::get_if<double>(&v)) {
            c.kind = CellKind::real;
            c.real = *d;
        } else if (auto s = std::get_if<std::string>(&v)) {
            c.kind = CellKind::text;
            c.text = *s;
        }
        return c;
    }
    long fetched() const { return index_ + 1; }

private:
    std::vector<std::vector<Value>> rows_;
    long index_ = -1;
};

/// A RowSource producing `n` generated rows, for the memory test.
class CountingSource : public RowSource {
public:
    explicit CountingSource(std::int64_t n) : n_(n) {}
    bool next() override { return ++i_ <= n_; }
    Cell cell(std::size_t col) override {
        Cell c;
        if (col == 0) {
            c.kind = CellKind::integer;
            c.integer = i_;
        } else {
            c.kind = CellKind::real;
            c.real = static_cast<double>(i_) * 0.1;
        }
        return c;
    }

private:
    std::int64_t n_, i_ = 0;
};

std::vector<Field> sample_fields() {
    return {
        {"obs_id", "char", "*", "", "", "meta.id", "obscore:DataID.observationID",
         "Internal ID <given> by the \"ObsTAP\" service & co"},
        {"s_ra", "double", "", "", "deg", "pos.eq.ra",
         "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1", ""},
        {"calib_level", "short", "", "", "", "meta.code;obs.calib", "obscore:ObsDataset.calibLevel", ""},
        {"access_estsize", "long", "", "", "kbyte", "phys.size;meta.file", "", ""},
        {"s_region", "double", "*", "polygon", "deg", "pos.outline;obs.field", "", ""},
    };
}

std::vector<std::vector<Value>> sample_rows() {
    return {
        {std::string("a<b>&\"c'"), 0.1, std::int64_t{2}, std::int64_t{12345678901}, std::string("10 20 11 20 11 21")},
        {std::string("tab\there,comma \"quote\"\nline"), std::monostate{}, std::monostate{}, std::monostate{},
         std::monostate{}},
        {std::string("\xC3\xA9t\xC3\xA9 \x01 \xFF"), 1.0 / 3.0, std::int64_t{3}, std::int64_t{-1}, std::string("")},
    };
}

std::string write_all(Format format, std::optional<std::int64_t> maxrec, StreamResult* result = nullptr,
                      std::size_t chunk = 64 * 1024, int* chunks = nullptr) {
    std::string out;
    auto w = make_writer(
        format,
        [&](std::string_view s) {
            out.append(s);
            if (chunks) ++*chunks;
        },
        chunk);
    VectorSource src(sample_rows());
    w->begin(sample_fields(), {{"QUERY", "SELECT * FROM ivoa.obscore WHERE a < 'x'"}});
    auto r = stream_rows(src, *w, maxrec);
    w->end(r.overflow);
    if (result) *result = r;
    return out;
}

}  // namespace

TEST_CASE("XML escaping covers markup characters, controls and bad UTF-8", "[votable]") {
    CHECK(xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
    CHECK(xml_escape("tab\tnl\n") == "tab\tnl\n");
    CHECK(xml_escape("cr\r") == "cr&#13;");
    // U+0001 is not allowed in XML 1.0; a lone 0xFF byte is not UTF-8.
    CHECK(xml_escape("x\x01y") == "x\xEF\xBF\xBDy");
    CHECK(xml_escape("\xFF") == "\xEF\xBF\xBD");
    // Valid multi-byte UTF-8 passes through (é, 2 bytes; 😀, 4 bytes).
    CHECK(xml_escape("\xC3\xA9") == "\xC3\xA9");
    CHECK(xml_escape("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
    // Overlong encoding of '/' (C0 AF) is invalid.
    CHECK(xml_escape("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("doubles are written in the shortest form that reads back exactly", "[votable]") {
    const double values[] = {0.1, 1.0 / 3.0, 6.62607015e-34, 1.7976931348623157e308, -2.5e-310, 123456789.125};
    for (double v : values) {
        std::string s;
        append_double(s, v);
        CHECK(std::strtod(s.c_str(), nullptr) == v);
    }
    std::string s;
    append_double(s, 0.1);
    CHECK(s == "0.1");
    s.clear();
    append_double(s, std::numeric_limits<double>::quiet_NaN());
    CHECK(s == "NaN");
    s.clear();
    append_double(s, -std::numeric_limits<double>::infinity());
    CHECK(s == "-Inf");
}

TEST_CASE("VOTable TABLEDATA: header, escaping, NULLs, status INFOs", "[votable]") {
    StreamResult r;
    const std::string doc = write_all(Format::votable, std::nullopt, &r);
    CHECK(r.rows == 3);
    CHECK_FALSE(r.overflow);
    CHECK(doc.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VOTABLE version=\"1.4\" "
                    "xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\"",
                    0) == 0);
    // QUERY_STATUS=OK comes before the TABLE (DALI 1.1 section 4.4).
    const auto ok = doc.find("<INFO name=\"QUERY_STATUS\" value=\"OK\"/>");
    REQUIRE(ok != std::string::npos);
    CHECK(ok < doc.find("<TABLE>"));
    CHECK(doc.find("<INFO name=\"QUERY\" value=\"SELECT * FROM ivoa.obscore WHERE a &lt; &apos;x&apos;\"/>") !=
          std::string::npos);
    CHECK(doc.find("OVERFLOW") == std::string::npos);
    CHECK(doc.find("<FIELD name=\"s_region\" datatype=\"double\" arraysize=\"*\" xtype=\"polygon\" unit=\"deg\" "
                   "ucd=\"pos.outline;obs.field\"/>") != std::string::npos);
    CHECK(doc.find("<DESCRIPTION>Internal ID &lt;given&gt; by the &quot;ObsTAP&quot; service &amp; co</DESCRIPTION>") !=
          std::string::npos);
    CHECK(doc.find("<TR><TD>a&lt;b&gt;&amp;&quot;c&apos;</TD><TD>0.1</TD><TD>2</TD><TD>12345678901</TD><TD>10 20 11 20 "
                   "11 21</TD></TR>") != std::string::npos);
    // NULLs are empty cells (VOTable 1.4 section 6: an empty TD is NULL in
    // TABLEDATA), except geometry arrays, which get NaNs (votlint rejects an
    // empty polygon).
    CHECK(doc.find("<TR><TD>tab\there,comma &quot;quote&quot;\nline</TD><TD/><TD/><TD/><TD>NaN NaN NaN NaN NaN "
                   "NaN</TD></TR>") != std::string::npos);
    CHECK(doc.find("<TD>0.3333333333333333</TD>") != std::string::npos);
    CHECK(doc.find("<TD>\xC3\xA9t\xC3\xA9 \xEF\xBF\xBD \xEF\xBF\xBD</TD>") != std::string::npos);
    const std::string tail = "</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n";
    REQUIRE(doc.size() >= tail.size());
    CHECK(doc.substr(doc.size() - tail.size()) == tail);
}

TEST_CASE("VOTable overflow: MAXREC rows and a trailing OVERFLOW INFO after the TABLE", "[votable]") {
    StreamResult r;
    const std::string doc = write_all(Format::votable, 2, &r);
    CHECK(r.rows == 2);
    CHECK(r.overflow);
    const auto table_end = doc.find("</TABLE>");
    const auto overflow = doc.find("<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>");
    REQUIRE(overflow != std::string::npos);
    CHECK(overflow > table_end);
    CHECK(overflow < doc.find("</RESOURCE>"));

    // Exactly MAXREC rows in the source: no overflow.
    const std::string exact = write_all(Format::votable, 3, &r);
    CHECK(r.rows == 3);
    CHECK_FALSE(r.overflow);
    CHECK(exact.find("OVERFLOW") == std::string::npos);

    // MAXREC=0: metadata only, overflow flagged (DALI 1.1 section 3.4.4).
    const std::string meta = write_all(Format::votable, 0, &r);
    CHECK(r.rows == 0);
    CHECK(r.overflow);
    CHECK(meta.find("<TR>") == std::string::npos);
    CHECK(meta.find("<FIELD name=\"obs_id\"") != std::string::npos);
}

TEST_CASE("CSV follows RFC 4180", "[votable]") {
    const std::string csv = write_all(Format::csv, std::nullopt);
    const std::string expected =
        "obs_id,s_ra,calib_level,access_estsize,s_region\r\n"
        "\"a<b>&\"\"c'\",0.1,2,12345678901,10 20 11 20 11 21\r\n"
        "\"tab\there,comma \"\"quote\"\"\nline\",,,,\r\n"
        "\xC3\xA9t\xC3\xA9 \x01 \xFF,0.3333333333333333,3,-1,\r\n";
    CHECK(csv == expected);
    CHECK(mime_type(Format::csv) == "text/csv;header=present");
}

TEST_CASE("TSV escapes tabs and newlines inside values", "[votable]") {
    const std::string tsv = write_all(Format::tsv, 1);
    CHECK(tsv ==
          "obs_id\ts_ra\tcalib_level\taccess_estsize\ts_region\n"
          "a<b>&\"c'\t0.1\t2\t12345678901\t10 20 11 20 11 21\n");
}

TEST_CASE("booleans and integer columns holding reals", "[votable]") {
    std::string out;
    auto w = make_writer(Format::votable, [&](std::string_view s) { out.append(s); });
    VectorSource src({{std::int64_t{1}, 2.0, std::string("F")},
                      {std::int64_t{0}, std::numeric_limits<double>::quiet_NaN(), std::string("true")}});
    w->begin({{"b", "boolean", "", "", "", "", "", ""},
              {"n", "int", "", "", "", "", "", ""},
              {"t", "boolean", "", "", "", "", "", ""}});
    stream_rows(src, *w, std::nullopt);
    w->end(false);
    CHECK(out.find("<TR><TD>true</TD><TD>2</TD><TD>false</TD></TR>") != std::string::npos);
    CHECK(out.find("<TR><TD>false</TD><TD></TD><TD>true</TD></TR>") != std::string::npos);
}

TEST_CASE("FIELD ID attributes and extra resources after the results RESOURCE", "[votable]") {
    for (const Format f : {Format::votable, Format::votable_binary, Format::votable_binary2}) {
        std::string out;
        auto w = make_writer(f, [&](std::string_view s) { out.append(s); });
        VectorSource src(std::vector<std::vector<Value>>{{Value{std::int64_t{1}}}});
        Field id{"did", "long", "", "", "", "", "", ""};
        id.id = "primaryID";
        w->begin({id});
        w->set_extra_resources("<RESOURCE type=\"meta\" utype=\"adhoc:service\"/>\n");
        stream_rows(src, *w, std::nullopt);
        w->end(true);
        CHECK(out.find("<FIELD ID=\"primaryID\" name=\"did\"") != std::string::npos);
        const auto results_end = out.find("</RESOURCE>");
        const auto meta = out.find("<RESOURCE type=\"meta\" utype=\"adhoc:service\"/>");
        CHECK(meta != std::string::npos);
        CHECK(meta > results_end);
        CHECK(meta < out.find("</VOTABLE>"));
    }
    std::string csv;
    auto w = make_writer(Format::csv, [&](std::string_view s) { csv.append(s); });
    VectorSource src(std::vector<std::vector<Value>>{{Value{std::int64_t{1}}}});
    w->begin({{"did", "long", "", "", "", "", "", ""}});
    w->set_extra_resources("<RESOURCE/>");
    stream_rows(src, *w, std::nullopt);
    w->end(false);
    CHECK(csv.find("RESOURCE") == std::string::npos);
    CHECK(csv.rfind("did", 0) == 0);
}

TEST_CASE("output goes to the sink in bounded chunks", "[votable]") {
    std::size_t largest = 0, total = 0;
    int chunks = 0;
    auto w = make_writer(
        Format::csv,
        [&](std::string_view s) {
            largest = std::max(largest, s.size());
            total += s.size();
            ++chunks;
        },
        4096);
    CountingSource src(200000);
    w->begin({{"i", "long", "", "", "", "", "", ""}, {"x", "double", "", "", "", "", "", ""}});
    auto r = stream_rows(src, *w, std::nullopt);
    w->end(false);
    CHECK(r.rows == 200000);
    CHECK(chunks > 100);
    // A chunk is flushed once it reaches 4096 bytes, so it never exceeds
    // that by more than one row.
    CHECK(largest < 4096 + 64);
    CHECK(total == w->bytes());
}

TEST_CASE("a sink that throws SinkClosed stops the stream", "[votable]") {
    int calls = 0;
    auto w = make_writer(
        Format::votable,
        [&](std::string_view) {
            if (++calls > 2) throw SinkClosed();
        },
        1024);
    CountingSource src(1000000);
    w->begin({{"i", "long", "", "", "", "", "", ""}, {"x", "double", "", "", "", "", "", ""}});
    CHECK_THROWS_AS(stream_rows(src, *w, std::nullopt), SinkClosed);
    CHECK(calls == 3);
}

TEST_CASE("DALI error document", "[votable]") {
    const std::string doc = error_document("unknown column \"foo\" at line 1, column 8 <x>");
    CHECK(doc.find("<RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"ERROR\">unknown column "
                   "&quot;foo&quot; at line 1, column 8 &lt;x&gt;</INFO>\n</RESOURCE>") != std::string::npos);
    CHECK(doc.find("version=\"1.4\"") != std::string::npos);
}

TEST_CASE("RESPONSEFORMAT values (DALI 1.1 section 3.4.3)", "[votable]") {
    CHECK(parse_format("votable") == Format::votable);
    CHECK(parse_format("VOTable") == Format::votable);
    CHECK(parse_format("votable/td") == Format::votable);
    CHECK(parse_format("application/x-votable+xml") == Format::votable);
    CHECK(parse_format("application/x-votable+xml;serialization=TABLEDATA") == Format::votable);
    CHECK(parse_format("text/xml") == Format::votable);
    CHECK(parse_format("csv") == Format::csv);
    CHECK(parse_format("text/csv;header=present") == Format::csv);
    CHECK(parse_format("tsv") == Format::tsv);
    CHECK(parse_format("text/tab-separated-values") == Format::tsv);
    CHECK(parse_format("fits") == Format::fits);
    CHECK(parse_format("application/fits") == Format::fits);
    CHECK(parse_format("application/x-votable+xml;serialization=binary") == Format::votable_binary);
    CHECK(parse_format("votable/b") == Format::votable_binary);
    CHECK_FALSE(parse_format("application/x-votable+xml;serialization=nonsense").has_value());
    CHECK_FALSE(parse_format("").has_value());
}

TEST_CASE("the format registry: every advertised name parses back to its format", "[votable][formats]") {
    // Capabilities advertise exactly these names (server/vosi.cpp reads the
    // registry), so each must be accepted as RESPONSEFORMAT, in any case.
    int formats = 0;
    for (const auto& f : output_formats()) {
        ++formats;
        CHECK(parse_format(f.mime) == f.format);
        CHECK(mime_type(f.format) == f.mime);
        for (auto n : f.aliases) CHECK(parse_format(n) == f.format);
        for (auto n : f.other_mimes) CHECK(parse_format(n) == f.format);
        for (auto n : f.accepted) CHECK(parse_format(n) == f.format);
        std::string upper(f.mime);
        for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        CHECK(parse_format(upper) == f.format);
        // The writer the registry makes writes this format.
        std::string out;
        auto w = make_writer(f.format, [&](std::string_view c) { out.append(c); });
        Field x;
        x.name = "x";
        x.datatype = "int";
        w->begin({x});
        w->end(false);
        if (f.format == Format::csv) CHECK(out == "x\r\n");
        if (f.format == Format::votable_binary2) CHECK(out.find("<BINARY2>") != std::string::npos);
        if (f.format == Format::fits) CHECK(out.rfind("SIMPLE  =", 0) == 0);
    }
    CHECK(formats == 6);
    const std::string names = supported_format_names();
    for (auto n : {"votable", "votable/b2", "application/x-votable+xml;serialization=BINARY2", "csv", "tsv", "fits"})
        CHECK(names.find(n) != std::string::npos);
}

TEST_CASE("RESPONSEFORMAT: a VOTable serialization voserver does not write is refused", "[votable][formats]") {
    // A client asking for VOTable-wrapped FITS must not receive a bare FITS table.
    CHECK_FALSE(parse_format("application/x-votable+xml;serialization=FITS").has_value());
    CHECK(parse_format("application/x-votable+xml; serialization=\"BINARY2\"") == Format::votable_binary2);
    CHECK(parse_format("text/csv;charset=UTF-8") == Format::csv);
    CHECK_FALSE(parse_format("text/html").has_value());
    CHECK_FALSE(parse_format(" ; ").has_value());
}

TEST_CASE("sample VOTables pass stilts votlint", "[votable][votlint]") {
    // Writes the outputs and runs STILTS votlint on them when it is installed.
    if (std::system("test -x /usr/bin/stilts") != 0) {
        WARN("stilts not installed; votlint check skipped");
        return;
    }
    const std::string dir = std::string(VO_SOURCE_DIR) + "/build-votlint-samples";
    std::system(("mkdir -p '" + dir + "'").c_str());
    const std::vector<std::pair<std::string, std::string>> docs = {
        {"ok.xml", write_all(Format::votable, std::nullopt)},
        {"overflow.xml", write_all(Format::votable, 1)},
        {"meta.xml", write_all(Format::votable, 0)},
        {"error.xml", error_document("syntax error at line 1, column 7: unexpected \"FORM\"")},
    };
    for (const auto& [name, text] : docs) {
        const std::string path = dir + "/" + name;
        std::ofstream(path) << text;
        const std::string out = path + ".lint";
        const int rc =
            std::system(("/usr/bin/stilts votlint validate=true '" + path + "' > '" + out + "' 2>&1").c_str());
        std::ifstream in(out);
        std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(name << ": " << report);
        CHECK(rc == 0);
        CHECK(report.find("ERROR") == std::string::npos);
        CHECK(report.find("WARNING") == std::string::npos);
    }
}

namespace {

/// Decodes the base64 text between <STREAM encoding="base64"> and </STREAM>.
std::string stream_bytes(const std::string& doc) {
    const std::string open = "<STREAM encoding=\"base64\">";
    const auto a = doc.find(open);
    const auto b = doc.find("</STREAM>");
    REQUIRE(a != std::string::npos);
    REQUIRE(b != std::string::npos);
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : doc.substr(a + open.size(), b - a - open.size())) {
        if (c == '=' || c == '\n' || c == ' ') continue;
        const auto v = alphabet.find(c);
        REQUIRE(v != std::string::npos);
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

std::string be(std::uint64_t v, int n) {
    std::string s;
    for (int i = n - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return s;
}

std::string be_double(double d) {
    std::uint64_t u;
    std::memcpy(&u, &d, 8);
    return be(u, 8);
}

}  // namespace

TEST_CASE("VOTable BINARY2: null flags, big-endian values, variable arrays (VOTable 1.4 section 5.5)",
          "[votable][binary2]") {
    std::vector<Field> fields = {
        {"obs_id", "char", "*", "", "", "", "", ""},      {"s_ra", "double", "", "", "deg", "", "", ""},
        {"calib_level", "short", "", "", "", "", "", ""}, {"n", "long", "", "", "", "", "", ""},
        {"p", "double", "*", "point", "deg", "", "", ""}, {"f", "float", "", "", "", "", "", ""},
        {"ok", "boolean", "", "", "", "", "", ""},
    };
    VectorSource src(
        {{std::string("a<b"), 10.5, std::int64_t{2}, std::int64_t{1} << 40, std::string("10 20"), 1.5, std::int64_t{1}},
         {Value{}, Value{}, Value{}, Value{}, Value{}, Value{}, Value{}}});
    std::string out;
    auto w = make_writer(Format::votable_binary2, [&](std::string_view s) { out += s; });
    w->begin(fields, {{"QUERY", "SELECT 1"}});
    stream_rows(src, *w, std::nullopt);
    w->end(false);
    CHECK(out.find("<DATA><BINARY2><STREAM encoding=\"base64\">") != std::string::npos);
    CHECK(out.find("</STREAM></BINARY2></DATA>") != std::string::npos);
    CHECK(out.find("<FIELD name=\"p\" datatype=\"double\" arraysize=\"*\" xtype=\"point\"") != std::string::npos);
    const std::string bytes = stream_bytes(out);
    float f = 1.5f;
    std::uint32_t fu;
    std::memcpy(&fu, &f, 4);
    const std::string row1 = std::string(1, '\0') + be(3, 4) + "a<b" + be_double(10.5) + be(2, 2) +
                             be(std::uint64_t{1} << 40, 8) + be(2, 4) + be_double(10) + be_double(20) + be(fu, 4) + "T";
    // row 2: every field NULL: flags 1111 1110, then placeholder values
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t nan_bits;
    std::memcpy(&nan_bits, &nan, 8);
    float fnan = std::numeric_limits<float>::quiet_NaN();
    std::uint32_t fnan_bits;
    std::memcpy(&fnan_bits, &fnan, 4);
    const std::string row2 =
        std::string(1, '\xfe') + be(0, 4) + be(nan_bits, 8) + be(0, 2) + be(0, 8) + be(0, 4) + be(fnan_bits, 4) + "?";
    CHECK(bytes == row1 + row2);
}

TEST_CASE("base64 padding when the last group ends a 76-character line (regression)", "[votable][binary2]") {
    // One char* cell: 1 flag byte + 4 length bytes + L bytes. L = 50 or 51 makes
    // 55 or 56 bytes: 18 whole groups, then a padded 19th group that ends the
    // first 76-character line. The padding used to overwrite the line break.
    for (std::size_t len : {49u, 50u, 51u, 52u}) {
        INFO(len);
        std::vector<Field> fields = {{"s", "char", "*", "", "", "", "", ""}};
        VectorSource src({{std::string(len, 'x')}});
        std::string out;
        auto w = make_writer(Format::votable_binary2, [&](std::string_view s) { out += s; });
        w->begin(fields, {});
        stream_rows(src, *w, std::nullopt);
        w->end(false);
        const std::string open = "<STREAM encoding=\"base64\">\n";
        const auto a = out.find(open) + open.size();
        const std::string text = out.substr(a, out.find("</STREAM>") - a);
        std::size_t chars = 0;
        std::size_t line = 0;
        for (char c : text) {
            if (c == '\n') {
                CHECK(line <= 76);
                line = 0;
            } else {
                ++chars, ++line;
            }
        }
        CHECK(line <= 76);
        CHECK(chars % 4 == 0);
        CHECK(stream_bytes(out) == std::string(1, '\0') + be(len, 4) + std::string(len, 'x'));
    }
}

TEST_CASE("VOTable BINARY2 of many rows streams in bounded chunks and ends cleanly after an error",
          "[votable][binary2]") {
    std::vector<Field> fields = {{"i", "long", "", "", "", "", "", ""}, {"x", "double", "", "", "", "", "", ""}};
    CountingSource src(100000);
    std::size_t max_chunk = 0, total = 0;
    auto w = make_writer(
        Format::votable_binary2,
        [&](std::string_view s) {
            max_chunk = std::max(max_chunk, s.size());
            total += s.size();
        },
        8192);
    w->begin(fields);
    stream_rows(src, *w, std::nullopt);
    w->end(true);
    CHECK(max_chunk < 8192 * 2);
    // 100000 rows x (1 flag byte + 8 + 8) = 1.7 MB, base64 = 4/3 of it
    CHECK(total > 100000 * 17 * 4 / 3);
    std::string out;
    auto e = make_writer(Format::votable_binary2, [&](std::string_view s) { out += s; });
    e->begin(fields);
    e->end_with_error("disk on fire");
    CHECK(
        out.find(
            "</STREAM></BINARY2></DATA>\n</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"ERROR\">disk on fire</INFO>") !=
        std::string::npos);
}

TEST_CASE("RESPONSEFORMAT names of BINARY2", "[votable][binary2]") {
    CHECK(parse_format("votable/b2") == Format::votable_binary2);
    CHECK(parse_format("binary2") == Format::votable_binary2);
    CHECK(parse_format("application/x-votable+xml;serialization=BINARY2") == Format::votable_binary2);
    CHECK(parse_format("application/x-votable+xml; serialization=binary2") == Format::votable_binary2);
    CHECK(parse_format("application/x-votable+xml;serialization=TABLEDATA") == Format::votable);
    CHECK(mime_type(Format::votable_binary2) == "application/x-votable+xml;serialization=BINARY2");
}

TEST_CASE("VOTable BINARY: no NULL flags, NULL integers as the FIELD's VALUES null (VOTable 1.4 section 5.4)",
          "[votable][binary]") {
    std::vector<Field> fields = {{"calib_level", "short", "", "", "", "", "", "level"},
                                 {"x", "double", "", "", "", "", "", ""}};
    VectorSource src({{std::int64_t{3}, 2.5}, {Value{}, Value{}}});
    std::string out;
    auto w = make_writer(Format::votable_binary, [&](std::string_view s) { out += s; });
    w->begin(fields);
    stream_rows(src, *w, std::nullopt);
    w->end(false);
    CHECK(out.find("<FIELD name=\"calib_level\" datatype=\"short\"><DESCRIPTION>level</DESCRIPTION><VALUES "
                   "null=\"-32768\"/></FIELD>") != std::string::npos);
    CHECK(out.find("<DATA><BINARY><STREAM encoding=\"base64\">") != std::string::npos);
    out.replace(out.find("<BINARY>"), 8, "<BINARY2>");  // let stream_bytes find the stream
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t nan_bits;
    std::memcpy(&nan_bits, &nan, 8);
    CHECK(stream_bytes(out) == be(3, 2) + be_double(2.5) + be(0x8000, 2) + be(nan_bits, 8));
}

#include <zlib.h>

#include "votable/gzip_sink.hpp"

TEST_CASE("gzip of a streamed table reads back (RFC 1952) and Accept-Encoding is parsed", "[votable][gzip]") {
    std::string gz;
    std::size_t pieces = 0;
    GzipSink g([&](std::string_view s) {
        gz += s;
        ++pieces;
    });
    auto w = make_writer(Format::votable, g.sink(), 4096);
    CountingSource src(20000);
    w->begin({{"i", "long", "", "", "", "", "", ""}, {"x", "double", "", "", "", "", "", ""}});
    stream_rows(src, *w, std::nullopt);
    w->end(false);
    g.finish();
    REQUIRE(gz.size() > 18);
    CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
    CHECK(pieces > 1);
    // inflate with zlib (gzip wrapper: windowBits 15 + 16)
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    std::string plain(8 * 1024 * 1024, '\0');
    z.next_in = reinterpret_cast<Bytef*>(gz.data());
    z.avail_in = static_cast<uInt>(gz.size());
    z.next_out = reinterpret_cast<Bytef*>(plain.data());
    z.avail_out = static_cast<uInt>(plain.size());
    CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
    plain.resize(plain.size() - z.avail_out);
    inflateEnd(&z);
    CHECK(plain.find("<TR><TD>20000</TD><TD>2000</TD></TR>") != std::string::npos);
    CHECK(plain.size() > gz.size() * 3);

    CHECK(accepts_gzip("gzip, deflate"));
    CHECK(accepts_gzip("deflate, x-gzip"));
    CHECK(accepts_gzip("*"));
    CHECK(accepts_gzip("br;q=1.0, gzip;q=0.8"));
    CHECK_FALSE(accepts_gzip("gzip;q=0"));
    CHECK_FALSE(accepts_gzip("identity"));
    CHECK_FALSE(accepts_gzip(""));
}

namespace {
/// Writes `rows` of `fields` as a FITS table and reopens it with CFITSIO.
struct FitsResult {
    std::string bytes;
    fitsfile* f = nullptr;
    void* mem = nullptr;  // CFITSIO keeps the addresses of these two
    std::size_t size = 0;
    explicit FitsResult(const std::vector<Field>& fields, std::vector<std::vector<Value>> rows, bool overflow = false) {
        auto w = make_writer(Format::fits, [&](std::string_view s) { bytes.append(s); });
        VectorSource src(std::move(rows));
        w->begin(fields, {{"QUERY", "SELECT 1"}});
        stream_rows(src, *w, std::nullopt);
        w->end(overflow);
        int status = 0;
        mem = bytes.data();
        size = bytes.size();
        fits_open_memfile(&f, "result.fits", READONLY, &mem, &size, 0, nullptr, &status);
        REQUIRE(status == 0);
        int type = 0;
        fits_movabs_hdu(f, 2, &type, &status);
        REQUIRE(status == 0);
        REQUIRE(type == BINARY_TBL);
    }
    ~FitsResult() {
        int s = 0;
        if (f) fits_close_file(f, &s);
    }
    std::string key(const char* name) {
        char v[FLEN_VALUE] = "", c[FLEN_COMMENT];
        int status = 0;
        fits_read_keyword(f, name, v, c, &status);
        return status ? std::string("<missing>") : std::string(v);
    }
    std::string text(int col, long row) {
        char buf[4096] = "";
        char* p = buf;
        int status = 0, anynul = 0;
        fits_read_col(f, TSTRING, col, row, 1, 1, nullptr, &p, &anynul, &status);
        REQUIRE(status == 0);
        return buf;
    }
    double real(int col, long row, long elem = 1) {
        double v = 0;
        int status = 0, anynul = 0;
        fits_read_col(f, TDOUBLE, col, row, elem, 1, nullptr, &v, &anynul, &status);
        REQUIRE(status == 0);
        return v;
    }
    std::pair<long long, bool> integer(int col, long row) {
        long long v = 0;
        char nul = 0;
        int status = 0, anynul = 0;
        fits_read_colnull(f, TLONGLONG, col, row, 1, 1, &v, &nul, &anynul, &status);
        REQUIRE(status == 0);
        return {v, nul != 0};
    }
};
}  // namespace

TEST_CASE("FITS table: fixed-width strings, NULLs, integer TNULLs, padded arrays, status keywords", "[votable][fits]") {
    std::vector<Field> fields = {
        {"obs_id", "char", "*", "", "", "meta.id", "", "an identifier"},
        {"s_ra", "double", "", "", "deg", "pos.eq.ra", "", ""},
        {"calib_level", "short", "", "", "", "", "", ""},
        {"n", "long", "", "", "", "", "", ""},
        {"poly", "double", "*", "polygon", "deg", "", "", ""},
        {"p", "double", "2", "point", "deg", "", "", ""},
        {"f", "float", "", "", "", "", "", ""},
        {"ok", "boolean", "", "", "", "", "", ""},
        {"u", "unsignedByte", "", "", "", "", "", ""},
        {"i", "int", "", "", "", "", "", ""},
    };
    FitsResult r(fields,
                 {{std::string("alpha"), 10.5, std::int64_t{2}, std::int64_t{1} << 40, std::string("1 2 3 4 5 6"),
                   std::string("10 20"), 1.5, std::int64_t{1}, std::int64_t{7}, std::int64_t{-5}},
                  {Value{}, Value{}, Value{}, Value{}, Value{}, Value{}, Value{}, Value{}, Value{}, Value{}},
                  {std::string("a much longer identifier \xC3\xA9"), -1.0, std::int64_t{0}, std::int64_t{-1},
                   std::string("7 8 9 10 11 12 13 14"), std::string("1 2"), 0.25, std::int64_t{0},
                   std::int64_t{255 - 1}, std::int64_t{2147483647}}},
                 true);
    CHECK(r.key("NAXIS2") == "3");
    // strings: as wide as the longest value (27 bytes, the two UTF-8 bytes as '?')
    CHECK(r.key("TFORM1") == "'27A     '");
    CHECK(r.key("TFORM5") == "'8D      '");  // variable array: its longest length
    CHECK(r.key("TFORM6") == "'2D      '");
    CHECK(r.key("TFORM7") == "'1E      '");
    CHECK(r.key("TUNIT2") == "'deg     '");
    CHECK(r.key("TUCD1") == "'meta.id '");
    CHECK(r.key("QUERY_ST") == "'OVERFLOW'");
    CHECK(r.text(1, 1) == "alpha");
    CHECK(r.text(1, 2).empty());
    CHECK(r.text(1, 3) == "a much longer identifier ??");
    CHECK(r.real(2, 1) == 10.5);
    CHECK(std::isnan(r.real(2, 2)));
    CHECK(r.integer(3, 1) == std::pair<long long, bool>{2, false});
    CHECK(r.integer(3, 2).second);
    CHECK(r.integer(4, 1).first == (1LL << 40));
    CHECK(r.integer(4, 2).second);
    CHECK(r.integer(4, 3) == std::pair<long long, bool>{-1, false});
    CHECK(r.real(5, 1, 6) == 6.0);
    CHECK(std::isnan(r.real(5, 1, 7)));  // padded with NaN beyond its 6 values
    CHECK(r.real(5, 3, 8) == 14.0);
    CHECK(std::isnan(r.real(5, 2, 1)));
    CHECK(r.real(6, 3, 2) == 2.0);
    CHECK(r.real(7, 1) == 1.5);
    CHECK(r.integer(9, 3) == std::pair<long long, bool>{254, false});
    CHECK(r.integer(9, 2).second);
    CHECK(r.integer(10, 3) == std::pair<long long, bool>{2147483647, false});
    CHECK(r.integer(10, 2).second);
    // logicals: T, undefined, F
    char l[3] = {9, 9, 9}, nul[3] = {0, 0, 0};
    int status = 0, anynul = 0;
    fits_read_colnull(r.f, TLOGICAL, 8, 1, 1, 3, l, nul, &anynul, &status);
    CHECK(status == 0);
    CHECK(l[0] == 1);
    CHECK(nul[1] == 1);
    CHECK(l[2] == 0);
    CHECK(nul[2] == 0);
    // the file is a whole number of 2880-byte blocks and passes CFITSIO's checks
    CHECK(r.bytes.size() % 2880 == 0);
}

TEST_CASE("FITS table of many rows: every row read back, bounded output chunks", "[votable][fits]") {
    std::vector<Field> fields = {{"i", "long", "", "", "", "", "", ""}, {"x", "double", "", "", "", "", "", ""}};
    std::string out;
    std::size_t largest = 0;
    auto w = make_writer(
        Format::fits,
        [&](std::string_view s) {
            out.append(s);
            largest = std::max(largest, s.size());
        },
        64 * 1024);
    CountingSource src(200000);
    w->begin(fields, {});
    stream_rows(src, *w, std::nullopt);
    w->end(false);
    CHECK(largest <= 64 * 1024);
    fitsfile* f = nullptr;
    int status = 0, type = 0, anynul = 0;
    void* mem = out.data();
    std::size_t size = out.size();
    fits_open_memfile(&f, "many.fits", READONLY, &mem, &size, 0, nullptr, &status);
    fits_movabs_hdu(f, 2, &type, &status);
    long rows = 0;
    fits_get_num_rows(f, &rows, &status);
    CHECK(rows == 200000);
    std::vector<long long> ids(200000);
    std::vector<double> xs(200000);
    fits_read_col(f, TLONGLONG, 1, 1, 1, 200000, nullptr, ids.data(), &anynul, &status);
    fits_read_col(f, TDOUBLE, 2, 1, 1, 200000, nullptr, xs.data(), &anynul, &status);
    REQUIRE(status == 0);
    CHECK(ids.front() == 1);
    CHECK(ids[123455] == 123456);
    CHECK(ids.back() == 200000);
    CHECK(xs[99] == 100 * 0.1);
    fits_close_file(f, &status);
}

TEST_CASE("FITS table: an integer too large for its column is an error, not a wrong value", "[votable][fits]") {
    std::vector<Field> fields = {{"s", "short", "", "", "", "", "", ""}};
    auto w = make_writer(Format::fits, [](std::string_view) {});
    VectorSource src(std::vector<std::vector<Value>>{{Value{std::int64_t{70000}}}});
    w->begin(fields, {});
    CHECK_THROWS_WITH(stream_rows(src, *w, std::nullopt), Catch::Contains("70000") && Catch::Contains("short"));
}

TEST_CASE("BINARY2: a stream whose last, padded base64 group ends a 76-character line is well formed",
          "[votable][binary2]") {
    // One row of 56 bytes (NULL flags 1, length 4, 51 characters): 19 base64
    // groups, exactly one 76-character line, the last group padded with one '='.
    // The padding once overwrote the line's newline and its last character.
    std::vector<Field> fields = {{"s", "char", "*", "", "", "", "", ""}};
    const std::string text(51, 'x');
    VectorSource src(std::vector<std::vector<Value>>{{Value{text}}});
    std::string out;
    auto w = make_writer(Format::votable_binary2, [&](std::string_view s) { out += s; });
    w->begin(fields, {});
    stream_rows(src, *w, std::nullopt);
    w->end(false);
    const std::string open = "<STREAM encoding=\"base64\">";
    std::string b64 = out.substr(out.find(open) + open.size());
    b64 = b64.substr(0, b64.find("</STREAM>"));
    std::string compact;
    for (char c : b64)
        if (c != '\n') compact += c;
    CHECK(compact.size() == 76);
    CHECK(compact.substr(74) == "g=");  // ...'x' 'x' -> "eHg=" : the last quartet keeps its data
    CHECK(stream_bytes(out) == std::string(1, '\0') + be(51, 4) + text);
}
