// TAP request layer (server/tap_request.hpp).
#include "server/tap_request.hpp"

#include "votable/formats.hpp"

namespace vo::server {

namespace {
std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}
}  // namespace

UploadLimits upload_limits(const LimitsConfig& limits) {
    UploadLimits u;
    u.max_bytes = static_cast<std::uint64_t>(limits.max_upload_bytes);
    u.max_rows = static_cast<std::uint64_t>(limits.max_upload_rows);
    u.fetch_timeout = std::chrono::seconds(limits.upload_fetch_seconds);
    return u;
}

void apply_responseformat(const std::string& responseformat, TapRequest& t) {
    const auto format =
        responseformat.empty() ? std::optional(votable::Format::votable) : votable::parse_format(responseformat);
    if (!format)
        throw ParamError("unsupported RESPONSEFORMAT=" + responseformat +
                         " (supported: " + votable::supported_format_names() + ")");
    t.query.format = *format;
    // DALI 1.1 section 3.4.3: a MIME type asked for is the Content-Type sent.
    t.content_type = std::string(votable::mime_type(*format));
    if (responseformat.find('/') != std::string::npos && lower(responseformat).rfind("votable", 0) != 0)
        t.content_type = responseformat;
    if ((t.query.format == votable::Format::csv || t.query.format == votable::Format::tsv) &&
        t.content_type.find("charset") == std::string::npos)
        t.content_type += ";charset=UTF-8";
}

TapRequest parse_tap_request(const DaliParams& params, const LimitsConfig& limits) {
    TapRequest t;
    if (auto request = params.single("REQUEST"); request && !iequals(*request, "doQuery"))
        throw ParamError("REQUEST=" + *request + " is not supported (TAP 1.1 knows only doQuery)");
    const auto lang = params.single("LANG");
    if (lang && !iequals(*lang, "ADQL") && !iequals(*lang, "ADQL-2.0") && !iequals(*lang, "ADQL-2.1"))
        throw ParamError("unknown query language LANG=" + *lang + " (supported: ADQL, ADQL-2.0, ADQL-2.1)");
    const auto query = params.single("QUERY");
    if (!query || query->find_first_not_of(" \t\r\n") == std::string::npos)
        throw ParamError("missing parameter QUERY (the ADQL query to run)");
    t.query.upload_limits = upload_limits(limits);
    t.query.uploads = parse_uploads(params, t.query.upload_limits);
    std::string responseformat = params.single("RESPONSEFORMAT").value_or("");
    if (responseformat.empty()) responseformat = params.single("FORMAT").value_or("");  // TAP 1.1 section 2.7.3
    apply_responseformat(responseformat, t);
    t.query.maxrec = parse_maxrec(params, limits.maxrec_default, limits.maxrec_hard);
    t.query.adql = *query;
    t.query.infos.push_back({"QUERY", *query});
    return t;
}

}  // namespace vo::server
