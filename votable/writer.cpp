// Streaming table writers: VOTable 1.4 TABLEDATA, CSV (RFC 4180), TSV.
#include "votable/writer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace vo::votable {

// ---------------------------------------------------------------- helpers

ChunkedOutput::ChunkedOutput(Sink sink, std::size_t chunk_bytes)
    : sink_(std::move(sink)), chunk_bytes_(chunk_bytes == 0 ? 1 : chunk_bytes) {
    // Larger chunks grow to their size on first use: a small result does not
    // allocate a whole chunk. Below 64 KiB, because glibc's free() of a block
    // that large consolidates and trims the heap (madvise): a seventh of the
    // server's time at 5,000 small results per second (issue 14).
    buffer_.reserve(std::min<std::size_t>(chunk_bytes_ + 4096, 16 * 1024));
}

void ChunkedOutput::flush() {
    if (buffer_.empty()) return;
    flushed_ += buffer_.size();
    if (sink_) sink_(buffer_);
    buffer_.clear();
}

namespace {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else
        return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates, out of range, and U+FFFE/U+FFFF.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return 0;
    return n;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

/// Whether `t` holds any of the four bytes; eight bytes per step (a word
/// has a zero byte iff (w - 0x01..01) & ~w & 0x80..80 is non-zero).
bool has_any_of(std::string_view t, char a, char b, char c, char d) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    const std::uint64_t ma = ones * static_cast<unsigned char>(a), mb = ones * static_cast<unsigned char>(b),
                        mc = ones * static_cast<unsigned char>(c), md = ones * static_cast<unsigned char>(d);
    auto zero = [](std::uint64_t w) { return (w - ones) & ~w & highs; };
    std::size_t i = 0;
    for (; i + 8 <= t.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, t.data() + i, 8);
        if (zero(w ^ ma) | zero(w ^ mb) | zero(w ^ mc) | zero(w ^ md)) return true;
    }
    for (; i < t.size(); ++i)
        if (t[i] == a || t[i] == b || t[i] == c || t[i] == d) return true;
    return false;
}

bool is_integer_type(std::string_view datatype) {
    return datatype == "short" || datatype == "int" || datatype == "long" || datatype == "unsignedByte";
}

/// What format_cell needs to know of a FIELD, worked out once per table
/// (begin()) instead of comparing datatype strings in every cell.
struct TextKind {
    bool boolean = false;  ///< scalar boolean: true/false
    bool integer = false;  ///< short, int, long, unsignedByte: reals rounded
    bool real32 = false;   ///< float: single-precision shortest form
    bool is_char = false;  ///< char, unicodeChar or no datatype: "" is a value, not NULL
};

TextKind text_kind(const Field& f) {
    TextKind k;
    k.boolean = f.datatype == "boolean" && f.arraysize.empty();
    k.integer = is_integer_type(f.datatype);
    k.real32 = f.datatype == "float";
    k.is_char = f.datatype == "char" || f.datatype == "unicodeChar" || f.datatype.empty();
    return k;
}

/// Appends an integer in decimal.
inline void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// Writes a cell as text (no quoting/escaping); booleans as true/false.
/// Returns false for a NULL.
bool format_cell(std::string& out, const TextKind& kind, const Cell& cell) {
    switch (cell.kind) {
        case CellKind::null: return false;
        case CellKind::integer:
            if (kind.boolean) {
                out += cell.integer != 0 ? "true" : "false";
            } else {
                // Integral values in a floating column: plain digits are valid too.
                append_int(out, cell.integer);
            }
            return true;
        case CellKind::real:
            if (kind.integer) {
                if (!std::isfinite(cell.real)) return false;
                const double r = std::nearbyint(cell.real);
                if (r < -9.2e18 || r > 9.2e18) return false;
                append_int(out, static_cast<std::int64_t>(r));
            } else if (kind.boolean) {
                out += cell.real != 0.0 ? "true" : "false";
            } else if (kind.real32) {
                const float f = static_cast<float>(cell.real);
                if (std::isnan(f))
                    out += "NaN";
                else if (std::isinf(f))
                    out += f > 0 ? "+Inf" : "-Inf";
                else {
                    char buf[48];
                    auto res = std::to_chars(buf, buf + sizeof buf, f);
                    out.append(buf, res.ptr);
                }
            } else {
                append_double(out, cell.real);
            }
            return true;
        case CellKind::text: out.append(cell.text); return true;
    }
    return false;
}

// ---------------------------------------------------------------- VOTable

void append_attr(std::string& out, std::string_view name, std::string_view value) {
    if (value.empty()) return;
    out += ' ';
    out += name;
    out += "=\"";
    append_xml_escaped(out, value);
    out += '"';
}

constexpr std::string_view kVOTableOpen =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\""
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
    " xsi:schemaLocation=\"http://www.ivoa.net/xml/VOTable/v1.3"
    " http://www.ivoa.net/xml/VOTable/v1.3\">\n";

/// How a FIELD is encoded in BINARY2 (VOTable 1.4 section 5.3-5.5).
struct BinaryLayout {
    enum class Type { boolean, ubyte, shortint, integer, longint, real32, real64, character, unicode };
    Type type = Type::character;
    bool array = false;     ///< an array (of numbers, or a string)
    bool variable = false;  ///< variable length: a 4-byte count first
    std::size_t fixed = 0;  ///< element count of a fixed array
};

BinaryLayout binary_layout(const Field& f) {
    BinaryLayout l;
    using T = BinaryLayout::Type;
    const std::string& d = f.datatype;
    l.type = d == "boolean"        ? T::boolean
             : d == "unsignedByte" ? T::ubyte
             : d == "short"        ? T::shortint
             : d == "int"          ? T::integer
             : d == "long"         ? T::longint
             : d == "float"        ? T::real32
             : d == "double"       ? T::real64
             : d == "unicodeChar"  ? T::unicode
                                   : T::character;
    std::string as = f.arraysize;
    // as in the FIELD written: a char column without arraysize is variable
    if (as.empty() && (l.type == T::character || l.type == T::unicode)) as = "*";
    if (as.empty()) return l;
    l.array = true;
    if (as.find('*') != std::string::npos) {
        l.variable = true;
    } else {
        try {
            l.fixed = std::stoul(as);
        } catch (...) {
            l.variable = true;
        }
    }
    return l;
}

void put_be(std::string& out, std::uint64_t v, int n) {
    char buf[8];
    for (int i = n - 1; i >= 0; --i, v >>= 8) buf[i] = static_cast<char>(v & 0xff);
    out.append(buf, static_cast<std::size_t>(n));
}
void put_double(std::string& out, double d) {
    std::uint64_t u;
    std::memcpy(&u, &d, 8);
    put_be(out, u, 8);
}
void put_float(std::string& out, float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    put_be(out, u, 4);
}

/// A cell as a number (text cells parsed), or nullopt.
std::optional<double> cell_number(const Cell& c) {
    switch (c.kind) {
        case CellKind::integer: return static_cast<double>(c.integer);
        case CellKind::real: return c.real;
        case CellKind::text: {
            double v;
            auto r = std::from_chars(c.text.data(), c.text.data() + c.text.size(), v);
            if (r.ec != std::errc()) return std::nullopt;
            return v;
        }
        default: return std::nullopt;
    }
}

/// A cell as a 64-bit integer, or nullopt (NaN, out of range, not a number).
std::optional<std::int64_t> cell_integer(const Cell& c) {
    if (c.kind == CellKind::integer) return c.integer;
    const auto d = cell_number(c);
    if (!d || !std::isfinite(*d)) return std::nullopt;
    const double r = std::nearbyint(*d);
    if (r < -9.2e18 || r > 9.2e18) return std::nullopt;
    return static_cast<std::int64_t>(r);
}

/// The NULL value declared (VALUES null=) for an integer FIELD in BINARY
/// serialization (VOTable 1.4 section 5.4: BINARY has no NULL flags).
std::int64_t binary_null(BinaryLayout::Type type) {
    using T = BinaryLayout::Type;
    switch (type) {
        case T::ubyte: return 255;
        case T::shortint: return -32768;
        case T::integer: return std::numeric_limits<std::int32_t>::min();
        default: return std::numeric_limits<std::int64_t>::min();
    }
}

bool is_integer_layout(BinaryLayout::Type t) {
    using T = BinaryLayout::Type;
    return t == T::ubyte || t == T::shortint || t == T::integer || t == T::longint;
}

/// Appends one scalar element of `type` (a NULL as the type's placeholder:
/// NaN for floating types, `null_int` for integers, '?' for booleans).
void put_scalar(std::string& out, BinaryLayout::Type type, const Cell& c, bool null, std::int64_t null_int = 0) {
    using T = BinaryLayout::Type;
    switch (type) {
        case T::boolean: {
            char v = '?';
            if (!null) {
                if (c.kind == CellKind::text) {
                    const std::string_view t = c.text;
                    v = (t == "1" || t == "T" || t == "t" || t == "true" || t == "TRUE" || t == "True")      ? 'T'
                        : (t == "0" || t == "F" || t == "f" || t == "false" || t == "FALSE" || t == "False") ? 'F'
                                                                                                             : '?';
                } else if (const auto d = cell_number(c)) {
                    v = *d != 0 ? 'T' : 'F';
                }
            }
            out.push_back(v);
            return;
        }
        case T::real32:
            put_float(
                out, null ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(cell_number(c).value_or(NAN)));
            return;
        case T::real64:
            put_double(out, null ? std::numeric_limits<double>::quiet_NaN() : cell_number(c).value_or(NAN));
            return;
        default: {
            const std::int64_t v = null ? null_int : cell_integer(c).value_or(null_int);
            const int n = type == T::ubyte ? 1 : type == T::shortint ? 2 : type == T::integer ? 4 : 8;
            put_be(out, static_cast<std::uint64_t>(v), n);
            return;
        }
    }
}

/// The text of a cell (numbers formatted as TABLEDATA would).
std::string_view cell_text(const TextKind& kind, const Cell& c, std::string& scratch) {
    if (c.kind == CellKind::text) return c.text;
    scratch.clear();
    format_cell(scratch, kind, c);
    return scratch;
}

/// UTF-8 -> UCS-2 code units (VOTable unicodeChar), invalid or non-BMP as '?'.
std::vector<std::uint16_t> ucs2(std::string_view s) {
    std::vector<std::uint16_t> out;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence_length(s, i);
        if (n == 0 || n == 4) {
            out.push_back('?');
            i += n == 0 ? 1 : 4;
            continue;
        }
        std::uint32_t cp = static_cast<unsigned char>(s[i]);
        if (n == 2) cp = ((cp & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
        if (n == 3)
            cp = ((cp & 0x0F) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                 (static_cast<unsigned char>(s[i + 2]) & 0x3F);
        out.push_back(static_cast<std::uint16_t>(cp));
        i += n;
    }
    return out;
}

/// Appends the BINARY2 encoding of one field value (VOTable 1.4 sections
/// 5.3-5.5; big-endian; variable-length arrays and strings with a 4-byte
/// element count first; a NULL is flagged by the caller and written here as
/// an empty array or the type's placeholder).
void put_field(std::string& out, const TextKind& kind, const BinaryLayout& l, const Cell& c, bool null,
               std::string& scratch, bool binary1 = false) {
    using T = BinaryLayout::Type;
    if (!l.array) return put_scalar(out, l.type, c, null, binary1 ? binary_null(l.type) : 0);
    if (l.type == T::character || l.type == T::unicode) {
        const std::string_view text = null ? std::string_view() : cell_text(kind, c, scratch);
        if (l.type == T::character) {
            if (l.variable) {
                put_be(out, text.size(), 4);
                out.append(text);
            } else {
                out.append(text.substr(0, l.fixed));
                out.append(l.fixed - std::min(l.fixed, text.size()), '\0');
            }
        } else {
            const auto units = ucs2(text);
            const std::size_t n = l.variable ? units.size() : l.fixed;
            if (l.variable) put_be(out, n, 4);
            for (std::size_t k = 0; k < n; ++k) put_be(out, k < units.size() ? units[k] : 0, 2);
        }
        return;
    }
    // numeric array: from the DALI text of the cell ("ra dec", "x1 y1 x2 y2 ...")
    std::vector<double> values;
    if (!null) {
        if (c.kind == CellKind::text) {
            const char* p = c.text.data();
            const char* e = p + c.text.size();
            while (p < e) {
                while (p < e && (*p == ' ' || *p == '\t')) ++p;
                if (p >= e) break;
                double v;
                auto r = std::from_chars(p, e, v);
                if (r.ec != std::errc()) break;
                values.push_back(v);
                p = r.ptr;
            }
        } else if (const auto d = cell_number(c)) {
            values.push_back(*d);
        }
    }
    const std::size_t n = l.variable ? values.size() : l.fixed;
    if (l.variable) put_be(out, n, 4);
    for (std::size_t k = 0; k < n; ++k) {
        Cell e;
        e.kind = CellKind::real;
        e.real = k < values.size() ? values[k] : NAN;
        put_scalar(out, l.type, e, k >= values.size() && l.type != T::real32 && l.type != T::real64);
    }
}

/// Base64 (RFC 4648 section 4) of a byte stream written in pieces: whole
/// 3-byte groups are encoded as they come, the rest waits for more or for
/// finish(). A line break follows every 76-character line.
/// Base64 (RFC 4648 section 4) of a byte stream given in pieces, lines of
/// 76 characters, written straight into the output buffer.
/// Two base64 characters per 12 bits (RFC 4648 alphabet): half the table
/// look-ups of one per 6 bits.
struct Base64Pairs {
    char c[4096][2];
    constexpr Base64Pairs() : c{} {
        constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 4096; ++i) {
            c[i][0] = a[i >> 6];
            c[i][1] = a[i & 63];
        }
    }
};
constexpr Base64Pairs kPairs{};

class Base64Stream {
public:
    void add(std::string_view bytes, std::string& out) {
        if (!pending_.empty()) {
            while (pending_.size() < 3 && !bytes.empty()) {
                pending_ += bytes.front();
                bytes.remove_prefix(1);
            }
            if (pending_.size() < 3) return;
            encode(pending_, out);
            pending_.clear();
        }
        const std::size_t whole = bytes.size() / 3 * 3;
        encode(bytes.substr(0, whole), out);
        pending_.assign(bytes.substr(whole));
    }
    void finish(std::string& out) {
        if (!pending_.empty()) {
            const std::size_t n = pending_.size();
            pending_.append(3 - n, '\0');
            encode(pending_, out);
            std::size_t end = out.size();
            if (out[end - 1] == '\n') --end;  // a line just ended: the padding goes before it
            out.replace(end - (3 - n), 3 - n, 3 - n, '=');
            pending_.clear();
        }
        if (column_) out += '\n';
        column_ = 0;
    }

private:
    static char* group(char* p, const unsigned char* in) {
        const std::uint32_t v = (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | in[2];
        std::memcpy(p, kPairs.c[v >> 12], 2);
        std::memcpy(p + 2, kPairs.c[v & 0xfff], 2);
        return p + 4;
    }

    void encode(std::string_view b, std::string& out) {
        std::size_t groups = b.size() / 3;
        const std::size_t at = out.size();
        out.resize(at + groups * 4 + groups / 19 + 1);  // 19 groups make a 76-character line
        char* p = out.data() + at;
        const auto* in = reinterpret_cast<const unsigned char*>(b.data());
        // the rest of the current line
        while (groups > 0 && column_ != 0) {
            p = group(p, in);
            in += 3;
            --groups;
            column_ += 4;
            if (column_ >= 76) {
                *p++ = '\n';
                column_ = 0;
            }
        }
        // whole lines
        for (; groups >= 19; groups -= 19) {
            for (int g = 0; g < 19; ++g, in += 3) p = group(p, in);
            *p++ = '\n';
        }
        // the start of the last line
        for (; groups > 0; --groups, in += 3) {
            p = group(p, in);
            column_ += 4;
        }
        out.resize(static_cast<std::size_t>(p - out.data()));
    }
    std::string pending_;
    std::size_t column_ = 0;
};

class VOTableWriter final : public TableWriter {
public:
    /// `serialization`: 0 TABLEDATA, 1 BINARY, 2 BINARY2.
    VOTableWriter(Sink sink, std::size_t chunk, int serialization = 0)
        : out_(std::move(sink), chunk),
          binary2_(serialization == 2),
          binary1_(serialization == 1),
          raw_block_(std::max<std::size_t>(3, chunk / 4 * 3)) {}

    void begin(const std::vector<Field>& fields, const std::vector<Info>& infos) override {
        columns_ = fields.size();  // the fields themselves are not kept: begin() reads them once
        null_text_.clear();
        kinds_.clear();
        for (const auto& f : fields) {
            null_text_.push_back(null_text(f));
            kinds_.push_back(text_kind(f));
        }
        std::string& b = out_.buffer();
        b += kVOTableOpen;
        b += "<RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n";
        for (const auto& info : infos) {
            b += "<INFO";
            append_attr(b, "name", info.name);
            b += " value=\"";
            append_xml_escaped(b, info.value);
            b += "\"/>\n";
        }
        b += "<TABLE>\n";
        for (const auto& f : fields) {
            b += "<FIELD";
            if (!f.id.empty()) append_attr(b, "ID", f.id);
            append_attr(b, "name", f.name);
            append_attr(b, "datatype", f.datatype.empty() ? std::string_view("char") : f.datatype);
            // A char column without arraysize would be a single character;
            // results of string expressions have variable length.
            if (f.arraysize.empty() && (f.datatype.empty() || f.datatype == "char" || f.datatype == "unicodeChar"))
                append_attr(b, "arraysize", "*");
            else
                append_attr(b, "arraysize", f.arraysize);
            append_attr(b, "xtype", f.xtype);
            append_attr(b, "unit", f.unit);
            append_attr(b, "ucd", f.ucd);
            append_attr(b, "utype", f.utype);
            const BinaryLayout layout = binary_layout(f);
            const bool values = binary1_ && !layout.array && is_integer_layout(layout.type);
            if (f.description.empty() && !values) {
                b += "/>\n";
            } else {
                b += ">";
                if (!f.description.empty()) {
                    b += "<DESCRIPTION>";
                    append_xml_escaped(b, f.description);
                    b += "</DESCRIPTION>";
                }
                if (values) b += "<VALUES null=\"" + std::to_string(binary_null(layout.type)) + "\"/>";
                b += "</FIELD>\n";
            }
            out_.maybe_flush();
        }
        layouts_.clear();
        for (const auto& f : fields) layouts_.push_back(binary_layout(f));
        if (binary2_) {
            b += "<DATA><BINARY2><STREAM encoding=\"base64\">\n";
        } else if (binary1_) {
            b += "<DATA><BINARY><STREAM encoding=\"base64\">\n";
        } else {
            b += "<DATA><TABLEDATA>\n";
        }
        out_.maybe_flush();
    }

    void row(RowSource& source) override {
        if (binary2_ || binary1_) return row_binary(source);
        std::string& b = out_.buffer();
        b += "<TR>";
        for (std::size_t i = 0; i < columns_; ++i) {
            const Cell c = source.cell(i);
            const TextKind& kind = kinds_[i];
            if (c.kind == CellKind::null || (c.kind == CellKind::text && c.text.empty() && !kind.is_char)) {
                // An empty cell is NULL in TABLEDATA (VOTable 1.4 section
                // 6); floating-point arrays with a DALI geometry xtype get
                // NaNs instead, the VOTable 1.4 section 6 null of floating
                // arrays, because validators parse those cells as geometry.
                if (null_text_[i].empty())
                    b += "<TD/>";
                else {
                    b += "<TD>";
                    b += null_text_[i];
                    b += "</TD>";
                }
            } else if (c.kind == CellKind::text) {
                b += "<TD>";
                if (kind.boolean) {
                    b += boolean_text(c.text);
                } else {
                    append_xml_escaped(b, c.text);
                }
                b += "</TD>";
            } else {
                b += "<TD>";
                if (!format_cell(b, kind, c)) {
                    // NULL after all (e.g. NaN in an integer column)
                }
                b += "</TD>";
            }
        }
        b += "</TR>\n";
        out_.maybe_flush();
    }

    /// VOTable 1.4 section 5.5 (BINARY2): per row, the NULL flags (one bit
    /// per field, most significant bit first), then every field's value;
    /// section 5.4 (BINARY): the values alone, NULLs as the declared values.
    ///
    /// Rows are collected in `raw_` and base64-encoded many at a time
    /// (raw_block_ bytes): the stream's base64 does not depend on where it is
    /// cut, so the bytes are those of encoding row by row.
    void row_binary(RowSource& source) {
        const std::size_t at = raw_.size();  // this row's NULL flags
        if (binary2_) raw_.append((columns_ + 7) / 8, '\0');
        for (std::size_t i = 0; i < columns_; ++i) {
            const Cell c = source.cell(i);
            bool null = c.kind == CellKind::null || (c.kind == CellKind::text && c.text.empty() && !kinds_[i].is_char);
            if (!null && !layouts_[i].array && layouts_[i].type != BinaryLayout::Type::boolean &&
                layouts_[i].type != BinaryLayout::Type::real32 && layouts_[i].type != BinaryLayout::Type::real64 &&
                !cell_integer(c))
                null = true;  // e.g. NaN in an integer column, as in TABLEDATA
            if (null && binary2_) raw_[at + i / 8] = static_cast<char>(raw_[at + i / 8] | (0x80 >> (i % 8)));
            put_field(raw_, kinds_[i], layouts_[i], c, null, scratch_, binary1_);
        }
        if (raw_.size() >= raw_block_) encode_raw();
    }

    /// Encodes the collected rows into the output (and passes on full chunks).
    void encode_raw() {
        base64_.add(raw_, out_.buffer());
        raw_.clear();
        out_.maybe_flush();
    }

    /// Closes the DATA element (and the BINARY2 stream).
    void close_data(std::string& b) {
        if (binary2_ || binary1_) {
            base64_.add(raw_, b);
            raw_.clear();
            base64_.finish(b);
            b += binary2_ ? "</STREAM></BINARY2></DATA>\n</TABLE>\n" : "</STREAM></BINARY></DATA>\n</TABLE>\n";
        } else {
            b += "</TABLEDATA></DATA>\n</TABLE>\n";
        }
    }

    void end(bool overflow) override {
        std::string& b = out_.buffer();
        close_data(b);
        if (overflow) b += "<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n";
        b += "</RESOURCE>\n";
        b += extra_resources_;
        b += "</VOTABLE>\n";
        out_.flush();
    }

    void end_with_error(std::string_view message) override {
        std::string& b = out_.buffer();
        close_data(b);
        b += "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">";
        append_xml_escaped(b, message);
        b += "</INFO>\n</RESOURCE>\n</VOTABLE>\n";
        out_.flush();
    }

    std::uint64_t bytes() const override { return out_.bytes(); }

    void set_extra_resources(std::string xml) override { extra_resources_ = std::move(xml); }

private:
    std::string extra_resources_;  // after the results RESOURCE (set_extra_resources)

    static std::string_view boolean_text(std::string_view t) {
        if (t == "1" || t == "T" || t == "t" || t == "true" || t == "TRUE" || t == "True") return "true";
        if (t == "0" || t == "F" || t == "f" || t == "false" || t == "FALSE" || t == "False") return "false";
        return "";
    }

    /// The TABLEDATA text of a NULL in this field ("" = empty cell).
    static std::string null_text(const Field& f) {
        if (f.arraysize.empty() || (f.datatype != "double" && f.datatype != "float")) return {};
        std::size_t n = 0;
        if (f.xtype == "polygon")
            n = 6;
        else if (f.xtype == "point")
            n = 2;
        else if (f.xtype == "circle")
            n = 3;
        else if (f.xtype == "interval")
            n = 2;
        else
            return {};
        if (f.arraysize.find('*') == std::string::npos) {
            try {
                n = std::stoul(f.arraysize);
            } catch (...) {
            }
        }
        std::string t;
        for (std::size_t k = 0; k < n; ++k) t += k ? " NaN" : "NaN";
        return t;
    }

    ChunkedOutput out_;
    bool binary2_, binary1_;
    std::size_t columns_ = 0;
    std::vector<std::string> null_text_;
    std::vector<TextKind> kinds_;
    std::vector<BinaryLayout> layouts_;
    /// Raw BINARY/BINARY2 bytes collected before base64: about 3/4 of a
    /// chunk, so that the encoded block stays within a chunk.
    std::size_t raw_block_;
    std::string raw_, scratch_;
    Base64Stream base64_;
};

// ---------------------------------------------------------------- CSV / TSV

class DelimitedWriter final : public TableWriter {
public:
    DelimitedWriter(Sink sink, std::size_t chunk, char sep) : out_(std::move(sink), chunk), sep_(sep) {}

    void begin(const std::vector<Field>& fields, const std::vector<Info>&) override {
        columns_ = fields.size();
        kinds_.clear();
        for (const auto& f : fields) kinds_.push_back(text_kind(f));
        std::string& b = out_.buffer();
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i) b += sep_;
            append_text(b, fields[i].name);
        }
        b += eol();
        out_.maybe_flush();
    }

    void row(RowSource& source) override {
        std::string& b = out_.buffer();
        for (std::size_t i = 0; i < columns_; ++i) {
            if (i) b += sep_;
            const Cell c = source.cell(i);
            if (c.kind == CellKind::text) {
                append_text(b, c.text);
            } else if (c.kind != CellKind::null) {
                format_cell(b, kinds_[i], c);  // numbers never need quoting
            }
        }
        b += eol();
        out_.maybe_flush();
    }

    void end(bool) override { out_.flush(); }
    void end_with_error(std::string_view) override { out_.flush(); }
    std::uint64_t bytes() const override { return out_.bytes(); }

private:
    std::string_view eol() const { return sep_ == ',' ? std::string_view("\r\n") : std::string_view("\n"); }

    void append_text(std::string& b, std::string_view t) const {
        if (sep_ == ',') {
            // RFC 4180 section 2: fields holding comma, quote, CR or LF are
            // enclosed in double quotes, quotes doubled.
            if (!has_any_of(t, ',', '"', '\r', '\n')) {
                b.append(t);
                return;
            }
            b += '"';
            for (char ch : t) {
                if (ch == '"') b += '"';
                b += ch;
            }
            b += '"';
        } else {
            // TSV (IANA text/tab-separated-values): values may not contain
            // tab or newline; write them as escapes.
            if (!has_any_of(t, '\t', '\n', '\r', '\\')) {
                b.append(t);
                return;
            }
            for (char ch : t) {
                switch (ch) {
                    case '\t': b += "\\t"; break;
                    case '\n': b += "\\n"; break;
                    case '\r': b += "\\r"; break;
                    case '\\': b += "\\\\"; break;
                    default: b += ch;
                }
            }
        }
    }

    ChunkedOutput out_;
    char sep_;
    std::size_t columns_ = 0;
    std::vector<TextKind> kinds_;
};

}  // namespace

// ---------------------------------------------------------------- public

namespace {
/// Bytes append_xml_escaped copies as they are: printable ASCII other than
/// the five XML specials, tab and LF.
struct XmlPlain {
    bool plain[256];
    constexpr XmlPlain() : plain{} {
        for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '&' && c != '<' && c != '>' && c != '"' && c != '\'';
        plain[static_cast<int>('\t')] = plain[static_cast<int>('\n')] = true;
    }
};
constexpr XmlPlain kXmlPlain{};

/// Whether the eight bytes at `p` are all printable ASCII other than the
/// five XML specials (a sufficient test: tab and LF take the byte loop).
inline bool xml_plain_word(const char* p) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    auto zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    // a byte below 0x20 (exact for "any": the borrow only follows a hit)
    const std::uint64_t low = (w - ones * 0x20) & ~w & highs;
    const std::uint64_t bad = low | (w & highs) | zero(w ^ (ones * 0x7f)) | zero(w ^ (ones * '&')) |
                              zero(w ^ (ones * '<')) | zero(w ^ (ones * '>')) | zero(w ^ (ones * '"')) |
                              zero(w ^ (ones * '\''));
    return bad == 0;
}
}  // namespace

void append_xml_escaped(std::string& out, std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        // runs of plain bytes in one append, found eight at a time where
        // a word has no control, non-ASCII or special byte
        std::size_t j = i;
        while (j + 8 <= text.size() && xml_plain_word(text.data() + j)) j += 8;
        while (j < text.size() && kXmlPlain.plain[static_cast<unsigned char>(text[j])]) ++j;
        if (j > i) {
            out.append(text.data() + i, j - i);
            i = j;
            if (i == text.size()) break;
        }
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80) {
            switch (c) {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&quot;"; break;
                case '\'': out += "&apos;"; break;
                case '\t':
                case '\n': out += c; break;
                case '\r': out += "&#13;"; break;
                default:
                    if (u < 0x20 || u == 0x7F) {
                        if (u == 0x7F)
                            out += "&#127;";
                        else
                            out += kReplacement;
                    } else {
                        out += c;
                    }
            }
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    append_xml_escaped(out, text);
    return out;
}

void append_double(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
    out.append(buf, r.ptr);
}

std::unique_ptr<TableWriter> make_votable_writer(Sink sink, std::size_t chunk_bytes, int serialization) {
    return std::make_unique<VOTableWriter>(std::move(sink), chunk_bytes, serialization);
}

std::unique_ptr<TableWriter> make_delimited_writer(Sink sink, std::size_t chunk_bytes, char separator) {
    return std::make_unique<DelimitedWriter>(std::move(sink), chunk_bytes, separator);
}

StreamResult stream_rows(RowSource& source, TableWriter& writer, std::optional<std::int64_t> maxrec) {
    StreamResult result;
    const std::int64_t limit = maxrec.value_or(std::numeric_limits<std::int64_t>::max());
    while (true) {
        if (result.rows >= limit) {
            result.overflow = source.next();
            break;
        }
        if (!source.next()) break;
        writer.row(source);
        ++result.rows;
    }
    return result;
}

std::string error_document(std::string_view message) {
    std::string out(kVOTableOpen);
    out += "<RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"ERROR\">";
    append_xml_escaped(out, message);
    out += "</INFO>\n</RESOURCE>\n</VOTABLE>\n";
    return out;
}

}  // namespace vo::votable
