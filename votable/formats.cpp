// The registry of output formats (votable/formats.hpp).
#include "votable/formats.hpp"

#include <cctype>
#include <stdexcept>

namespace vo::votable {

namespace {

std::unique_ptr<TableWriter> td(Sink s, std::size_t n) { return make_votable_writer(std::move(s), n, 0); }
std::unique_ptr<TableWriter> b1(Sink s, std::size_t n) { return make_votable_writer(std::move(s), n, 1); }
std::unique_ptr<TableWriter> b2(Sink s, std::size_t n) { return make_votable_writer(std::move(s), n, 2); }
std::unique_ptr<TableWriter> csv(Sink s, std::size_t n) { return make_delimited_writer(std::move(s), n, ','); }
std::unique_ptr<TableWriter> tsv(Sink s, std::size_t n) { return make_delimited_writer(std::move(s), n, '\t'); }

/// A MIME type split into lower-case type/subtype and the lower-case value of
/// its `serialization` parameter ("" when absent); other parameters (e.g.
/// header=present, charset) do not select a format and are dropped.
struct MimeKey {
    std::string base;
    std::string serialization;
    bool operator==(const MimeKey&) const = default;
};

std::string lower_trimmed(std::string_view s) {
    std::size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    std::string out(s.substr(a, b - a));
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

MimeKey mime_key(std::string_view text) {
    const std::string v = lower_trimmed(text);
    MimeKey key;
    std::size_t semi = v.find(';');
    key.base = lower_trimmed(std::string_view(v).substr(0, semi));
    while (semi != std::string::npos) {
        const std::size_t next = v.find(';', semi + 1);
        const std::string param = v.substr(semi + 1, next == std::string::npos ? std::string::npos : next - semi - 1);
        const std::size_t eq = param.find('=');
        if (eq != std::string::npos && lower_trimmed(std::string_view(param).substr(0, eq)) == "serialization") {
            std::string value = lower_trimmed(std::string_view(param).substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            key.serialization = value;
        }
        semi = next;
    }
    return key;
}

bool names(const FormatSpec& f, const MimeKey& want) {
    auto same = [&](std::string_view name) { return mime_key(name) == want; };
    if (same(f.mime)) return true;
    for (auto n : f.aliases)
        if (same(n)) return true;
    for (auto n : f.other_mimes)
        if (same(n)) return true;
    for (auto n : f.accepted)
        if (same(n)) return true;
    return false;
}

}  // namespace

const std::vector<FormatSpec>& output_formats() {
    static const std::vector<FormatSpec> formats = {
        {Format::votable,
         "application/x-votable+xml",
         "ivo://ivoa.net/std/TAPRegExt#output-votable-td",
         {"votable", "votable/td"},
         {"text/xml"},
         {"votable/tabledata", "application/xml", "application/x-votable+xml;serialization=TABLEDATA",
          "text/xml;serialization=TABLEDATA"},
         td},
        {Format::votable_binary,
         "application/x-votable+xml;serialization=BINARY",
         "ivo://ivoa.net/std/TAPRegExt#output-votable-binary",
         {"votable/b"},
         {},
         {"binary", "votable/binary", "text/xml;serialization=BINARY"},
         b1},
        {Format::votable_binary2,
         "application/x-votable+xml;serialization=BINARY2",
         "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2",
         {"votable/b2"},
         {},
         {"binary2", "votable/binary2", "text/xml;serialization=BINARY2"},
         b2},
        {Format::csv, "text/csv;header=present", "", {"csv"}, {}, {}, csv},
        {Format::tsv, "text/tab-separated-values", "", {"tsv"}, {}, {"text/tsv"}, tsv},
        {Format::fits, "application/fits", "", {"fits"}, {}, {"image/fits"}, make_fits_writer},
    };
    return formats;
}

const FormatSpec& format_spec(Format format) {
    for (const auto& f : output_formats())
        if (f.format == format) return f;
    throw std::logic_error("votable: a Format without a registry entry");
}

std::string_view mime_type(Format format) { return format_spec(format).mime; }

std::optional<Format> parse_format(std::string_view responseformat) {
    const MimeKey want = mime_key(responseformat);
    if (want.base.empty()) return std::nullopt;
    for (const auto& f : output_formats())
        if (names(f, want)) return f.format;
    return std::nullopt;
}

std::unique_ptr<TableWriter> make_writer(Format format, Sink sink, std::size_t chunk_bytes) {
    return format_spec(format).make(std::move(sink), chunk_bytes);
}

std::string supported_format_names() {
    std::string out;
    for (const auto& f : output_formats()) {
        for (auto n : f.aliases) out.append(out.empty() ? "" : ", ").append(n);
        out.append(", ").append(f.mime);
        for (auto n : f.other_mimes) out.append(", ").append(n);
    }
    return out;
}

}  // namespace vo::votable
