// Unit tests of the VOTable reader (votable/reader.hpp): real documents,
// round trips through voserver's own writers in every serialization, and
// every class of bad upload.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "votable/reader.hpp"
#include "votable/writer.hpp"

using namespace vo::votable;

namespace {

/// Keeps what the reader hands over.
struct Collect : TableReceiver {
    std::vector<Field> fields;
    std::vector<std::vector<Value>> rows;
    void begin(const std::vector<Field>& f) override { fields = f; }
    void row(const std::vector<Value>& v) override { rows.push_back(v); }
};

Collect read(const std::string& doc, ReadLimits limits = {}) {
    Collect c;
    read_votable(doc, c, limits);
    return c;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string wrap(const std::string& fields, const std::string& data) {
    return "<?xml version=\"1.0\"?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">"
           "<RESOURCE><TABLE>" +
           fields + "<DATA>" + data + "</DATA></TABLE></RESOURCE></VOTABLE>";
}

/// Rows held in memory, for the writers.
class Rows : public RowSource {
public:
    explicit Rows(std::vector<std::vector<Cell>> rows) : rows_(std::move(rows)) {}
    bool next() override { return ++i_ < static_cast<long>(rows_.size()); }
    Cell cell(std::size_t k) override { return rows_[static_cast<std::size_t>(i_)][k]; }

private:
    std::vector<std::vector<Cell>> rows_;
    long i_ = -1;
};

Cell integer(std::int64_t v) {
    Cell c;
    c.kind = CellKind::integer;
    c.integer = v;
    return c;
}
Cell real(double v) {
    Cell c;
    c.kind = CellKind::real;
    c.real = v;
    return c;
}
Cell text(std::string_view v) {
    Cell c;
    c.kind = CellKind::text;
    c.text = v;
    return c;
}
Cell null() { return Cell{}; }

}  // namespace

TEST_CASE("the reader reads GAVO's real ObsCore VOTable (TABLEDATA)", "[reader]") {
    const auto doc = slurp(std::string(VO_SHARED_DIR) + "/data/real-responses/pyvo/tap/obscore-image.xml");
    REQUIRE(!doc.empty());
    const auto t = read(doc);
    REQUIRE(t.fields.size() == 36);
    CHECK(t.fields[0].name == "dataproduct_type");
    CHECK(t.fields[13].name == "s_ra");
    CHECK(t.fields[13].datatype == "double");
    CHECK(t.fields[13].unit == "deg");
    CHECK(t.fields[13].ucd == "pos.eq.ra");
    REQUIRE(t.rows.size() == 10);
    const auto& r = t.rows[0];
    CHECK(r[0].text == "image");
    CHECK(r[1].kind == CellKind::null);     // <TD/>
    CHECK(r[2].kind == CellKind::integer);  // calib_level short
    CHECK(r[2].integer == 0);
    CHECK(r[10].integer == 435344);  // access_estsize long
    CHECK(r[13].real == Approx(3.50857212362378));
    CHECK(r[14].real == Approx(32.5520448642212));
    CHECK(r[16].text.rfind("Polygon ICRS 5.0880992953", 0) == 0);
    CHECK(r[20].kind == CellKind::null);  // NaN is NULL
}

TEST_CASE("TABLEDATA: every scalar datatype, NULLs, VALUES null, arrays", "[reader]") {
    const auto doc = wrap(
        "<FIELD name=\"b\" datatype=\"boolean\"/>"
        "<FIELD name=\"u\" datatype=\"unsignedByte\"/>"
        "<FIELD name=\"s\" datatype=\"short\"><VALUES null=\"-99\"/></FIELD>"
        "<FIELD name=\"i\" datatype=\"int\"/>"
        "<FIELD name=\"l\" datatype=\"long\"/>"
        "<FIELD name=\"f\" datatype=\"float\"/>"
        "<FIELD name=\"d\" datatype=\"double\" unit=\"deg\"><DESCRIPTION> Right ascension </DESCRIPTION></FIELD>"
        "<FIELD name=\"c\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"p\" datatype=\"double\" arraysize=\"2\" xtype=\"point\"/>"
        "<FIELD name=\"x\" datatype=\"bit\"/>"
        "<FIELD name=\"z\" datatype=\"doubleComplex\"/>",
        "<TABLEDATA>"
        "<TR><TD>T</TD><TD>255</TD><TD>-99</TD><TD>0x10</TD><TD>-9000000000</TD><TD>1.5</TD><TD>+Inf</TD>"
        "<TD>M 31 &amp; co</TD><TD> 10.5   -3 </TD><TD>1</TD><TD>1 -2</TD></TR>"
        "<TR><TD>?</TD><TD/><TD>7</TD><TD></TD><TD> 42 </TD><TD>NaN</TD><TD>-1e-300</TD><TD/><TD/><TD>0</TD><TD/></TR>"
        "</TABLEDATA>");
    const auto t = read(doc);
    REQUIRE(t.fields.size() == 11);
    CHECK(t.fields[6].description == "Right ascension");
    CHECK(t.fields[9].datatype == "boolean");  // bit scalar
    CHECK(t.fields[10].datatype == "char");    // complex as text
    REQUIRE(t.rows.size() == 2);
    const auto& a = t.rows[0];
    CHECK(a[0].integer == 1);
    CHECK(a[1].integer == 255);
    CHECK(a[2].kind == CellKind::null);  // the VALUES null
    CHECK(a[3].integer == 16);
    CHECK(a[4].integer == -9000000000LL);
    CHECK(a[5].real == 1.5);
    CHECK(std::isinf(a[6].real));
    CHECK(a[7].text == "M 31 & co");
    CHECK(a[8].text == "10.5 -3");
    CHECK(a[9].integer == 1);
    CHECK(a[10].text == "1 -2");
    const auto& b = t.rows[1];
    CHECK(b[0].kind == CellKind::null);
    CHECK(b[1].kind == CellKind::null);
    CHECK(b[2].integer == 7);
    CHECK(b[3].kind == CellKind::null);
    CHECK(b[4].integer == 42);
    CHECK(b[5].kind == CellKind::null);
    CHECK(b[6].real == -1e-300);
    CHECK(b[7].kind == CellKind::null);
    CHECK(b[8].kind == CellKind::null);
    CHECK(b[9].integer == 0);
}

TEST_CASE("what voserver writes as TABLEDATA, BINARY and BINARY2 reads back the same", "[reader]") {
    const std::vector<Field> fields = {
        {"id", "long", "", "", "", "meta.id", "", ""},
        {"ra", "double", "", "", "deg", "pos.eq.ra", "", ""},
        {"name", "char", "*", "", "", "", "", ""},
        {"flag", "boolean", "", "", "", "", "", ""},
        {"n", "short", "", "", "", "", "", ""},
        {"mag", "float", "", "", "mag", "", "", ""},
        {"pos", "double", "2", "point", "deg", "", "", ""},
        {"band", "double", "2", "interval", "m", "", "", ""},
    };
    const std::vector<std::vector<Cell>> rows = {
        {integer(1), real(10.6847083), text("M 31"), integer(1), integer(-3), real(3.25), text("10.5 41.25"),
         text("4.7e-07 9.35e-07")},
        {integer(2), null(), text("caf\xc3\xa9 <&>"), integer(0), null(), null(), null(), null()},
        {integer(9007199254740993LL), real(-0.0), null(), null(), integer(32767), real(-1e30), text("0 -90"),
         text("1e-3 2e-3")},
    };
    for (const Format format : {Format::votable, Format::votable_binary, Format::votable_binary2}) {
        INFO("format " << static_cast<int>(format));
        std::string doc;
        auto w = make_writer(format, [&](std::string_view s) { doc.append(s); });
        w->begin(fields, {{"QUERY", "SELECT"}});
        Rows source(rows);
        stream_rows(source, *w, std::nullopt);
        w->end(false);
        const auto t = read(doc);
        REQUIRE(t.fields.size() == fields.size());
        CHECK(t.fields[1].unit == "deg");
        CHECK(t.fields[6].xtype == "point");
        REQUIRE(t.rows.size() == 3);
        CHECK(t.rows[0][0].integer == 1);
        CHECK(t.rows[0][1].real == 10.6847083);
        CHECK(t.rows[0][2].text == "M 31");
        CHECK(t.rows[0][3].integer == 1);
        CHECK(t.rows[0][4].integer == -3);
        CHECK(t.rows[0][5].real == 3.25);
        CHECK(t.rows[0][6].text == "10.5 41.25");
        CHECK(t.rows[0][7].text == "4.7e-07 9.35e-07");
        CHECK(t.rows[1][1].kind == CellKind::null);
        CHECK(t.rows[1][2].text == "caf\xc3\xa9 <&>");
        CHECK(t.rows[1][3].integer == 0);
        CHECK(t.rows[1][4].kind == CellKind::null);
        CHECK(t.rows[1][5].kind == CellKind::null);
        CHECK(t.rows[1][6].kind == CellKind::null);  // NaN NaN or NULL flag
        CHECK(t.rows[2][0].integer == 9007199254740993LL);
        CHECK(t.rows[2][2].kind == CellKind::null);
        CHECK(t.rows[2][3].kind == CellKind::null);
        CHECK(t.rows[2][4].integer == 32767);
        CHECK(t.rows[2][5].real == Approx(-1e30));
        CHECK(t.rows[2][6].text == "0 -90");
    }
}

TEST_CASE("BINARY2 by hand: NULL flags, variable arrays, unicodeChar, bits", "[reader]") {
    // Row: flags, int 5 (not null), char* "ab", unicodeChar* "é", bit[3] 101, int (null flag set).
    std::string raw;
    raw += static_cast<char>(0x08);  // 5 columns: the fifth is NULL -> bit 4 (0x80 >> 4)
    raw += std::string("\x00\x00\x00\x05", 4);
    raw += std::string(
        "\x00\x00\x00\x02"
        "ab",
        6);
    raw += std::string("\x00\x00\x00\x01\x00\xe9", 6);
    raw += static_cast<char>(0xA0);
    raw += std::string("\x00\x00\x00\x00", 4);
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string enc;
    for (std::size_t i = 0; i < raw.size(); i += 3) {
        const unsigned a = static_cast<unsigned char>(raw[i]);
        const unsigned b = i + 1 < raw.size() ? static_cast<unsigned char>(raw[i + 1]) : 0;
        const unsigned c = i + 2 < raw.size() ? static_cast<unsigned char>(raw[i + 2]) : 0;
        enc += b64[a >> 2];
        enc += b64[((a & 3) << 4) | (b >> 4)];
        enc += i + 1 < raw.size() ? b64[((b & 15) << 2) | (c >> 6)] : '=';
        enc += i + 2 < raw.size() ? b64[c & 63] : '=';
        if (i % 30 == 27) enc += "\n  ";  // whitespace inside base64 is allowed
    }
    const auto doc = wrap(
        "<FIELD name=\"i\" datatype=\"int\"/><FIELD name=\"c\" datatype=\"char\" arraysize=\"*\"/>"
        "<FIELD name=\"u\" datatype=\"unicodeChar\" arraysize=\"*\"/>"
        "<FIELD name=\"bits\" datatype=\"bit\" arraysize=\"3\"/><FIELD name=\"n\" datatype=\"int\"/>",
        "<BINARY2><STREAM encoding=\"base64\">" + enc + "</STREAM></BINARY2>");
    const auto t = read(doc);
    REQUIRE(t.rows.size() == 1);
    CHECK(t.rows[0][0].integer == 5);
    CHECK(t.rows[0][1].text == "ab");
    CHECK(t.rows[0][2].text == "\xc3\xa9");
    CHECK(t.rows[0][3].text == "1 0 1");
    CHECK(t.rows[0][4].kind == CellKind::null);
}

TEST_CASE("arraysize=\"1\" is a scalar (VOTable 1.3 erratum 3), and is not echoed in results", "[reader]") {
    // STILTS taplint uploads such columns; echoing arraysize="1" into the
    // result made its UPL stage warn "deprecated since VOTable 1.3 Erratum #3".
    const auto doc = wrap(
        "<FIELD name=\"flag\" datatype=\"char\" arraysize=\"1\"/>"
        "<FIELD name=\"n\" datatype=\"int\" arraysize=\"1\"/>",
        "<TABLEDATA><TR><TD>y</TD><TD>42</TD></TR><TR><TD/><TD/></TR></TABLEDATA>");
    const auto t = read(doc);
    REQUIRE(t.fields.size() == 2);
    CHECK(t.fields[0].arraysize.empty());
    CHECK(t.fields[1].arraysize.empty());
    CHECK(t.fields[1].datatype == "int");
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0][0].kind == CellKind::text);
    CHECK(t.rows[0][0].text == "y");
    CHECK(t.rows[0][1].kind == CellKind::integer);
    CHECK(t.rows[0][1].integer == 42);
    CHECK(t.rows[1][1].kind == CellKind::null);
}

TEST_CASE("a table without rows, and nested RESOURCEs: the first TABLE is read", "[reader]") {
    const auto t = read(
        "<VOTABLE><RESOURCE><RESOURCE><TABLE><FIELD name=\"a\" datatype=\"int\"/></TABLE>"
        "</RESOURCE></RESOURCE><RESOURCE><TABLE><FIELD name=\"b\" datatype=\"int\"/><DATA><TABLEDATA>"
        "<TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>");
    REQUIRE(t.fields.size() == 1);
    CHECK(t.fields[0].name == "a");
    CHECK(t.rows.empty());
}

TEST_CASE("bad uploads are ReadErrors that say what is wrong", "[reader]") {
    auto message = [](const std::string& doc, ReadLimits limits = {}) {
        Collect c;
        try {
            read_votable(doc, c, limits);
        } catch (const ReadError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    const std::string good =
        wrap("<FIELD name=\"a\" datatype=\"int\"/>", "<TABLEDATA><TR><TD>1</TD></TR><TR><TD>2</TD></TR></TABLEDATA>");
    CHECK_THAT(message("ra,dec\n1,2\n"), Catch::Contains("not well-formed XML"));
    CHECK_THAT(message(""), Catch::Contains("not"));
    CHECK_THAT(message(good.substr(0, good.size() / 2 + 10)), Catch::Contains("truncated"));
    CHECK_THAT(message("<html><body>x</body></html>"), Catch::Contains("root element is <html>"));
    CHECK_THAT(message("<VOTABLE><RESOURCE/></VOTABLE>"), Catch::Contains("no TABLE"));
    CHECK_THAT(message(wrap("", "<TABLEDATA/>")), Catch::Contains("no FIELD"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"real\"/>", "")), Catch::Contains("datatype=\"real\""));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\" arraysize=\"2x*x3\"/>", "")),
               Catch::Contains("malformed arraysize"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"/>", "<TABLEDATA><TR><TD>1.5</TD></TR></TABLEDATA>")),
               Catch::Contains("row 1, FIELD \"a\"") && Catch::Contains("\"1.5\" is not a int"));
    CHECK_THAT(
        message(wrap("<FIELD name=\"a\" datatype=\"short\"/>", "<TABLEDATA><TR><TD>40000</TD></TR></TABLEDATA>")),
        Catch::Contains("is not a short"));
    CHECK_THAT(
        message(wrap("<FIELD name=\"a\" datatype=\"int\"/>", "<TABLEDATA><TR><TD>1</TD><TD>2</TD></TR></TABLEDATA>")),
        Catch::Contains("more TD"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"/><FIELD name=\"b\" datatype=\"int\"/>",
                            "<TABLEDATA><TR><TD>1</TD></TR></TABLEDATA>")),
               Catch::Contains("1 TD for 2 FIELDs"));
    CHECK_THAT(message(good, ReadLimits{1, 1000}), Catch::Contains("more than 1 rows"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"/><FIELD name=\"b\" datatype=\"int\"/>", ""),
                       ReadLimits{10, 1}),
               Catch::Contains("more than 1 FIELDs"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"/>",
                            "<BINARY2><STREAM encoding=\"base64\">AAAA</STREAM></BINARY2>")),
               Catch::Contains("ends inside row 1"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"/>",
                            "<BINARY><STREAM encoding=\"base64\">AA*A</STREAM></BINARY>")),
               Catch::Contains("not base64"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"/>",
                            "<BINARY><STREAM href=\"http://example.org/x\"/></BINARY>")),
               Catch::Contains("remote data"));
    CHECK_THAT(
        message(wrap("<FIELD name=\"a\" datatype=\"int\"/>", "<BINARY><STREAM encoding=\"gzip\">x</STREAM></BINARY>")),
        Catch::Contains("only base64"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"/>", "<FITS><STREAM href=\"x.fits\"/></FITS>")),
               Catch::Contains("FITS"));
    CHECK_THAT(message(wrap("<FIELD name=\"a\" datatype=\"int\"><VALUES null=\"x\"/></FIELD>", "")),
               Catch::Contains("VALUES null=\"x\""));
    // Entity expansion (billion laughs) is refused before parsing.
    CHECK_THAT(message("<?xml version=\"1.0\"?><!DOCTYPE v [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
                       "<VOTABLE>&b;</VOTABLE>"),
               Catch::Contains("entities"));
}
