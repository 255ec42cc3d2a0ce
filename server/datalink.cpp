// DataLink 1.1 {links} and product downloads (server/datalink.hpp).
#include "server/datalink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <system_error>

#include "obscore/fits_extract.hpp"
#include "obscore/preview.hpp"
#include "server/file_response.hpp"
#include "server/soda_endpoint.hpp"
#include "server/vosi.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

std::string num(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

void attr(std::string& out, const char* name, std::string_view value) {
    out += ' ';
    out += name;
    out += "=\"";
    votable::append_xml_escaped(out, value);
    out += '"';
}

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// The Content-Type of a product file as stored (a .gz file is sent as is).
std::string file_content_type(const std::string& filename) {
    return ends_with(lower(filename), ".gz") ? "application/gzip" : "application/fits";
}

/// Why `id` cannot be an obs_publisher_did (ObsCore 1.1 section 4.6.1: an
/// IVOA publisher DID, "ivo://..."), or "".
/// Why `id` cannot name a dataset at all ("" = it can).
std::string unusable_reason(const std::string& id) {
    if (id.empty()) return "empty ID value";
    if (id.size() > 4096) return "ID longer than 4096 bytes";
    for (const char c : id) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return "ID with a control character";
    }
    return "";
}

bool is_ivoid(const std::string& id) { return id.rfind("ivo://", 0) == 0 || id.rfind("IVO://", 0) == 0; }

/// A row of `id` with `semantics` that needs no authorization (section 3.2.11-12).
Link open_link(const std::string& id, const std::string& semantics, const ProductInfo& p) {
    Link l;
    l.id = id;
    l.semantics = semantics;
    l.link_auth = p.link_auth;  // the product's bytes behind every link of it
    l.link_authorized = p.authorized;
    return l;
}

/// Replies with the DALI error VOTable (DALI 1.1 section 4.4) of `message`.
void reply_error(ResponseChannel& channel, unsigned status, const std::string& message) {
    Reply r;
    r.status = status;
    r.content_type = "application/x-votable+xml";
    r.body = votable::error_document(message);
    channel.reply(std::move(r));
}

/// A product-type vocabulary term (DataLink 1.1 section 3.2.9) for an
/// ObsCore dataproduct_type, or "".
std::string content_qualifier(const std::string& dataproduct_type) {
    for (const char* t : {"image", "cube", "spectrum", "sed", "timeseries", "visibility", "event", "measurements"})
        if (dataproduct_type == t) return std::string("#") + t;
    return "";
}

}  // namespace

/// A PARAM element; `inner` (VALUES, DESCRIPTION) already XML.
std::string descriptor_param(const std::string& name, const std::string& datatype, const std::string& arraysize,
                             const std::string& value, const std::string& ucd, const std::string& unit,
                             const std::string& xtype, const std::string& description, const std::string& values,
                             const std::string& ref) {
    std::string p = "<PARAM";
    attr(p, "name", name);
    attr(p, "datatype", datatype);
    if (!arraysize.empty()) attr(p, "arraysize", arraysize);
    if (!ucd.empty()) attr(p, "ucd", ucd);
    if (!unit.empty()) attr(p, "unit", unit);
    if (!xtype.empty()) attr(p, "xtype", xtype);
    if (!ref.empty()) attr(p, "ref", ref);
    attr(p, "value", value);
    p += ">";
    if (!description.empty()) p += "<DESCRIPTION>" + votable::xml_escape(description) + "</DESCRIPTION>";
    p += values;
    p += "</PARAM>\n";
    return p;
}

std::string percent_encode(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
            u == '_' || u == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::string file_url(const std::string& base_url, const std::string& did) {
    return base_url + "/datalink/file?ID=" + percent_encode(did);
}

bool has_cutable_axes(const soda::Bounds& b) { return !b.polygon.empty() || b.band.has_value() || b.pol.size() > 1; }

std::string soda_service_descriptor(const std::string& xml_id, bool async, const std::string& base_url,
                                    const std::string& did, const soda::Bounds& b) {
    std::string r = "<RESOURCE type=\"meta\" utype=\"adhoc:service\"";
    attr(r, "ID", xml_id);
    attr(r, "name", async ? "SODA async cutout" : "SODA sync cutout");
    r += ">\n<DESCRIPTION>";
    r += async ? "Asynchronous cutouts of this dataset (SODA 1.0 {async}: a UWS job whose result is the FITS cutout)"
               : "Cutouts of this dataset (SODA 1.0 {sync}: the FITS cutout is the response)";
    r += "</DESCRIPTION>\n";
    r += descriptor_param("standardID", "char", "*",
                          async ? "ivo://ivoa.net/std/SODA#async-1.0" : "ivo://ivoa.net/std/SODA#sync-1.0", "", "", "",
                          "");
    r += descriptor_param("accessURL", "char", "*", base_url + (async ? "/soda/async" : "/soda/sync"), "meta.ref.url",
                          "", "", "");
    r += descriptor_param("contentType", "char", "*", async ? "text/xml" : "application/fits", "", "", "", "");
    r += "<GROUP name=\"inputParams\">\n";
    r += descriptor_param("ID", "char", "*", did, "meta.id;meta.main", "", "",
                          "The publisher DID of the dataset to cut");
    if (!b.polygon.empty()) {
        r += descriptor_param(
            "POS", "char", "*", "", "pos.outline;obs", "", "",
            "Region to cut out: CIRCLE ra dec radius, RANGE ra1 ra2 dec1 dec2 or POLYGON ra1 dec1 ... (ICRS degrees)");
        r += descriptor_param("CIRCLE", "double", "3", "", "pos.outline;obs", "deg", "circle",
                              "A circle (ra dec radius, ICRS degrees) the cutout covers",
                              "<VALUES><MAX value=\"" + num(b.circle_lon) + " " + num(b.circle_lat) + " " +
                                  num(b.circle_radius) + "\"/></VALUES>");
        std::string poly;
        for (const auto& [lon, lat] : b.polygon) poly += (poly.empty() ? "" : " ") + num(lon) + " " + num(lat);
        r += descriptor_param("POLYGON", "double", "*", "", "pos.outline;obs", "deg", "polygon",
                              "A polygon (ra1 dec1 ra2 dec2 ..., ICRS degrees) the cutout covers",
                              "<VALUES><MAX value=\"" + poly + "\"/></VALUES>");
    }
    if (b.band)
        r += descriptor_param(
            "BAND", "double", "2", "", "em.wl;stat.interval", "m", "interval",
            "Vacuum wavelength interval to extract (metres)",
            "<VALUES><MIN value=\"" + num(b.band->lo) + "\"/><MAX value=\"" + num(b.band->hi) + "\"/></VALUES>");
    if (b.time)
        r += descriptor_param(
            "TIME", "double", "2", "", "time.interval;obs.exposure", "d", "interval", "Time interval to extract (MJD)",
            "<VALUES><MIN value=\"" + num(b.time->lo) + "\"/><MAX value=\"" + num(b.time->hi) + "\"/></VALUES>");
    if (!b.pol.empty()) {
        std::string options = "<VALUES>";
        for (const auto& s : b.pol) options += "<OPTION value=\"" + votable::xml_escape(s) + "\"/>";
        options += "</VALUES>";
        r += descriptor_param("POL", "char", "*", "", "meta.code;phys.polarization", "", "",
                              "Polarization states to extract", options);
    }
    r += "</GROUP>\n</RESOURCE>\n";
    return r;
}

IdLinks build_links(const std::string& id, const ProductInfo& p, const std::string& base_url, std::size_t index) {
    IdLinks out;
    Link self;
    self.id = id;
    self.semantics = "#this";
    if (!p.malformed.empty()) {
        self.error_message = "UsageFault: " + p.malformed;
        out.links.push_back(std::move(self));
        return out;
    }
    if (!p.known) {
        self.error_message = "NotFoundFault: no dataset with ID " + id +
                             " in this archive (IDs are the obs_publisher_did values of ivoa.obscore)";
        out.links.push_back(std::move(self));
        return out;
    }
    self.content_qualifier = content_qualifier(p.dataproduct_type);
    if (!p.has_file) {
        self.error_message = "FatalFault: dataset " + id + " has no file in this archive";
        out.links.push_back(std::move(self));
        return out;
    }
    self.content_type = file_content_type(p.filename);
    if (!p.file_problem.empty()) {
        self.error_message = "FatalFault: " + p.file_problem;
        out.links.push_back(std::move(self));
        return out;
    }
    const std::string& did = p.did.empty() ? id : p.did;  // the dataset's publisher DID
    self.access_url = file_url(base_url, did);
    self.description = "The whole file " + p.filename + " (" + std::to_string(p.file_bytes) + " bytes)";
    self.content_length = p.file_bytes;
    self.local_semantics = "file";
    self.link_auth = p.link_auth;
    self.link_authorized = p.authorized;
    out.links.push_back(self);

    // issue 10 item 4: previews of images and cubes (DataLink 1.1 section 3.2.4)
    for (const auto& kind : obscore::preview_kinds(p.dataproduct_type)) {
        Link preview = open_link(id, kind.semantics, p);
        preview.access_url = preview_url(base_url, did, kind.name);
        preview.description = kind.description + " of " + p.filename;
        preview.content_type = "image/png";
        preview.local_semantics = "preview-" + kind.name;
        out.links.push_back(std::move(preview));
    }

    // configured files next to the product ([[collection.link]])
    for (const auto& r : p.related) {
        Link rel = open_link(id, r.semantics, p);
        rel.access_url = file_url(base_url, did) + "&FILE=" + std::to_string(r.index);
        rel.description = r.description.empty() ? r.name : r.description + " (" + r.name + ")";
        rel.content_type = r.content_type;
        rel.content_length = r.bytes;
        rel.local_semantics = "file-" + std::to_string(r.index);
        out.links.push_back(std::move(rel));
    }

    if (p.bounds && has_cutable_axes(*p.bounds)) {
        std::vector<std::string> axes;
        if (!p.bounds->polygon.empty()) axes.emplace_back("POS/CIRCLE/POLYGON");
        if (p.bounds->band) axes.emplace_back("BAND");
        if (p.bounds->time) axes.emplace_back("TIME");
        if (!p.bounds->pol.empty()) axes.emplace_back("POL");
        std::string by;
        for (const auto& a : axes) by += (by.empty() ? "" : ", ") + a;
        for (const bool async : {false, true}) {
            const std::string xml_id = std::string(async ? "soda-async-" : "soda-sync-") + std::to_string(index);
            Link cut = open_link(id, "#cutout", p);
            cut.service_def = xml_id;
            cut.description = std::string(async ? "Asynchronous (UWS) SODA cutout" : "SODA cutout") + " of " +
                              p.filename + " by " + by;
            cut.content_type = "application/fits";
            cut.content_qualifier = self.content_qualifier;
            cut.local_semantics = async ? "cutout-async" : "cutout-sync";
            out.links.push_back(std::move(cut));
            out.descriptors.push_back(soda_service_descriptor(xml_id, async, base_url, did, *p.bounds));
        }
    }
    return out;
}

std::string links_document(const std::vector<IdLinks>& ids, bool overflow) {
    std::string d =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\""
        " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        " xsi:schemaLocation=\"http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.3\">\n"
        "<RESOURCE type=\"results\">\n";
    d += std::string("<INFO name=\"standardID\" value=\"") + kDataLinkStandardId + "\"/>\n";
    d += "<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<TABLE name=\"links\">\n";
    // DataLink 1.1 section 3.2, Table 1: names, datatypes, UCDs.
    d += "<FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id;meta.main\"><DESCRIPTION>Input "
         "identifier</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref.url\"><DESCRIPTION>Link to data "
         "or service</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref\"><DESCRIPTION>Reference to a "
         "service descriptor resource</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code.error\"><DESCRIPTION>Error "
         "if an access_url cannot be created</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code\"><DESCRIPTION>Term from a "
         "controlled vocabulary describing the link</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"description\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.note\"><DESCRIPTION>Human-readable "
         "text describing this link</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code.mime\"><DESCRIPTION>MIME type "
         "of the content the link returns</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"content_length\" datatype=\"long\" unit=\"byte\" ucd=\"phys.size;meta.file\"><DESCRIPTION>Size "
         "of the download the link returns</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"content_qualifier\" datatype=\"char\" arraysize=\"*\"><DESCRIPTION>Nature of the content the "
         "link returns (product-type vocabulary)</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"local_semantics\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id.assoc\"><DESCRIPTION>Kind of "
         "link within this service</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"link_auth\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code\"><DESCRIPTION>Use of the link "
         "requires authentication (false, optional, true)</DESCRIPTION></FIELD>\n"
         "<FIELD name=\"link_authorized\" datatype=\"boolean\" ucd=\"meta.code\"><DESCRIPTION>Caller is authorized to "
         "use the link</DESCRIPTION></FIELD>\n"
         "<DATA><TABLEDATA>\n";
    const auto td = [&](const std::string& v) {
        if (v.empty()) {
            d += "<TD/>";
        } else {
            d += "<TD>";
            votable::append_xml_escaped(d, v);
            d += "</TD>";
        }
    };
    for (const auto& one : ids) {
        for (const auto& l : one.links) {
            d += "<TR>";
            td(l.id);
            td(l.access_url);
            td(l.service_def);
            td(l.error_message);
            td(l.semantics);
            td(l.description);
            td(l.content_type);
            td(l.content_length ? std::to_string(*l.content_length) : "");
            td(l.content_qualifier);
            td(l.local_semantics);
            td(l.link_auth);
            td(l.link_authorized ? (*l.link_authorized ? "true" : "false") : "");
            d += "</TR>\n";
        }
    }
    d += "</TABLEDATA></DATA>\n</TABLE>\n";
    if (overflow) d += "<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n";  // DALI 1.1 section 4.4.1
    d += "</RESOURCE>\n";
    for (const auto& one : ids)
        for (const auto& r : one.descriptors) d += r;
    d += "</VOTABLE>\n";
    return d;
}

DataLinkRequest parse_datalink_request(const DaliParams& params, int max_ids) {
    for (const auto& f : params.all("RESPONSEFORMAT")) {
        std::string base = lower(f.substr(0, f.find(';')));
        while (!base.empty() && base.back() == ' ') base.pop_back();
        while (!base.empty() && base.front() == ' ') base.erase(base.begin());
        if (!base.empty() && base != "votable" && base != "application/x-votable+xml" && base != "text/xml")
            throw ParamError("UsageFault: RESPONSEFORMAT: unsupported value \"" + f +
                             "\" (supported: application/x-votable+xml;content=datalink, votable)");
    }
    DataLinkRequest r;
    const std::size_t limit = static_cast<std::size_t>(std::max(1, max_ids));
    for (const auto& v : params.all("ID")) {
        if (std::find(r.ids.begin(), r.ids.end(), v) != r.ids.end()) continue;
        if (r.ids.size() >= limit) {
            r.overflow = true;
            break;
        }
        r.ids.push_back(v);
    }
    return r;
}

namespace {

/// What a cutout of a file can cut, kept per (path, size, modification
/// time): reading a header and its WCS costs 0.5-15 ms a file (a WFPC2
/// image with its distortion tables is the slow end), a DataLink request
/// should not pay it again for an unchanged file. At most kMaxBoundsCached
/// files are kept; when full the cache starts afresh.
std::optional<soda::Bounds> cached_bounds(const std::string& id, const obscore::ProductFile& file, std::uint64_t size,
                                          std::int64_t mtime) {
    static constexpr std::size_t kMaxBoundsCached = 4096;
    static std::mutex mutex;
    static std::unordered_map<std::string, std::optional<soda::Bounds>> cache;
    std::string key = file.path + '\n' + std::to_string(size) + '\n' + std::to_string(mtime);
    for (int h : file.image_hdus) key += ' ' + std::to_string(h);
    {
        std::lock_guard lock(mutex);
        if (auto it = cache.find(key); it != cache.end()) return it->second;
    }
    std::optional<soda::Bounds> bounds;
    try {
        bounds = soda::describe_bounds(file.path, file.image_hdus);
    } catch (const std::exception& e) {
        // not cut-able (no image HDU, damaged header): the file is still offered
        spdlog::info("DataLink: ID {}: no cutout: {}", id, e.what());
    }
    std::lock_guard lock(mutex);
    if (cache.size() >= kMaxBoundsCached) cache.clear();
    cache.emplace(std::move(key), bounds);
    return bounds;
}

}  // namespace

std::vector<RelatedFile> related_files(const std::vector<CollectionConfig>& collections, const std::string& did,
                                       const std::string& product_path) {
    std::vector<RelatedFile> out;
    const auto q = did.find('?');
    const auto slash = q == std::string::npos ? std::string::npos : did.rfind('/', q);
    if (slash == std::string::npos) return out;
    const std::string collection = did.substr(slash + 1, q - slash - 1);
    const std::string stem = obscore::obs_id_from_path(product_path);
    const std::filesystem::path dir = std::filesystem::path(product_path).parent_path();
    for (const auto& c : collections) {
        if (c.name != collection) continue;
        for (std::size_t i = 0; i < c.links.size(); ++i) {
            const auto& l = c.links[i];
            std::string name = l.pattern;
            for (std::size_t at; (at = name.find("{stem}")) != std::string::npos;) name.replace(at, 6, stem);
            const std::filesystem::path path = dir / name;
            std::error_code ec;
            if (!std::filesystem::is_regular_file(path, ec)) continue;
            const auto bytes = std::filesystem::file_size(path, ec);
            if (ec) continue;
            out.push_back({i + 1, l.semantics, l.description,
                           l.content_type.empty() ? file_content_type(name) : l.content_type, name, path.string(),
                           static_cast<std::int64_t>(bytes)});
        }
    }
    return out;
}

ProductInfo describe_product(const obscore::ProductLookup& store, const std::string& id,
                             const std::vector<CollectionConfig>& collections, const RightsOf& rights) {
    ProductInfo p;
    p.malformed = unusable_reason(id);
    if (!p.malformed.empty()) return p;
    p.did = id;
    if (!is_ivoid(id)) {  // astroquery.alma passes obs_ids (ALMA's member OUS uids)
        const auto did = store.find_did_by_obs_id(id);
        if (!did) {
            p.malformed = "ID " + id + " is neither a publisher DID (ivo://...) nor the obs_id of one dataset";
            return p;
        }
        p.did = *did;
    }
    const auto type = store.find_dataproduct_type(p.did);
    if (!type) return p;
    p.known = true;
    p.dataproduct_type = *type;
    const auto file = store.find_product(p.did);
    if (!file || file->path.empty()) return p;
    p.has_file = true;
    if (rights) {
        const ProductRights r = rights(*file);
        p.link_auth = r.released ? "optional" : "true";
        p.authorized = r.authorized;
    }
    p.filename = std::filesystem::path(file->path).filename().string();
    std::error_code ec;
    const auto size = std::filesystem::file_size(file->path, ec);
    if (ec) {
        spdlog::error("DataLink: ID {}: file {}: {}", id, file->path, ec.message());
        p.file_problem = "the file of dataset " + id + " cannot be read";
        return p;
    }
    p.file_bytes = static_cast<std::int64_t>(size);
    p.related = related_files(collections, p.did, file->path);
    const auto mtime = std::filesystem::last_write_time(file->path, ec);
    p.bounds = cached_bounds(p.did, *file, static_cast<std::uint64_t>(size),
                             ec ? 0 : static_cast<std::int64_t>(mtime.time_since_epoch().count()));
    return p;
}

std::string datalink_service_descriptor(const std::string& base_url, const std::string& field_id) {
    std::string r =
        "<RESOURCE type=\"meta\" utype=\"adhoc:service\" ID=\"datalink-links\" name=\"DataLink\">\n"
        "<DESCRIPTION>Links of each dataset of this result: the file, SODA cutouts (DataLink 1.1 "
        "{links})</DESCRIPTION>\n";
    r += descriptor_param("standardID", "char", "*", kDataLinkStandardId, "", "", "", "");
    r += descriptor_param("accessURL", "char", "*", base_url + "/datalink/sync", "meta.ref.url", "", "", "");
    r += descriptor_param("contentType", "char", "*", kDataLinkMime, "", "", "", "");
    r += "<GROUP name=\"inputParams\">\n";
    r += descriptor_param("ID", "char", "*", "", "meta.id;meta.main", "", "", "The obs_publisher_did of a dataset", "",
                          field_id);
    r += "</GROUP>\n</RESOURCE>\n";
    return r;
}

std::string datalink_capabilities_document(const Config& config) {
    const std::string dl = config.base_url() + "/datalink";
    return service_capabilities_document(
        dl, std::string("  <capability standardID=\"") + kDataLinkStandardId +
                "\">\n"
                "    <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.1\">\n"
                "      <accessURL use=\"base\">" +
                votable::xml_escape(dl) + "/sync</accessURL>\n" + security_methods_xml(config) +
                "      <queryType>GET</queryType>\n      <queryType>POST</queryType>\n"
                "      <resultType>" +
                votable::xml_escape(kDataLinkMime) +
                "</resultType>\n"
                "      <param std=\"true\" use=\"required\"><name>ID</name><description>publisher dataset identifier "
                "(obs_publisher_did)</description><ucd>meta.id;meta.main</ucd><dataType>string</dataType></param>\n"
                "      <param std=\"true\" use=\"optional\"><name>RESPONSEFORMAT</name><description>only the DataLink "
                "VOTable (the default)</description></param>\n"
                "    </interface>\n  </capability>\n" +
                // downloads and previews (/datalink/file, /datalink/preview) take credentials too
                authenticated_base_capability(config, dl));
}

void send_product_file(const obscore::ProductLookup& store, const std::string& id, const std::string& range,
                       const std::string& if_range, ResponseChannel& channel,
                       const std::vector<CollectionConfig>& collections, std::size_t file_index,
                       const AdmitProduct& admit) {
    const auto not_found = [&](const std::string& why) { reply_error(channel, 404, "NotFoundFault: " + why); };
    if (id.empty()) return not_found("missing parameter ID (the obs_publisher_did of the dataset to download)");
    std::optional<obscore::ProductFile> file;
    try {
        file = store.find_product(id);
    } catch (const std::exception& e) {
        spdlog::error("download: looking up ID {}: {}", id, e.what());
        return reply_error(channel, 500, std::string("FatalFault: the archive store cannot be read: ") + e.what());
    }
    if (!file || file->path.empty())
        return not_found("no file for ID " + id +
                         " in this archive (IDs are the obs_publisher_did values of ivoa.obscore)");
    if (admit && !admit(id, *file, channel)) return;
    FileResponse f;
    f.path = file->path;
    std::string name = std::filesystem::path(file->path).filename().string();
    f.content_type = file_content_type(name);
    if (file_index > 0) {
        const auto related = related_files(collections, id, file->path);
        auto it =
            std::find_if(related.begin(), related.end(), [&](const RelatedFile& r) { return r.index == file_index; });
        if (it == related.end())
            return not_found("dataset " + id + " has no file number " + std::to_string(file_index) +
                             " (FILE= values are those of its DataLink rows)");
        f.path = it->path;
        name = it->name;
        f.content_type = it->content_type;
    }
    f.range = range;
    f.if_range = if_range;
    f.validators = true;
    f.headers.emplace_back("Content-Disposition", content_disposition(name));
    send_file(f, channel, "the file of dataset " + id);
}

std::string preview_url(const std::string& base_url, const std::string& did, const std::string& kind) {
    return base_url + "/datalink/preview?ID=" + percent_encode(did) + "&KIND=" + percent_encode(kind);
}

void send_preview(const obscore::ProductLookup& store, const std::string& previews_dir, const std::string& id,
                  const std::string& kind, ResponseChannel& channel, const AdmitProduct& admit) {
    const auto error = [&](unsigned status, const std::string& message) { reply_error(channel, status, message); };
    if (id.empty()) return error(400, "UsageFault: missing parameter ID (the obs_publisher_did of the dataset)");
    std::optional<obscore::ProductFile> file;
    std::optional<std::string> type;
    try {
        type = store.find_dataproduct_type(id);
        file = store.find_product(id);
    } catch (const std::exception& e) {
        spdlog::error("preview: looking up ID {}: {}", id, e.what());
        return error(500, std::string("FatalFault: the archive store cannot be read: ") + e.what());
    }
    if (!type || !file || file->path.empty() || file->image_hdus.empty())
        return error(404, "NotFoundFault: no dataset with ID " + id + " and a file in this archive");
    if (admit && !admit(id, *file, channel)) return;
    const auto kinds = obscore::preview_kinds(*type);
    std::string names;
    bool known = false;
    for (const auto& k : kinds) {
        names += (names.empty() ? "" : ", ") + k.name;
        known = known || k.name == kind;
    }
    if (!known)
        return error(404, "NotFoundFault: KIND=" + kind + ": dataset " + id + " (" +
                              (type->empty() ? "no type" : *type) + ") has " +
                              (names.empty() ? "no previews" : "the previews " + names));
    std::error_code ec;
    const auto size = std::filesystem::file_size(file->path, ec);
    const auto mtime = std::filesystem::last_write_time(file->path, ec);
    if (ec) return error(500, "FatalFault: the file of dataset " + id + " cannot be read");
    // FNV-1a of the DID: a stable file name without the DID's characters
    std::uint64_t hash = 1469598103934665603ULL;
    for (unsigned char ch : id) hash = (hash ^ ch) * 1099511628211ULL;
    char prefix[96];
    std::snprintf(prefix, sizeof prefix, "%016llx-%llx-%llx-", static_cast<unsigned long long>(hash),
                  static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(mtime.time_since_epoch().count()));
    const std::string base = (std::filesystem::path(previews_dir) / prefix).string();
    const std::string png = base + kind + ".png";
    if (!std::filesystem::exists(png)) {
        try {
            std::filesystem::create_directories(previews_dir);
            obscore::write_previews(file->path, file->image_hdus.front(), *type, base);
        } catch (const std::exception& e) {
            spdlog::error("preview of {}: {}", id, e.what());
            return error(500, std::string("FatalFault: the preview of dataset ") + id + " cannot be made: " + e.what());
        }
    }
    FileResponse f;
    f.path = png;
    f.content_type = "image/png";
    f.validators = true;
    send_file(f, channel, "the preview of dataset " + id);
}

}  // namespace vo::server
