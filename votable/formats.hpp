// The one registry of result formats: every RESPONSEFORMAT voserver writes,
// with its MIME type, its TAPRegExt identifier, the names it accepts and its
// writer. RESPONSEFORMAT parsing, the TAP capabilities document and the error
// message for an unknown format all read this table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "votable/writer.hpp"

namespace vo::votable {

/// One output format (DALI 1.1 section 3.4.3, TAPRegExt 1.0 section 2.4).
struct FormatSpec {
    Format format;
    /// The MIME type sent as Content-Type and advertised first, e.g.
    /// "application/x-votable+xml;serialization=BINARY2".
    std::string_view mime;
    /// TAPRegExt 1.0 section 2.4 standard key (ivo-id attribute), "" where
    /// the standard defines none (CSV, TSV, FITS).
    std::string_view ivo_id;
    /// Short RESPONSEFORMAT names advertised as <alias> (e.g. "votable/b2").
    std::vector<std::string_view> aliases;
    /// Further MIME types advertised as their own outputFormat (e.g. "text/xml").
    std::vector<std::string_view> other_mimes;
    /// Accepted when parsing but not advertised (older or variant spellings,
    /// e.g. "binary2", "application/x-votable+xml;serialization=TABLEDATA").
    std::vector<std::string_view> accepted;
    /// Creates the writer (sink, chunk size in bytes).
    std::unique_ptr<TableWriter> (*make)(Sink sink, std::size_t chunk_bytes);
};

/// Every output format, TABLEDATA VOTable (the default) first.
const std::vector<FormatSpec>& output_formats();

/// The entry of `format` (every Format has one).
const FormatSpec& format_spec(Format format);

/// The advertised names, for messages: "votable, votable/td,
/// application/x-votable+xml, text/xml, votable/b, ...".
std::string supported_format_names();

}  // namespace vo::votable
