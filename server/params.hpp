// DALI 1.1 section 3 request parameters: GET query string, POST
// application/x-www-form-urlencoded or multipart/form-data.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vo::server {

/// A request that cannot be understood (malformed encoding, multiple values
/// for a single-valued parameter, bad MAXREC). The message names the
/// parameter; the HTTP answer is a 400 DALI error.
class ParamError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An uploaded file of a multipart/form-data request (DALI 1.1 section
/// 3.4.5 inline upload: UPLOAD=name,param:partname).
struct UploadedFile {
    std::string part_name;  ///< the form field name
    std::string filename;
    std::string content_type;
    std::string content;
};

/// The parameters of one DALI request. Names are case-insensitive (DALI 1.1
/// section 3.1): lookups compare names ignoring ASCII case; values are kept
/// as sent. Parameters may repeat (section 3.2).
class DaliParams {
public:
    /// Adds one name=value pair (already decoded).
    void add(std::string name, std::string value);
    /// All values of a parameter, in request order.
    std::vector<std::string> all(std::string_view name) const;
    /// The value of a single-valued parameter, nullopt if absent. Throws
    /// ParamError if it was given more than once with different values.
    std::optional<std::string> single(std::string_view name) const;
    bool has(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }
    std::vector<UploadedFile> files;

private:
    std::vector<std::pair<std::string, std::string>> pairs_;
};

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

/// Percent-decodes a URL path segment (RFC 3986 section 2.1; '+' stays '+',
/// a '%' not followed by two hex digits stays as it is).
std::string percent_decode_path(std::string_view segment);

/// Adds the pairs of an application/x-www-form-urlencoded string (a URL
/// query or a POST body): '&'-separated, percent-decoded, '+' as space.
/// Throws ParamError on a malformed percent escape.
void parse_urlencoded(std::string_view text, DaliParams& params);

/// Adds the fields of a multipart/form-data body (RFC 7578) given its
/// Content-Type header (which carries the boundary). Parts with a filename
/// become `files`; others are parameters. Throws ParamError when the body is
/// malformed.
void parse_multipart(std::string_view content_type, std::string_view body, DaliParams& params);

/// Parses an HTTP request's parameters: the query of `target`, and for POST
/// the body according to `content_type` (urlencoded or multipart; other
/// bodies are ignored). Throws ParamError.
DaliParams parse_request_params(std::string_view method, std::string_view target, std::string_view content_type,
                                std::string_view body);

/// Reads MAXREC (DALI 1.1 section 3.4.4): absent -> `default_maxrec`;
/// larger than `hard_limit` -> `hard_limit`; not a non-negative integer ->
/// ParamError naming MAXREC.
std::int64_t parse_maxrec(const DaliParams& params, std::int64_t default_maxrec, std::int64_t hard_limit);

}  // namespace vo::server
