// SODA 1.0 {sync}: request checking, ID resolution, streamed cutouts.
#include "server/soda_endpoint.hpp"
#include "server/dali_error.hpp"
#include "server/vosi.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <optional>
#include <vector>

#include "soda/cutout.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

/// Largest piece handed to ResponseChannel::write at once (bytes).
constexpr std::size_t kSlice = 512 * 1024;
/// Cutouts up to this size (bytes) are built in memory and sent whole.
constexpr std::uint64_t kWholeReplyMax = 2u << 20;
/// Cutouts at least this large (bytes) are followed by malloc_trim.
constexpr std::uint64_t kTrimAbove = 8u << 20;

std::string upper(std::string s) {
    for (auto& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

Reply votable_error(unsigned status, const std::string& message) { return dali_error_reply(status, message); }

}  // namespace

std::multimap<std::string, std::string> soda_parameter_map(const DaliParams& params) {
    std::multimap<std::string, std::string> out;
    for (const auto& [name, value] : params.pairs()) out.emplace(upper(name), value);
    return out;
}

SodaRequest parse_soda_request(const DaliParams& params) {
    SodaRequest request;
    // SODA 1.0 section 3.2.1 / 3.1: one ID per sync request.
    std::vector<std::string> ids;
    for (const auto& v : params.all("ID"))
        if (!v.empty() && std::find(ids.begin(), ids.end(), v) == ids.end()) ids.push_back(v);
    if (ids.empty())
        throw soda::SodaError(400, "UsageError", "ID",
                              "UsageError: ID: missing parameter ID (the obs_publisher_did of the dataset to cut)");
    if (ids.size() > 1)
        throw soda::SodaError(400, "MultiValuedParamNotSupported", "ID",
                              "MultiValuedParamNotSupported: ID: " + std::to_string(ids.size()) +
                                  " values given; the sync resource cuts one dataset per request");
    request.id = ids.front();

    // DALI 1.1 section 3.4.3: the only output format is FITS.
    std::vector<std::string> formats;
    for (const auto& v : params.all("RESPONSEFORMAT"))
        if (!v.empty()) formats.push_back(v);
    for (const auto& f : formats) {
        if (!iequals(f, "application/fits") && !iequals(f, "image/fits") && !iequals(f, "fits"))
            throw soda::SodaError(
                400, "UsageError", "RESPONSEFORMAT",
                "UsageError: RESPONSEFORMAT: unsupported value \"" + f + "\" (supported: application/fits)");
    }

    request.params = soda::parse_params(soda_parameter_map(params));
    return request;
}

Reply soda_error_reply(const soda::SodaError& e) {
    if (e.http_status() == 204) {
        Reply r;  // SODA 1.0 section 5.1: 204 No Content, no body
        r.status = 204;
        return r;
    }
    return votable_error(static_cast<unsigned>(e.http_status()), e.what());
}

std::string content_disposition(const std::string& filename) {
    std::string name;
    for (const char c : filename) {
        const auto u = static_cast<unsigned char>(c);
        name += (c == '"' || c == '\\' || u < 0x20 || u == 0x7f) ? '_' : c;
    }
    if (name.empty()) name = "cutout.fits";
    // RFC 6266 section 4.1: a token needs no quotes, and clients that take
    // the value verbatim (astroquery.alma's download_files) save the plain
    // name; other names are quoted strings.
    const bool token = std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
    return token ? "attachment; filename=" + name : "attachment; filename=\"" + name + "\"";
}

std::uint64_t run_soda_sync(const SodaRequest& request, const obscore::ProductLookup& store, ResponseChannel& channel,
                            const AdmitProduct& admit) {
    std::optional<obscore::ProductFile> product;
    try {
        product = store.find_product(request.id);
    } catch (const std::exception& e) {
        spdlog::error("SODA: looking up ID {}: {}", request.id, e.what());
        channel.reply(votable_error(500, std::string("Error: the archive store cannot be read: ") + e.what()));
        return 0;
    }
    if (!product) {
        channel.reply(
            votable_error(404, "UsageError: ID: no dataset with ID " + request.id +
                                   " in this archive (IDs are the obs_publisher_did values of ivoa.obscore)"));
        return 0;
    }
    if (admit && !admit(request.id, *product, channel)) return 0;

    std::optional<soda::Cutout> cutout;
    try {
        cutout.emplace(soda::plan_cutout(product->path, product->image_hdus, request.params));
    } catch (const soda::SodaError& e) {
        if (e.http_status() >= 500) spdlog::error("SODA: ID {} ({}): {}", request.id, product->path, e.what());
        if (e.http_status() == 404) {
            // The store lists the product but its file is gone: the client's
            // ID is right, the archive is not.
            spdlog::error("SODA: ID {}: file {} is missing", request.id, product->path);
            channel.reply(votable_error(500, "Error: the file of dataset " + request.id + " cannot be read"));
            return 0;
        }
        channel.reply(soda_error_reply(e));
        return 0;
    } catch (const std::exception& e) {
        spdlog::error("SODA: ID {} ({}): {}", request.id, product->path, e.what());
        channel.reply(votable_error(500, std::string("Error: ") + e.what()));
        return 0;
    }

    const std::uint64_t size = cutout->size_bytes();
    std::vector<std::pair<std::string, std::string>> headers{
        {"Content-Disposition", content_disposition(cutout->filename())}};

    if (size <= kWholeReplyMax) {
        // Small cutout: built in memory and sent as one response (one
        // hand-over to the I/O thread instead of one per piece; the
        // Content-Length is the body's).
        Reply reply;
        reply.content_type = cutout->content_type();
        reply.headers = std::move(headers);
        reply.body.reserve(static_cast<std::size_t>(size));
        bool complete = false;
        try {
            complete = cutout->write([&](const char* data, std::size_t n) {
                if (channel.cancelled()) return false;
                reply.body.append(data, n);
                return true;
            });
        } catch (const soda::SodaError& e) {
            spdlog::error("SODA: ID {} ({}): {}", request.id, product->path, e.what());
            channel.reply(votable_error(500, std::string("Error: ") + e.what()));
            return 0;
        }
        if (!complete) return 0;  // client gone
        const std::uint64_t n = reply.body.size();
        channel.reply(std::move(reply));
        return n;
    }

    channel.spool_only_when_stalled();  // the cutout is cheap to read again: wait for the client
    channel.start(200, cutout->content_type(), std::move(headers), size);
    std::uint64_t sent = 0;
    bool gone = false;
    const auto sink = [&](const char* data, std::size_t n) {
        if (channel.cancelled()) {
            gone = true;
            return false;
        }
        // The engine hands over up to 1 MiB at a time; the channel copies what
        // it queues, so slices keep the server's memory bounded (queue limit
        // plus one slice) while reading and sending still overlap.
        try {
            for (std::size_t off = 0; off < n; off += kSlice) {
                const std::size_t len = std::min(kSlice, n - off);
                channel.write(std::string_view(data + off, len));
                sent += len;
            }
        } catch (const votable::SinkClosed&) {
            gone = true;
            return false;
        }
        return true;
    };
    try {
        cutout->write(sink);
    } catch (const std::exception& e) {
        // After the headers nothing can be said to the client but a short
        // body: finish() below closes the connection (sent < size).
        spdlog::error("SODA: ID {} ({}): failed after {} of {} bytes: {}", request.id, product->path, sent, size,
                      e.what());
    }
    if (!gone) channel.finish();
    // The channel's copies of the body were allocated in this worker's malloc
    // arena; give them back so that every worker that once served a large
    // cutout does not keep them resident.
    if (size >= kTrimAbove) ::malloc_trim(0);
    return sent;
}

std::string soda_capabilities_document(const Config& config) {
    const std::string soda = config.base_url() + "/soda";
    std::string caps;
    // SODA 1.0 section 2.5; VOSI 1.1 section 4.
    for (const auto& [id, path] : {std::pair<const char*, const char*>{"ivo://ivoa.net/std/SODA#sync-1.0", "/sync"},
                                   {"ivo://ivoa.net/std/SODA#async-1.0", "/async"}})
        caps += std::string("  <capability standardID=\"") + id +
                "\">\n"
                "    <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.0\">\n"
                "      <accessURL use=\"full\">" +
                votable::xml_escape(soda) + path + "</accessURL>\n" + security_methods_xml(config) +
                "    </interface>\n  </capability>\n";
    // job URLs below /soda/async take the job owner's credentials
    caps += authenticated_base_capability(config, soda);
    return service_capabilities_document(soda, caps);
}

std::string soda_page(const Config& config) {
    const std::string base = votable::xml_escape(config.base_url());
    return html_page_start("SODA service") +
           "</head><body>\n"
           "<h1>SODA 1.0 cutout service: " +
           votable::xml_escape(config.archive.title) +
           "</h1>\n"
           "<p><a href=\"" +
           base + "/soda/sync\">" + base +
           "/soda/sync</a> (GET or POST) cuts one dataset: "
           "<code>ID</code> = its <code>obs_publisher_did</code> in <code>ivoa.obscore</code>, and any of "
           "<code>POS</code>, <code>CIRCLE</code>, <code>POLYGON</code> (ICRS degrees), <code>BAND</code> (vacuum "
           "wavelength in metres), <code>TIME</code> (MJD), <code>POL</code> (Stokes labels), "
           "<code>PIXEL_1</code>, <code>PIXEL_2</code>, ... (1-based pixel ranges), <code>META=true</code> "
           "(headers only). Every image extension on the same grid is cut alike (MUSE DATA/STAT/DQ). "
           "The answer is a FITS file with a Content-Length; 204 when the cut holds no pixel.</p>\n"
           "<p>Example: <code>curl -OJ '" +
           base +
           "/soda/sync?ID=...&amp;CIRCLE=53.16+-27.78+0.001'</code></p>\n"
           "<ul><li><a href=\"" +
           base +
           "/soda/capabilities\">capabilities</a></li>\n"
           "<li><a href=\"" +
           base +
           "/soda/availability\">availability</a></li></ul>\n"
           "<p><a href=\"" +
           base + "/\">archive home</a></p>\n</body></html>\n";
}

}  // namespace vo::server
