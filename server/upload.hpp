// TAP uploads (TAP 1.1 section 2.5; DALI 1.1 section 3.4.5): the UPLOAD
// parameter, fetching a table by URL, and loading a VOTable into a
// per-query TAP_UPLOAD table.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "obscore/backend.hpp"
#include "server/params.hpp"

namespace vo::server {

/// Limits of uploads (configuration [limits] max_upload_bytes,
/// max_upload_rows, upload_fetch_seconds; published in the capabilities as
/// TAPRegExt 1.0 section 2.7 uploadLimit).
struct UploadLimits {
    std::uint64_t max_bytes = 16 * 1024 * 1024;  ///< one uploaded document
    std::uint64_t max_rows = 100000;             ///< rows of one uploaded table
    std::size_t max_tables = 8;                  ///< tables per query
    std::chrono::seconds fetch_timeout{30};      ///< fetching an http URL, in all
};

/// One table to upload: its ADQL name (TAP_UPLOAD.<table>) and either the
/// inline document (DALI "param:" URI, already taken from the request) or
/// an http URL the server fetches when the query runs.
struct UploadRequest {
    std::string table;
    std::string url;      ///< http://..., "" for an inline upload
    std::string content;  ///< the VOTable of an inline upload
};

/// A bad upload found when the query runs (a URL that does not answer, a
/// document that is not a VOTable, too many rows): the query's fault, a 400
/// for sync queries and an ERROR job for async ones. The message names the table.
class UploadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Reads every UPLOAD parameter (it may repeat; each value is a ';'-separated
/// list of "name,URI", TAP 1.1 section 2.5.1). `name` must be an ADQL regular
/// identifier, unique (ignoring case); the URI is "param:<part>" (a part of
/// the multipart request: a file in `params.files` or a form field) or an
/// http(s) URL. Throws ParamError naming the value for a malformed list, a
/// bad name, a missing part, an inline document over `limits.max_bytes`, a
/// scheme other than http (https is refused with a message to upload
/// inline: this build has no TLS client), or more than max_tables tables.
std::vector<UploadRequest> parse_uploads(const DaliParams& params, const UploadLimits& limits);

/// Fetches `url` (http only, following at most 3 redirects) within the size
/// and time limits. Throws UploadError naming the URL and the failure
/// (cannot connect, timeout, HTTP status other than 200, too large).
std::string fetch_upload(const std::string& url, const UploadLimits& limits);

/// Fetches the upload if it is a URL, reads its first TABLE (votable/reader.hpp,
/// at most `limits.max_rows` rows) and creates its TAP_UPLOAD table on
/// `backend` (obscore::QueryBackend::add_upload_table), which sees it in its
/// catalogue until the returned table goes. Throws UploadError ("UPLOAD
/// <table>: ...").
std::unique_ptr<obscore::RequestTable> load_upload(obscore::QueryBackend& backend, const UploadRequest& upload,
                                                   const UploadLimits& limits);

}  // namespace vo::server
