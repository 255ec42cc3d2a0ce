// Streaming table writers: VOTable 1.4 TABLEDATA, CSV (RFC 4180), TSV.
#include "votable/writer.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace vo::votable {

// ---------------------------------------------------------------- helpers

ChunkedOutput::ChunkedOutput(Sink sink, std::size_t chunk_bytes)
    : sink_(std::move(sink)), chunk_bytes_(chunk_bytes == 0 ? 1 : chunk_bytes) {
    buffer_.reserve(chunk_bytes_ + 4096);
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
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else return 0;
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

bool is_integer_type(std::string_view datatype) {
    return datatype == "short" || datatype == "int" || datatype == "long" || datatype == "unsignedByte";
}

/// Writes a cell as text (no quoting/escaping); `boolean_words` selects
/// true/false for booleans. Returns false for a NULL.
bool format_cell(std::string& out, const Field& field, const Cell& cell) {
    switch (cell.kind) {
    case CellKind::null:
        return false;
    case CellKind::integer:
        if (field.datatype == "boolean" && field.arraysize.empty()) {
            out += cell.integer != 0 ? "true" : "false";
        } else {
            // Integral values in a floating column: plain digits are valid too.
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, cell.integer);
            out.append(buf, r.ptr);
        }
        return true;
    case CellKind::real:
        if (is_integer_type(field.datatype)) {
            if (!std::isfinite(cell.real)) return false;
            const double r = std::nearbyint(cell.real);
            if (r < -9.2e18 || r > 9.2e18) return false;
            char buf[32];
            auto res = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(r));
            out.append(buf, res.ptr);
        } else if (field.datatype == "boolean" && field.arraysize.empty()) {
            out += cell.real != 0.0 ? "true" : "false";
        } else if (field.datatype == "float") {
            const float f = static_cast<float>(cell.real);
            if (std::isnan(f)) out += "NaN";
            else if (std::isinf(f)) out += f > 0 ? "+Inf" : "-Inf";
            else {
                char buf[48];
                auto res = std::to_chars(buf, buf + sizeof buf, f);
                out.append(buf, res.ptr);
            }
        } else {
            append_double(out, cell.real);
        }
        return true;
    case CellKind::text:
        out.append(cell.text);
        return true;
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

class VOTableWriter final : public TableWriter {
public:
    VOTableWriter(Sink sink, std::size_t chunk) : out_(std::move(sink), chunk) {}

    void begin(const std::vector<Field>& fields, const std::vector<Info>& infos) override {
        fields_ = fields;
        null_text_.clear();
        for (const auto& f : fields_) null_text_.push_back(null_text(f));
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
        for (const auto& f : fields_) {
            b += "<FIELD";
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
            if (f.description.empty()) {
                b += "/>\n";
            } else {
                b += "><DESCRIPTION>";
                append_xml_escaped(b, f.description);
                b += "</DESCRIPTION></FIELD>\n";
            }
            out_.maybe_flush();
        }
        b += "<DATA><TABLEDATA>\n";
        out_.maybe_flush();
    }

    void row(RowSource& source) override {
        std::string& b = out_.buffer();
        b += "<TR>";
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            const Cell c = source.cell(i);
            if (c.kind == CellKind::null || (c.kind == CellKind::text && c.text.empty() && !is_char(fields_[i]))) {
                // An empty cell is NULL in TABLEDATA (VOTable 1.4 section
                // 6); floating-point arrays with a DALI geometry xtype get
                // NaNs instead, the VOTable 1.4 section 6 null of floating
                // arrays, because validators parse those cells as geometry.
                if (null_text_[i].empty()) b += "<TD/>";
                else { b += "<TD>"; b += null_text_[i]; b += "</TD>"; }
            } else if (c.kind == CellKind::text) {
                b += "<TD>";
                if (fields_[i].datatype == "boolean" && fields_[i].arraysize.empty()) {
                    b += boolean_text(c.text);
                } else {
                    append_xml_escaped(b, c.text);
                }
                b += "</TD>";
            } else {
                b += "<TD>";
                if (!format_cell(b, fields_[i], c)) {
                    // NULL after all (e.g. NaN in an integer column)
                }
                b += "</TD>";
            }
        }
        b += "</TR>\n";
        out_.maybe_flush();
    }

    void end(bool overflow) override {
        std::string& b = out_.buffer();
        b += "</TABLEDATA></DATA>\n</TABLE>\n";
        if (overflow) b += "<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n";
        b += "</RESOURCE>\n</VOTABLE>\n";
        out_.flush();
    }

    void end_with_error(std::string_view message) override {
        std::string& b = out_.buffer();
        b += "</TABLEDATA></DATA>\n</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"ERROR\">";
        append_xml_escaped(b, message);
        b += "</INFO>\n</RESOURCE>\n</VOTABLE>\n";
        out_.flush();
    }

    std::uint64_t bytes() const override { return out_.bytes(); }

private:
    static bool is_char(const Field& f) {
        return f.datatype == "char" || f.datatype == "unicodeChar" || f.datatype.empty();
    }
    static std::string_view boolean_text(std::string_view t) {
        if (t == "1" || t == "T" || t == "t" || t == "true" || t == "TRUE" || t == "True") return "true";
        if (t == "0" || t == "F" || t == "f" || t == "false" || t == "FALSE" || t == "False") return "false";
        return "";
    }

    /// The TABLEDATA text of a NULL in this field ("" = empty cell).
    static std::string null_text(const Field& f) {
        if (f.arraysize.empty() || (f.datatype != "double" && f.datatype != "float")) return {};
        std::size_t n = 0;
        if (f.xtype == "polygon") n = 6;
        else if (f.xtype == "point") n = 2;
        else if (f.xtype == "circle") n = 3;
        else if (f.xtype == "interval") n = 2;
        else return {};
        if (f.arraysize.find('*') == std::string::npos) {
            try { n = std::stoul(f.arraysize); } catch (...) {}
        }
        std::string t;
        for (std::size_t k = 0; k < n; ++k) t += k ? " NaN" : "NaN";
        return t;
    }

    ChunkedOutput out_;
    std::vector<Field> fields_;
    std::vector<std::string> null_text_;
};

// ---------------------------------------------------------------- CSV / TSV

class DelimitedWriter final : public TableWriter {
public:
    DelimitedWriter(Sink sink, std::size_t chunk, char sep) : out_(std::move(sink), chunk), sep_(sep) {}

    void begin(const std::vector<Field>& fields, const std::vector<Info>&) override {
        fields_ = fields;
        std::string& b = out_.buffer();
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (i) b += sep_;
            append_text(b, fields_[i].name);
        }
        b += eol();
        out_.maybe_flush();
    }

    void row(RowSource& source) override {
        std::string& b = out_.buffer();
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (i) b += sep_;
            const Cell c = source.cell(i);
            if (c.kind == CellKind::text) {
                append_text(b, c.text);
            } else if (c.kind != CellKind::null) {
                format_cell(b, fields_[i], c);  // numbers never need quoting
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
            if (t.find_first_of(",\"\r\n") == std::string_view::npos) {
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
    std::vector<Field> fields_;
};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower_trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string out;
    out.reserve(s.size());
    for (char c : s) out += ascii_lower(c);
    return out;
}

}  // namespace

// ---------------------------------------------------------------- public

void append_xml_escaped(std::string& out, std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80) {
            switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            case '\t': case '\n': out += c; break;
            case '\r': out += "&#13;"; break;
            default:
                if (u < 0x20 || u == 0x7F) {
                    if (u == 0x7F) out += "&#127;";
                    else out += kReplacement;
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

std::unique_ptr<TableWriter> make_writer(Format format, Sink sink, std::size_t chunk_bytes) {
    switch (format) {
    case Format::votable: return std::make_unique<VOTableWriter>(std::move(sink), chunk_bytes);
    case Format::csv: return std::make_unique<DelimitedWriter>(std::move(sink), chunk_bytes, ',');
    case Format::tsv: return std::make_unique<DelimitedWriter>(std::move(sink), chunk_bytes, '\t');
    }
    return nullptr;
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

std::string_view mime_type(Format format) {
    switch (format) {
    case Format::votable: return "application/x-votable+xml";
    case Format::csv: return "text/csv;header=present";
    case Format::tsv: return "text/tab-separated-values";
    }
    return "application/octet-stream";
}

std::optional<Format> parse_format(std::string_view responseformat) {
    const std::string v = lower_trim(responseformat);
    // MIME type with parameters: compare the type/subtype part; parameters
    // we cannot honour (e.g. serialization=binary2) make it unsupported.
    const auto semi = v.find(';');
    std::string base = v.substr(0, semi);
    while (!base.empty() && base.back() == ' ') base.pop_back();
    std::string params = semi == std::string::npos ? std::string() : v.substr(semi + 1);
    if (base == "votable" || base == "votable/td" || base == "votable/tabledata") return Format::votable;
    if (base == "application/x-votable+xml" || base == "text/xml" || base == "application/xml") {
        if (params.find("binary") != std::string::npos || params.find("fits") != std::string::npos)
            return std::nullopt;
        return Format::votable;
    }
    if (base == "csv" || base == "text/csv") return Format::csv;
    if (base == "tsv" || base == "text/tab-separated-values" || base == "text/tsv") return Format::tsv;
    return std::nullopt;
}

}  // namespace vo::votable
