// gzip (RFC 1952) of a streamed response, for HTTP Content-Encoding: gzip
// (RFC 9110 section 8.4.1.3) when a client sends Accept-Encoding: gzip.
// Output goes to the wrapped Sink in pieces as zlib produces them, so memory
// stays bounded whatever the size of the result.
#pragma once

#include <memory>
#include <string_view>

#include "votable/writer.hpp"

namespace vo::votable {

/// A Sink that gzips what it is given into `out`. Call finish() once after
/// the last write to emit the end of the stream (and the CRC-32 and size
/// trailer). Throws std::runtime_error if zlib fails; SinkClosed from `out`
/// propagates.
class GzipSink {
public:
    /// `level`: zlib compression level 1 (fast) .. 9; 1 keeps up with the
    /// table writers.
    explicit GzipSink(Sink out, int level = 1);
    ~GzipSink();
    GzipSink(const GzipSink&) = delete;
    GzipSink& operator=(const GzipSink&) = delete;

    void write(std::string_view data);
    void finish();
    /// A Sink that writes through this object (which must outlive it).
    Sink sink();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// True when an Accept-Encoding header value accepts gzip (RFC 9110 section
/// 12.5.3: "gzip" or "x-gzip" or "*" with a q-value other than 0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace vo::votable
