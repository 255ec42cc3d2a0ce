// VOTable reader (votable/reader.hpp): VOTable 1.4 sections 3 (FIELD,
// VALUES), 5.1 (TABLEDATA), 5.3 (BINARY), 5.4 (BINARY2), 5.5 (NULLs), 6
// (datatypes) on libxml2's xmlTextReader.
#include "votable/reader.hpp"

#include <libxml/xmlreader.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

namespace vo::votable {

namespace {

// ---------------------------------------------------------------- datatypes

enum class Prim {
    boolean,
    bit,
    ubyte,
    shortint,
    integer,
    longint,
    real32,
    real64,
    character,
    unicode,
    complex32,
    complex64
};

/// What a FIELD declares, as the reader needs it.
struct Column {
    Field field;  ///< as handed to the receiver
    Prim prim = Prim::character;
    bool array = false;                        ///< arraysize given (strings, numeric arrays)
    bool variable = false;                     ///< arraysize ends in '*'
    std::size_t fixed = 1;                     ///< elements of a fixed array (product of the dimensions)
    std::string null;                          ///< VALUES null, "" when none
    std::optional<std::int64_t> null_integer;  ///< the same, parsed, for integer types
};

std::optional<Prim> prim_of(std::string_view d) {
    if (d == "boolean") return Prim::boolean;
    if (d == "bit") return Prim::bit;
    if (d == "unsignedByte") return Prim::ubyte;
    if (d == "short") return Prim::shortint;
    if (d == "int") return Prim::integer;
    if (d == "long") return Prim::longint;
    if (d == "float") return Prim::real32;
    if (d == "double") return Prim::real64;
    if (d == "char") return Prim::character;
    if (d == "unicodeChar") return Prim::unicode;
    if (d == "floatComplex") return Prim::complex32;
    if (d == "doubleComplex") return Prim::complex64;
    return std::nullopt;
}

bool is_integer(Prim p) { return p == Prim::ubyte || p == Prim::shortint || p == Prim::integer || p == Prim::longint; }
bool is_real(Prim p) { return p == Prim::real32 || p == Prim::real64; }
bool is_string(Prim p) { return p == Prim::character || p == Prim::unicode; }

/// Bytes of one element in BINARY (bit is handled apart).
std::size_t element_bytes(Prim p) {
    switch (p) {
        case Prim::boolean:
        case Prim::ubyte:
        case Prim::character:
        case Prim::bit: return 1;
        case Prim::shortint:
        case Prim::unicode: return 2;
        case Prim::integer:
        case Prim::real32: return 4;
        case Prim::longint:
        case Prim::real64:
        case Prim::complex32: return 8;
        case Prim::complex64: return 16;
    }
    return 1;
}

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

/// Parses an integer (decimal or 0x hex, VOTable 1.4 section 6) within the
/// range of `p`; nullopt when it is not one.
std::optional<std::int64_t> parse_integer(std::string_view t, Prim p) {
    t = trim(t);
    if (t.empty()) return std::nullopt;
    std::string s(t);
    errno = 0;
    char* end = nullptr;
    long long v = 0;
    const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (hex) {
        const unsigned long long u = std::strtoull(s.c_str() + 2, &end, 16);
        if (errno || end != s.c_str() + s.size()) return std::nullopt;
        // Hex gives the bit pattern of the type (e.g. 0xFFFF is -1 as a short).
        switch (p) {
            case Prim::ubyte:
                if (u > 0xff) return std::nullopt;
                v = static_cast<long long>(u);
                break;
            case Prim::shortint:
                if (u > 0xffff) return std::nullopt;
                v = static_cast<std::int16_t>(u);
                break;
            case Prim::integer:
                if (u > 0xffffffffULL) return std::nullopt;
                v = static_cast<std::int32_t>(u);
                break;
            default: v = static_cast<long long>(u); break;
        }
        return v;
    }
    v = std::strtoll(s.c_str(), &end, 10);
    if (errno || end != s.c_str() + s.size()) return std::nullopt;
    switch (p) {
        case Prim::ubyte:
            if (v < 0 || v > 255) return std::nullopt;
            break;
        case Prim::shortint:
            if (v < INT16_MIN || v > INT16_MAX) return std::nullopt;
            break;
        case Prim::integer:
            if (v < INT32_MIN || v > INT32_MAX) return std::nullopt;
            break;
        default: break;
    }
    return v;
}

/// Parses a floating-point number ("NaN", "+Inf", "-Inf", "Inf" included).
std::optional<double> parse_real(std::string_view t) {
    t = trim(t);
    if (t.empty()) return std::nullopt;
    std::string s(t);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    if (errno == ERANGE && std::isfinite(v) && v != 0.0) return std::nullopt;
    return v;
}

/// A boolean's TABLEDATA or BINARY text: 1, 0, or nullopt for NULL ('?',
/// blank, empty); throws for anything else (VOTable 1.4 section 6).
std::optional<int> parse_boolean(std::string_view t, bool& ok) {
    t = trim(t);
    ok = true;
    if (t.empty() || t == "?" || t == std::string_view("\0", 1)) return std::nullopt;
    auto is = [&](std::string_view w) {
        if (t.size() != w.size()) return false;
        for (std::size_t i = 0; i < t.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(t[i])) != w[i]) return false;
        return true;
    };
    if (is("t") || is("1") || is("true")) return 1;
    if (is("f") || is("0") || is("false")) return 0;
    ok = false;
    return std::nullopt;
}

// ---------------------------------------------------------------- arraysize

/// Reads `arraysize` (VOTable 1.4 section 3.2: "n", "n*", "*", "AxBxC", the
/// last dimension possibly variable) into `c`; false when malformed.
/// A lone "1" is a scalar: VOTable 1.3 erratum 3 deprecates arraysize="1"
/// and gives it the meaning of no arraysize (one char, one number).
bool read_arraysize(std::string_view as, Column& c) {
    as = trim(as);
    if (as.empty() || as == "1") return true;
    c.array = true;
    std::size_t product = 1;
    std::size_t start = 0;
    while (true) {
        const std::size_t x = as.find('x', start);
        std::string_view dim = as.substr(start, x == std::string_view::npos ? std::string_view::npos : x - start);
        const bool last = x == std::string_view::npos;
        if (!dim.empty() && dim.back() == '*') {
            if (!last) return false;
            c.variable = true;
            dim.remove_suffix(1);
            if (dim.empty()) break;
        }
        if (dim.empty()) return false;
        std::size_t n = 0;
        for (char ch : dim) {
            if (ch < '0' || ch > '9') return false;
            n = n * 10 + static_cast<std::size_t>(ch - '0');
            if (n > (1u << 30)) return false;
        }
        if (!c.variable) product *= n;
        if (product > (1u << 30)) return false;
        if (last) break;
        start = x + 1;
    }
    c.fixed = product;
    return true;
}

// ---------------------------------------------------------------- base64

int base64_digit(unsigned char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/// Decodes base64 text (RFC 2045: whitespace ignored, '=' padding) in pieces.
class Base64Decoder {
public:
    /// Appends the bytes of `text` to `out`; false on a character that is
    /// not base64.
    bool feed(std::string_view text, std::string& out) {
        for (unsigned char ch : text) {
            if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
            if (ch == '=') {
                padded_ = true;
                continue;
            }
            const int d = base64_digit(ch);
            if (d < 0 || padded_) return false;
            acc_ = (acc_ << 6) | static_cast<unsigned>(d);
            bits_ += 6;
            if (bits_ >= 8) {
                bits_ -= 8;
                out.push_back(static_cast<char>((acc_ >> bits_) & 0xff));
            }
        }
        return true;
    }

private:
    unsigned acc_ = 0;
    int bits_ = 0;
    bool padded_ = false;
};

// ---------------------------------------------------------------- the reader

std::string to_string(const xmlChar* s) { return s ? std::string(reinterpret_cast<const char*>(s)) : std::string(); }

/// The XML errors of one document, collected by libxml2's structured handler.
struct ErrorSink {
    std::string first;
    static void handle(void* ctx, xmlErrorPtr e) {
        auto* self = static_cast<ErrorSink*>(ctx);
        if (!e || !self->first.empty() || e->level < XML_ERR_ERROR) return;
        std::string m = e->message ? e->message : "XML error";
        while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
        self->first = "line " + std::to_string(e->line) + ": " + m;
    }
};

class Reader {
public:
    Reader(std::string_view doc, TableReceiver& receiver, const ReadLimits& limits)
        : receiver_(receiver), limits_(limits) {
        refuse_entities(doc);
        // NONET: no network; no NOENT: entities are never substituted; no
        // DTDLOAD: no external DTD. HUGE lifts the 10 MB limit on one text
        // node, which a BINARY2 STREAM may pass (the upload size limit bounds it).
        reader_ = xmlReaderForMemory(doc.data(), static_cast<int>(doc.size()), nullptr, nullptr,
                                     XML_PARSE_NONET | XML_PARSE_HUGE);
        if (!reader_) throw ReadError("the upload is not a VOTable: cannot start an XML parser on it");
        xmlTextReaderSetStructuredErrorHandler(reader_, &ErrorSink::handle, &errors_);
    }
    ~Reader() {
        if (reader_) xmlFreeTextReader(reader_);
    }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    void run() {
        bool root_seen = false;
        while (true) {
            const int rc = xmlTextReaderRead(reader_);
            if (rc < 0) xml_failed();
            if (rc == 0) break;
            const int type = xmlTextReaderNodeType(reader_);
            if (type == XML_READER_TYPE_ELEMENT) {
                const std::string name = to_string(xmlTextReaderConstLocalName(reader_));
                if (!root_seen) {
                    root_seen = true;
                    if (name != "VOTABLE")
                        throw ReadError("the upload is not a VOTable: its root element is <" + name +
                                        ">, not <VOTABLE> (VOTable 1.4 section 3)");
                }
                const bool empty = xmlTextReaderIsEmptyElement(reader_) == 1;
                start(name);
                if (empty) end(name);
                if (done_) return;
            } else if (type == XML_READER_TYPE_END_ELEMENT) {
                end(to_string(xmlTextReaderConstLocalName(reader_)));
                if (done_) return;
            } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                       type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE || type == XML_READER_TYPE_WHITESPACE) {
                if (collecting_) text(reinterpret_cast<const char*>(xmlTextReaderConstValue(reader_)));
            } else if (type == XML_READER_TYPE_ENTITY_REFERENCE) {
                throw ReadError("the upload uses an XML entity reference, which a VOTable does not need; refused");
            }
        }
        if (!errors_.first.empty()) xml_failed();
        if (!root_seen) throw ReadError("the upload is not a VOTable: it holds no XML element");
        if (!table_seen_) throw ReadError("the uploaded VOTable holds no TABLE (VOTable 1.4 section 3.1)");
        throw ReadError("the uploaded VOTable ends inside its TABLE");
    }

private:
    /// Internal entity declarations could expand without bound; a VOTable
    /// never needs them.
    static void refuse_entities(std::string_view doc) {
        const auto root = doc.find("<VOTABLE");
        const auto prolog = doc.substr(0, root == std::string_view::npos ? doc.size() : root);
        if (prolog.find("<!ENTITY") != std::string_view::npos)
            throw ReadError("the upload declares XML entities (<!ENTITY>), which a VOTable does not need; refused");
    }

    [[noreturn]] void xml_failed() {
        throw ReadError("the upload is not well-formed XML (" +
                        (errors_.first.empty() ? std::string("the parser stopped") : errors_.first) +
                        "); a truncated or damaged VOTable?");
    }

    std::string attribute(const char* name) {
        xmlChar* v = xmlTextReaderGetAttribute(reader_, reinterpret_cast<const xmlChar*>(name));
        std::string s = to_string(v);
        if (v) xmlFree(v);
        return s;
    }

    void start(const std::string& name) {
        if (!in_table_) {
            if (name == "TABLE") {
                in_table_ = table_seen_ = true;
                table_depth_ = xmlTextReaderDepth(reader_);
            }
            return;
        }
        if (name == "FIELD" && !in_data_) {
            if (xmlTextReaderDepth(reader_) != table_depth_ + 1) return;
            if (columns_.size() >= limits_.max_fields)
                throw ReadError("the uploaded table has more than " + std::to_string(limits_.max_fields) + " FIELDs");
            columns_.push_back(make_column());
            in_field_ = true;
        } else if (in_field_ && name == "VALUES") {
            columns_.back().null = attribute("null");
        } else if (in_field_ && name == "DESCRIPTION") {
            collect();
        } else if (name == "DATA") {
            begin_data();
        } else if (in_data_ && name == "TABLEDATA") {
            mode_ = Mode::tabledata;
        } else if (in_data_ && (name == "BINARY" || name == "BINARY2")) {
            mode_ = name == "BINARY" ? Mode::binary : Mode::binary2;
        } else if (in_data_ && name == "FITS") {
            throw ReadError("the uploaded VOTable holds its data as FITS; send TABLEDATA, BINARY or BINARY2");
        } else if (mode_ == Mode::binary || mode_ == Mode::binary2) {
            if (name != "STREAM") return;
            if (!attribute("href").empty())
                throw ReadError("the uploaded VOTable refers to remote data (STREAM href); put the data inline");
            const std::string enc = attribute("encoding");
            if (enc != "base64")
                throw ReadError("the uploaded VOTable's STREAM has encoding=\"" + enc +
                                "\"; only base64 is read (VOTable 1.4 section 5.6)");
            collect();
        } else if (mode_ == Mode::tabledata) {
            if (name == "TR") {
                cells_.clear();
                in_tr_ = true;
            } else if (name == "TD" && in_tr_) {
                collect();
            }
        }
    }

    void end(const std::string& name) {
        if (!in_table_) return;
        if (name == "TABLE" && xmlTextReaderDepth(reader_) == table_depth_) {
            if (!data_begun_) begin_data();  // metadata only: no rows
            done_ = true;
            return;
        }
        if (in_field_ && name == "FIELD") {
            in_field_ = false;
            finish_column(columns_.back());
        } else if (in_field_ && name == "DESCRIPTION") {
            columns_.back().field.description = std::string(trim(collected_));
            stop_collecting();
        } else if (mode_ == Mode::tabledata && name == "TD" && in_tr_) {
            if (cells_.size() >= columns_.size())
                throw ReadError("row " + std::to_string(rows_ + 1) + " of the uploaded table has more TD than its " +
                                std::to_string(columns_.size()) + " FIELDs");
            cells_.push_back(tabledata_value(columns_[cells_.size()], collected_));
            stop_collecting();
        } else if (mode_ == Mode::tabledata && name == "TR" && in_tr_) {
            in_tr_ = false;
            if (cells_.size() != columns_.size())
                throw ReadError("row " + std::to_string(rows_ + 1) + " of the uploaded table has " +
                                std::to_string(cells_.size()) + " TD for " + std::to_string(columns_.size()) +
                                " FIELDs");
            deliver(cells_);
        } else if ((mode_ == Mode::binary || mode_ == Mode::binary2) && name == "STREAM") {
            stop_collecting();
            binary_rows();
        } else if (name == "DATA") {
            in_data_ = false;
        }
    }

    Column make_column() {
        Column c;
        Field& f = c.field;
        f.name = attribute("name");
        if (f.name.empty()) f.name = attribute("ID");
        const std::string datatype = attribute("datatype");
        const auto p = prim_of(datatype);
        const std::string label =
            f.name.empty() ? "FIELD " + std::to_string(columns_.size() + 1) : "FIELD \"" + f.name + "\"";
        if (!p)
            throw ReadError(label + " of the uploaded table has datatype=\"" + datatype +
                            "\", which is not a VOTable datatype (VOTable 1.4 section 2.1)");
        c.prim = *p;
        if (!read_arraysize(attribute("arraysize"), c))
            throw ReadError(label + " of the uploaded table has a malformed arraysize=\"" + attribute("arraysize") +
                            "\"");
        f.datatype = datatype;
        f.arraysize = c.array ? attribute("arraysize") : "";
        f.xtype = attribute("xtype");
        f.unit = attribute("unit");
        f.ucd = attribute("ucd");
        f.utype = attribute("utype");
        if (f.name.empty()) f.name = "col" + std::to_string(columns_.size() + 1);
        return c;
    }

    void finish_column(Column& c) {
        Field& f = c.field;
        if (c.prim == Prim::bit && !c.array) f.datatype = "boolean";
        if (c.prim == Prim::bit && c.array) f.datatype = "char", f.arraysize = "*";
        if (c.prim == Prim::complex32 || c.prim == Prim::complex64) f.datatype = "char", f.arraysize = "*";
        if (is_integer(c.prim) && !c.null.empty()) {
            c.null_integer = parse_integer(c.null, c.prim);
            if (!c.null_integer)
                throw ReadError("FIELD \"" + f.name + "\" of the uploaded table has VALUES null=\"" + c.null +
                                "\", which is not a " + f.datatype + " (VOTable 1.4 section 5.5)");
        }
    }

    void begin_data() {
        if (data_begun_) return;
        data_begun_ = true;
        in_data_ = true;
        if (columns_.empty()) throw ReadError("the uploaded TABLE has no FIELD (VOTable 1.4 section 3.2)");
        std::vector<Field> fields;
        fields.reserve(columns_.size());
        for (const auto& c : columns_) fields.push_back(c.field);
        receiver_.begin(fields);
    }

    void collect() {
        collecting_ = true;
        collected_.clear();
        if (mode_ == Mode::binary || mode_ == Mode::binary2) stream_ = Base64Decoder{}, bytes_.clear();
    }
    void stop_collecting() {
        collecting_ = false;
        collected_.clear();
    }
    void text(const char* t) {
        if (!t) return;
        if (mode_ == Mode::binary || mode_ == Mode::binary2) {
            if (!stream_.feed(t, bytes_))
                throw ReadError("the uploaded VOTable's base64 STREAM holds a character that is not base64");
            return;
        }
        collected_ += t;
    }

    void deliver(const std::vector<Value>& row) {
        if (rows_ >= limits_.max_rows)
            throw ReadError("the uploaded table has more than " + std::to_string(limits_.max_rows) +
                            " rows, the upload limit of this service");
        ++rows_;
        receiver_.row(row);
    }

    [[noreturn]] void bad_cell(const Column& c, std::string_view text) const {
        std::string shown(trim(text).substr(0, 60));
        throw ReadError("row " + std::to_string(rows_ + 1) + ", FIELD \"" + c.field.name +
                        "\" of the uploaded table: \"" + shown + "\" is not a " + c.field.datatype +
                        (c.array ? " array" : ""));
    }

    // ------------------------------------------------------------ TABLEDATA

    Value tabledata_value(const Column& c, std::string_view text) const {
        Value v;
        if (is_string(c.prim)) {
            if (text.empty()) return v;  // empty and NULL strings are one (section 5.5)
            v.kind = CellKind::text;
            v.text = std::string(text);
            return v;
        }
        const std::string_view t = trim(text);
        if (t.empty()) return v;
        if (!c.array && c.prim != Prim::complex32 && c.prim != Prim::complex64) {
            if (c.prim == Prim::boolean || c.prim == Prim::bit) {
                bool ok = true;
                const auto b = parse_boolean(t, ok);
                if (!ok || (c.prim == Prim::bit && t != "0" && t != "1")) bad_cell(c, t);
                if (b) v.kind = CellKind::integer, v.integer = *b;
                return v;
            }
            if (is_integer(c.prim)) {
                if (!c.null.empty() && t == trim(c.null)) return v;
                const auto i = parse_integer(t, c.prim);
                if (!i) bad_cell(c, t);
                if (c.null_integer && *i == *c.null_integer) return v;
                v.kind = CellKind::integer;
                v.integer = *i;
                return v;
            }
            const auto r = parse_real(t);
            if (!r) bad_cell(c, t);
            if (std::isnan(*r)) return v;
            v.kind = CellKind::real;
            v.real = *r;
            return v;
        }
        // An array (or a complex number): check each element, keep the text.
        v.kind = CellKind::text;
        bool all_nan = is_real(c.prim);
        std::size_t pos = 0;
        while (pos < t.size()) {
            const auto b = t.find_first_not_of(" \t\r\n", pos);
            if (b == std::string_view::npos) break;
            auto e = t.find_first_of(" \t\r\n", b);
            if (e == std::string_view::npos) e = t.size();
            const std::string_view el = t.substr(b, e - b);
            bool ok = true;
            if (c.prim == Prim::boolean || c.prim == Prim::bit)
                parse_boolean(el, ok);
            else if (is_integer(c.prim))
                ok = parse_integer(el, c.prim).has_value();
            else {
                const auto r = parse_real(el);
                ok = r.has_value();
                if (ok && !std::isnan(*r)) all_nan = false;
            }
            if (!ok) bad_cell(c, t);
            if (!v.text.empty()) v.text += ' ';
            v.text.append(el);
            pos = e;
        }
        if (all_nan) return Value{};  // e.g. a DALI point "NaN NaN": no value
        return v;
    }

    // ------------------------------------------------------------ BINARY, BINARY2

    void binary_rows() {
        const std::size_t n = columns_.size();
        const std::size_t flag_bytes = mode_ == Mode::binary2 ? (n + 7) / 8 : 0;
        std::vector<Value> row(n);
        std::size_t pos = 0;
        while (pos < bytes_.size()) {
            if (bytes_.size() - pos < flag_bytes) truncated();
            const std::size_t flags = pos;
            pos += flag_bytes;
            for (std::size_t i = 0; i < n; ++i) {
                const bool null_flag =
                    flag_bytes && (static_cast<unsigned char>(bytes_[flags + i / 8]) & (0x80u >> (i % 8)));
                row[i] = binary_value(columns_[i], pos);
                if (null_flag) row[i] = Value{};
            }
            deliver(row);
        }
    }

    [[noreturn]] void truncated() const {
        throw ReadError("the uploaded VOTable's binary STREAM ends inside row " + std::to_string(rows_ + 1));
    }

    const unsigned char* take(std::size_t& pos, std::size_t n) const {
        if (bytes_.size() - pos < n) truncated();
        const auto* p = reinterpret_cast<const unsigned char*>(bytes_.data() + pos);
        pos += n;
        return p;
    }

    static std::uint64_t be(const unsigned char* p, int n) {
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
        return v;
    }

    /// Element `p` of an integer type as int64, sign-extended.
    static std::int64_t integer_at(Prim prim, const unsigned char* p) {
        switch (prim) {
            case Prim::ubyte: return p[0];
            case Prim::shortint: return static_cast<std::int16_t>(be(p, 2));
            case Prim::integer: return static_cast<std::int32_t>(be(p, 4));
            default: return static_cast<std::int64_t>(be(p, 8));
        }
    }
    static double real_at(Prim prim, const unsigned char* p) {
        if (prim == Prim::real32) {
            const auto u = static_cast<std::uint32_t>(be(p, 4));
            float f;
            std::memcpy(&f, &u, 4);
            return f;
        }
        const std::uint64_t u = be(p, 8);
        double d;
        std::memcpy(&d, &u, 8);
        return d;
    }

    /// The UTF-8 text of UCS-2 big-endian characters (up to a NUL).
    static void append_ucs2(std::string& out, const unsigned char* p, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) {
            const unsigned u = (p[2 * k] << 8) | p[2 * k + 1];
            if (u == 0) break;
            if (u < 0x80) {
                out.push_back(static_cast<char>(u));
            } else if (u < 0x800) {
                out.push_back(static_cast<char>(0xC0 | (u >> 6)));
                out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
            } else {
                out.push_back(static_cast<char>(0xE0 | (u >> 12)));
                out.push_back(static_cast<char>(0x80 | ((u >> 6) & 0x3F)));
                out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
            }
        }
    }

    Value binary_value(const Column& c, std::size_t& pos) const {
        std::size_t count = c.fixed;
        if (c.variable) {
            const std::uint64_t n = be(take(pos, 4), 4);
            if (n > bytes_.size()) truncated();
            count = static_cast<std::size_t>(n);
        }
        const std::size_t size = c.prim == Prim::bit ? (count + 7) / 8 : count * element_bytes(c.prim);
        const unsigned char* p = take(pos, size);
        Value v;
        if (is_string(c.prim)) {
            if (c.prim == Prim::character) {
                std::size_t len = 0;
                while (len < count && p[len] != 0) ++len;
                v.text.assign(reinterpret_cast<const char*>(p), len);
            } else {
                append_ucs2(v.text, p, count);
            }
            if (!v.text.empty()) v.kind = CellKind::text;
            return v;
        }
        if (!c.array && c.prim == Prim::boolean) {
            bool ok = true;
            const auto b = parse_boolean(std::string_view(reinterpret_cast<const char*>(p), 1), ok);
            if (b) v.kind = CellKind::integer, v.integer = *b;
            return v;
        }
        if (!c.array && c.prim == Prim::bit) {
            v.kind = CellKind::integer;
            // VOTable 1.4 section 5.3: the most significant bit; astropy
            // (5.2) writes 0x08, so any set bit counts.
            v.integer = p[0] != 0 ? 1 : 0;
            return v;
        }
        if (!c.array && is_integer(c.prim)) {
            const std::int64_t i = integer_at(c.prim, p);
            if (c.null_integer && i == *c.null_integer) return v;
            v.kind = CellKind::integer;
            v.integer = i;
            return v;
        }
        if (!c.array && is_real(c.prim)) {
            const double d = real_at(c.prim, p);
            if (std::isnan(d)) return v;
            v.kind = CellKind::real;
            v.real = d;
            return v;
        }
        // Arrays and complex numbers: their TABLEDATA text.
        std::string& t = v.text;
        bool all_nan = is_real(c.prim) && count > 0;
        const std::size_t elements = (c.prim == Prim::complex32 || c.prim == Prim::complex64) ? count * 2 : count;
        for (std::size_t k = 0; k < elements; ++k) {
            if (k) t += ' ';
            switch (c.prim) {
                case Prim::bit: t += (p[k / 8] & (0x80u >> (k % 8))) ? '1' : '0'; break;
                case Prim::boolean: {
                    bool ok = true;
                    const auto b = parse_boolean(std::string_view(reinterpret_cast<const char*>(p + k), 1), ok);
                    t += b ? (*b ? "T" : "F") : "?";
                    break;
                }
                case Prim::complex32: append_double(t, real_at(Prim::real32, p + 4 * k)); break;
                case Prim::complex64: append_double(t, real_at(Prim::real64, p + 8 * k)); break;
                case Prim::real32:
                case Prim::real64: {
                    const double d = real_at(c.prim, p + element_bytes(c.prim) * k);
                    if (!std::isnan(d)) all_nan = false;
                    append_double(t, d);
                    break;
                }
                default: t += std::to_string(integer_at(c.prim, p + element_bytes(c.prim) * k)); break;
            }
        }
        if (all_nan) return Value{};
        if (!t.empty()) v.kind = CellKind::text;
        return v;
    }

    enum class Mode { none, tabledata, binary, binary2 };

    xmlTextReaderPtr reader_ = nullptr;
    ErrorSink errors_;
    TableReceiver& receiver_;
    ReadLimits limits_;
    std::vector<Column> columns_;
    std::vector<Value> cells_;
    std::string collected_;
    std::string bytes_;
    Base64Decoder stream_;
    Mode mode_ = Mode::none;
    std::uint64_t rows_ = 0;
    int table_depth_ = 0;
    bool in_table_ = false, table_seen_ = false, in_field_ = false, in_data_ = false, data_begun_ = false;
    bool in_tr_ = false, collecting_ = false, done_ = false;
};

}  // namespace

void read_votable(std::string_view document, TableReceiver& receiver, const ReadLimits& limits) {
    if (document.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw ReadError("the upload is larger than 2 GiB");
    xmlInitParser();
    Reader reader(document, receiver, limits);
    reader.run();
}

}  // namespace vo::votable
