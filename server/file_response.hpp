// Sending a file from disk as an HTTP response, with single byte ranges
// (RFC 9110 section 14), for UWS result downloads (server/uws_endpoint.cpp)
// and product downloads (/datalink/file, server/datalink.hpp). Runs on a
// worker (the cutout/download pool), never on an I/O thread: it blocks on
// file reads and on the channel's back-pressure.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http.hpp"

namespace vo::server {

/// What a Range header asks of a representation of `size` bytes.
struct ByteRange {
    enum class Kind {
        whole,          ///< no Range, or one this server ignores (send 200 with the whole file)
        partial,        ///< one satisfiable range [first, last] (send 206)
        unsatisfiable,  ///< no byte of the range lies in the file (send 416, Content-Range: bytes */size)
    };
    Kind kind = Kind::whole;
    std::uint64_t first = 0;  ///< 0-based, inclusive (partial only)
    std::uint64_t last = 0;   ///< 0-based, inclusive, < size (partial only)
};

/// Parses a Range header value (RFC 9110 section 14.1.2) over `size` bytes.
///
/// Accepted: "bytes=a-b", "bytes=a-" (from a to the end) and "bytes=-n" (the
/// last n bytes); the unit is compared case-insensitively, spaces around the
/// range are ignored, b beyond the end is clipped to size-1. A first byte at
/// or after the end, a suffix of 0 bytes, or any range over an empty file is
/// Kind::unsatisfiable. An absent, malformed (b < a, not a number, another
/// unit) or multi-range value ("bytes=0-1,5-9") gives Kind::whole: RFC 9110
/// section 14.2 lets a server ignore such a Range and send the whole file.
/// Never throws.
ByteRange parse_byte_range(std::string_view header, std::uint64_t size);

/// An HTTP-date (RFC 9110 section 5.6.7, IMF-fixdate), e.g.
/// "Sun, 06 Nov 1994 08:49:37 GMT", of `t` (seconds since the epoch, UTC).
std::string http_date(std::time_t t);

/// What send_file sends besides the bytes.
struct FileResponse {
    std::string path;          ///< file on disk (never a path from a client)
    std::string content_type;  ///< Content-Type
    std::string range;         ///< the request's Range header ("" = none)
    /// The request's If-Range header ("" = none): when it is given and is not
    /// the file's ETag (strong comparison) or Last-Modified date, Range is
    /// ignored and the whole file is sent (RFC 9110 section 13.1.5).
    std::string if_range;
    /// The request's If-None-Match header ("" = none): with `validators`,
    /// when one of its entity tags is the file's ETag (weak comparison) or it
    /// is "*", 304 Not Modified without a body (RFC 9110 section 13.1.2).
    std::string if_none_match;
    /// Send the validators of the file as opened: `ETag: "<size>-<mtime in
    /// ns, hex>"` and Last-Modified (RFC 9110 sections 8.8.3, 8.8.2).
    bool validators = false;
    std::vector<std::pair<std::string, std::string>> headers;  ///< more fields, e.g. Content-Disposition
};

/// Streams `f.path` into `channel` on the calling (worker) thread: 304 when
/// `f.if_none_match` names the file's ETag; else 200 with
/// Content-Length and `Accept-Ranges: bytes`, or for a satisfiable single
/// range 206 with Content-Range "bytes first-last/size"; 416 with
/// "Content-Range: bytes */size" and a short text body when the range lies
/// outside the file. The body is handed over as one file region
/// (ResponseChannel::write_file: the server's channel sends it with
/// sendfile after this returns, no memory used; other channels read it in
/// 256 KiB pieces). A file that cannot be opened gets a 500 DALI
/// error naming `what` (e.g. "the result file of this job"), not the path.
/// Returns the number of body bytes handed to the channel.
std::uint64_t send_file(const FileResponse& f, ResponseChannel& channel, const std::string& what);

}  // namespace vo::server
