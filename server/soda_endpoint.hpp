// The SODA 1.0 {sync} endpoint (/soda/sync) and its VOSI resources: DALI
// parameters -> ID resolved through the ObsCore store -> soda::plan_cutout ->
// the FITS cutout streamed with a Content-Length known before the first byte
// (DESIGN.md "How a request flows", SODA).
//
// The engine (soda/) knows nothing of HTTP; this file maps its results and
// errors to HTTP responses:
//   success            200, application/fits (text/plain for META=true),
//                      Content-Disposition: attachment; filename="...",
//                      Content-Length = Cutout::size_bytes()
//   no overlap         204 No Content, empty body (SODA 1.0 section 5.1)
//   unknown ID         404, DALI error VOTable "UsageError: ID: ..."
//   bad parameter      400, DALI error VOTable naming the parameter
//                      (UsageError, MultiValuedParamNotSupported: section 5.2)
//   unreadable file    500, DALI error VOTable "Error: ..."
// Error documents are the DALI 1.1 section 4.4.2 VOTable of the whole server
// (DESIGN.md "Errors"); their message starts with the SODA 1.0 section 5.2
// error label, as a text/plain SODA error document would.
#pragma once

#include <map>
#include <string>

#include "obscore/backend.hpp"
#include "server/config.hpp"
#include "server/access.hpp"
#include "server/http.hpp"
#include "server/params.hpp"
#include "soda/params.hpp"

namespace vo::server {

/// A checked SODA {sync} request.
struct SodaRequest {
    /// ID (SODA 1.0 section 3.2.1): the dataset's obs_publisher_did, opaque,
    /// used as is. Never a path.
    std::string id;
    /// The filtering parameters (SODA 1.0 section 3.3), parsed by the engine.
    soda::Params params;
};

/// The DALI parameters as the engine wants them: names upper-cased (DALI 1.1
/// section 3.1, names are case-insensitive), one multimap entry per
/// occurrence, values as sent.
std::multimap<std::string, std::string> soda_parameter_map(const DaliParams& params);

/// Checks the parameters of a {sync} request (SODA 1.0 section 3).
///
/// - ID: exactly one non-empty value. Missing -> SodaError(400, "UsageError",
///   "ID"); several different values -> SodaError(400,
///   "MultiValuedParamNotSupported", "ID") (section 3.1: this service cuts one
///   dataset per sync request).
/// - RESPONSEFORMAT (DALI 1.1 section 3.4.3), optional: "application/fits",
///   "image/fits" or "fits"; anything else -> SodaError(400, "UsageError",
///   "RESPONSEFORMAT").
/// - the filters: soda::parse_params (throws SodaError naming the parameter).
SodaRequest parse_soda_request(const DaliParams& params);

/// The HTTP answer to a SodaError: 204 with an empty body for "NoOverlap"
/// (SODA 1.0 section 5.1), otherwise e.http_status() with the DALI error
/// VOTable whose message is e.what() (starts with the section 5.2 label).
Reply soda_error_reply(const soda::SodaError& e);

/// Runs one {sync} request to its end on the calling thread (a worker: it
/// blocks on SQLite and file reads).
///
/// 1. store.find_product(request.id); unknown -> 404 "UsageError: ID: ..."
///    naming the ID (the product path is never shown to the client);
/// 2. soda::plan_cutout(path, image_hdus, params); SodaError -> its reply
///    (soda_error_reply);
/// 3. a cutout of at most 2 MiB (e.g. a BAND cut) is built in memory and sent
///    with channel.reply (one hand-over to the I/O thread; an engine failure
///    is then still a clean 500). A larger one is streamed:
///    channel.start(200, content type, Content-Disposition, size_bytes()),
///    then Cutout::write into channel.write (the engine's chunks of up to
///    4 MiB passed on in slices of 512 KiB, each blocking while the channel's
///    queue is full: back-pressure, bounded memory); the sink returns false as soon as
///    the channel is cancelled (client gone), which stops the reading;
/// 4. channel.finish(). A failure after the headers ends the response short,
///    which makes the HTTP layer close the connection (the client sees fewer
///    bytes than Content-Length).
/// `admit` (if set) decides after step 1, before any byte is read, whether
/// the caller may have the product (issue 12 item 3; it replies 401/403).
/// Returns the number of body bytes handed to the channel (0 for errors).
std::uint64_t run_soda_sync(const SodaRequest& request, const obscore::ProductLookup& store, ResponseChannel& channel,
                            const AdmitProduct& admit = {});

/// A Content-Disposition value (RFC 6266) for a file name, quotes,
/// backslashes and control characters replaced by '_': `attachment;
/// filename=name` when the name is an RFC 7230 token (astroquery.alma takes
/// the value verbatim as the saved file's name), else `attachment;
/// filename="name"` (e.g. names with ':' or spaces).
std::string content_disposition(const std::string& filename);

/// VOSI 1.1 section 3.1 capabilities of the SODA service at {base}/soda
/// (SODA 1.0 section 2.5): the {sync} capability
/// ivo://ivoa.net/std/SODA#sync-1.0 at {base}/soda/sync and the VOSI
/// capabilities and availability resources.
std::string soda_capabilities_document(const Config& config);

/// A short HTML page describing the SODA service at {base}/soda: the
/// parameters it accepts and links to sync, capabilities, availability.
std::string soda_page(const Config& config);

}  // namespace vo::server
