// The request layer of TAP (TAP 1.1 section 2.3; DESIGN.md "How a request
// flows"): DALI parameters -> a checked TAP query request, the same for
// /tap/sync and for the jobs of /tap/async, so both accept and refuse exactly
// the same parameters with the same messages.
#pragma once

#include <string>

#include "server/config.hpp"
#include "server/params.hpp"
#include "server/query.hpp"

namespace vo::server {

/// A TAP doQuery request, checked. `query` has the ADQL, MAXREC, format and
/// the INFOs of the result; its cancel flag and deadline are the caller's.
/// `content_type` is the Content-Type of the result (DALI 1.1 section 3.4.3:
/// the MIME type asked for, when RESPONSEFORMAT gave one).
struct TapRequest {
    QueryRequest query;
    std::string content_type;
};

/// Checks REQUEST (doQuery only), LANG (ADQL, ADQL-2.0, ADQL-2.1), QUERY
/// (required, not blank), UPLOAD (TAP 1.1 section 2.5: parse_uploads; inline
/// parts are taken from `params`), RESPONSEFORMAT or its
/// TAP 1.1 section 2.7.3 alias FORMAT (votable, csv, tsv and their MIME
/// types), MAXREC (DALI 1.1 section 3.4.4, lowered to limits.maxrec_hard).
/// Throws ParamError with the message a client gets in the 400 DALI error.
TapRequest parse_tap_request(const DaliParams& params, const LimitsConfig& limits);

/// Sets `t.query.format` and `t.content_type` from a RESPONSEFORMAT value
/// (DALI 1.1 section 3.4.3: empty -> VOTable; a MIME type asked for is the
/// Content-Type sent; text formats get charset=UTF-8). Throws ParamError for
/// an unknown format, listing the supported ones.
void apply_responseformat(const std::string& responseformat, TapRequest& t);

/// The upload limits of the configuration.
UploadLimits upload_limits(const LimitsConfig& limits);

}  // namespace vo::server
