// Streaming table writers: VOTable 1.4 TABLEDATA, CSV, TSV (DESIGN.md "votable/").
//
// A writer is given the field metadata once, then rows one at a time from a
// RowSource, and emits text to a Sink in chunks of about `chunk_bytes`; it
// keeps at most one chunk in memory, so memory does not grow with the result.
//
//   auto w = make_writer(Format::votable, sink);
//   w->begin(fields, {{"QUERY", adql_text}});
//   while (source.next()) w->row(source);
//   w->end(overflow);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vo::votable {

/// Metadata of one output column (VOTable 1.4 section 3.2 FIELD; TAP 1.1
/// section 3.2: taken from TAP_SCHEMA.columns). `datatype` is a VOTable
/// primitive (boolean, short, int, long, float, double, char, unicodeChar,
/// unsignedByte); `arraysize` "" (scalar), "*", "n" or "n*"; `xtype` a DALI
/// 1.1 xtype (timestamp, point, circle, polygon, interval) or "".
struct Field {
    std::string name;
    std::string datatype;
    std::string arraysize;
    std::string xtype;
    std::string unit;
    std::string ucd;
    std::string utype;
    std::string description;
    /// XML ID attribute of the FIELD ("" = none), for references from other
    /// elements of the document (VOTable 1.4 section 3.2; e.g. a service
    /// descriptor's PARAM ref, DataLink 1.1 section 4.5). Unique in the document.
    std::string id = {};  // (a default: aggregate initialisations may leave it out)
};

/// The type of one cell value as the row source holds it.
enum class CellKind { null, integer, real, text };

/// One cell value. `text` is only valid until the next call on the source.
struct Cell {
    CellKind kind = CellKind::null;
    std::int64_t integer = 0;
    double real = 0.0;
    std::string_view text;
};

/// A forward-only cursor over result rows (e.g. a sqlite3_stmt adapter).
class RowSource {
public:
    virtual ~RowSource() = default;
    /// Advances to the next row; false at the end. May throw on a failure of
    /// the underlying query (the writer lets it propagate).
    virtual bool next() = 0;
    /// The value of column `i` (0-based, < number of fields) of the current row.
    virtual Cell cell(std::size_t i) = 0;
};

/// Receives the serialised output in chunks. It may block (back-pressure) and
/// throws SinkClosed when the consumer is gone (e.g. the client disconnected).
using Sink = std::function<void(std::string_view)>;

/// Thrown by a Sink whose consumer went away; writers let it propagate.
class SinkClosed : public std::runtime_error {
public:
    SinkClosed() : std::runtime_error("the client closed the connection") {}
};

/// An INFO element (VOTable 1.4 section 4.5) of the results RESOURCE,
/// e.g. {"QUERY", "SELECT ..."} (TAP 1.1 section 3.1).
struct Info {
    std::string name;
    std::string value;
};

/// Output formats of a TAP/DALI result (DALI 1.1 section 3.4.3): VOTable
/// 1.4 with TABLEDATA (section 5.1), BINARY (section 5.4: base64 rows, NULL
/// integers as the VALUES null of their FIELD) or BINARY2 (section 5.5: each
/// row with its NULL flags) serialization, CSV, TSV, and a FITS binary table
/// (FITS 4.0 section 7.3; written through a temporary file, since its header
/// states the row count).
enum class Format { votable, votable_binary, votable_binary2, csv, tsv, fits };

/// Buffers output and passes it to the Sink in chunks.
class ChunkedOutput {
public:
    ChunkedOutput(Sink sink, std::size_t chunk_bytes);
    void append(std::string_view s) {
        buffer_.append(s);
        if (buffer_.size() >= chunk_bytes_) flush();
    }
    void append(char c) {
        buffer_.push_back(c);
        if (buffer_.size() >= chunk_bytes_) flush();
    }
    /// Flushes when the buffer holds a chunk or more (after writing through buffer()).
    void maybe_flush() {
        if (buffer_.size() >= chunk_bytes_) flush();
    }
    /// Passes what is buffered to the sink (nothing if empty).
    void flush();
    /// Bytes passed to the sink so far plus bytes buffered.
    std::uint64_t bytes() const { return flushed_ + buffer_.size(); }
    std::string& buffer() { return buffer_; }

private:
    Sink sink_;
    std::size_t chunk_bytes_;
    std::string buffer_;
    std::uint64_t flushed_ = 0;
};

/// A streaming table writer. Calls must be begin, row*, end.
class TableWriter {
public:
    virtual ~TableWriter() = default;
    /// Writes everything before the first row (VOTable header with FIELDs,
    /// CSV/TSV header line). `infos` are extra INFO elements for VOTable
    /// (ignored by CSV/TSV).
    virtual void begin(const std::vector<Field>& fields, const std::vector<Info>& infos = {}) = 0;
    /// Writes the current row of `source`, one cell per field.
    virtual void row(RowSource& source) = 0;
    /// Writes everything after the last row and flushes. `overflow`: the
    /// result was cut at MAXREC (VOTable: trailing QUERY_STATUS=OVERFLOW INFO,
    /// DALI 1.1 section 4.4.1; CSV/TSV have no overflow marker).
    virtual void end(bool overflow) = 0;
    /// Ends an already-begun table with an error (VOTable: trailing
    /// QUERY_STATUS=ERROR INFO, DALI 1.1 section 4.4.2; CSV/TSV: nothing
    /// more can be said) and flushes.
    virtual void end_with_error(std::string_view message) = 0;
    /// Bytes produced so far.
    virtual std::uint64_t bytes() const = 0;
    /// Extra RESOURCE elements (whole, well-formed XML, e.g. service
    /// descriptors: RESOURCE type="meta") that the VOTable writers put after
    /// the results RESOURCE when end() is called; other formats ignore them.
    /// Call before end().
    virtual void set_extra_resources(std::string xml) { (void)xml; }
};

/// The FITS binary table writer (votable/fits_writer.cpp); make_writer(Format::fits) calls it.
std::unique_ptr<TableWriter> make_fits_writer(Sink sink, std::size_t chunk_bytes);

/// The VOTable 1.4 writer: `serialization` 0 = TABLEDATA (section 5.1), 1 =
/// BINARY (section 5.4), 2 = BINARY2 (section 5.5).
std::unique_ptr<TableWriter> make_votable_writer(Sink sink, std::size_t chunk_bytes, int serialization);

/// The CSV (RFC 4180, `separator` ',') or TSV (`separator` '\t') writer.
std::unique_ptr<TableWriter> make_delimited_writer(Sink sink, std::size_t chunk_bytes, char separator);

/// Creates a writer for `format` writing to `sink` in chunks of about
/// `chunk_bytes` bytes (the registry's factory, votable/formats.cpp).
std::unique_ptr<TableWriter> make_writer(Format format, Sink sink, std::size_t chunk_bytes = 64 * 1024);

/// Result of stream_rows.
struct StreamResult {
    std::int64_t rows = 0;  ///< rows written
    bool overflow = false;  ///< the source had more than `maxrec` rows
};

/// Writes rows of `source` to `writer` (between begin and end, which the
/// caller calls) until the source ends or `maxrec` rows are written; when
/// `maxrec` is reached it asks the source for one more row to tell overflow
/// (TAP 1.1 section 2.7.4). `maxrec` nullopt = no limit.
StreamResult stream_rows(RowSource& source, TableWriter& writer, std::optional<std::int64_t> maxrec);

/// Escapes text for XML character data and attribute values (&, <, >, ",
/// '), and replaces characters XML 1.0 forbids (C0 controls other than tab,
/// LF, CR) and invalid UTF-8 bytes with U+FFFD.
void append_xml_escaped(std::string& out, std::string_view text);
std::string xml_escape(std::string_view text);

/// Formats a double with the shortest decimal form that reads back to the
/// same value (round-trip); NaN -> "NaN", infinities -> "+Inf"/"-Inf"
/// (VOTable 1.4 section 6).
void append_double(std::string& out, double value);

/// The DALI error document (DALI 1.1 section 4.4.2; TAP 1.1 section 3.3): a
/// VOTable 1.4 with RESOURCE type="results" holding INFO
/// name="QUERY_STATUS" value="ERROR" whose content is `message`.
std::string error_document(std::string_view message);

/// MIME type of a format as voserver sends it (the registry's `mime`,
/// votable/formats.cpp): VOTable
/// "application/x-votable+xml" (BINARY, BINARY2:
/// "application/x-votable+xml;serialization=BINARY" or "...=BINARY2"), CSV
/// "text/csv;header=present", TSV "text/tab-separated-values", FITS
/// "application/fits" (TAP 1.1 section 3.2, TAPRegExt 1.0 section 2.4).
std::string_view mime_type(Format format);

/// Parses a RESPONSEFORMAT value (DALI 1.1 section 3.4.3): the short forms
/// votable, votable/td, votable/b (also binary), votable/b2 (also binary2),
/// csv, tsv, or a MIME type (application/x-votable+xml with an optional
/// serialization=TABLEDATA, BINARY or BINARY2 parameter, text/xml, text/csv,
/// text/tab-separated-values), fits or application/fits. Case-insensitive;
/// MIME parameters other than `serialization` are ignored. Every name of
/// the registry (votable/formats.hpp) is accepted. Returns nullopt for a
/// format voserver does not write (also a VOTable serialization it does not
/// write, e.g. serialization=FITS).
std::optional<Format> parse_format(std::string_view responseformat);

}  // namespace vo::votable
