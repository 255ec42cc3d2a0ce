// DataLink 1.1 {links} at /datalink/sync and product downloads at
// /datalink/file (DESIGN.md "How a request flows", DataLink).
//
//   ID values (obs_publisher_did) -> per ID: the ObsCore row and its file in
//   the read-only store (never a path from the client) -> soda::describe_bounds
//   -> rows of the links table (#this: the file; #cutout: SODA sync and async
//   service descriptors carrying the product's bounds) -> the DataLink VOTable.
//
// The link building (build_links, links_document, the descriptors) is pure:
// it takes what describe_product found and the base URL, so unit tests need
// no store. Links are derived from the base URL when a response is written
// (DESIGN.md "Storage": never stored with a host in them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "obscore/backend.hpp"
#include "server/access.hpp"
#include "server/config.hpp"
#include "server/http.hpp"
#include "server/params.hpp"
#include "soda/cutout.hpp"

namespace vo::server {

/// DataLink 1.1 section 3.1: the MIME type of a {links} response.
inline constexpr const char* kDataLinkMime = "application/x-votable+xml;content=datalink";
/// DataLink 1.1 section 2.2: the standardID of a {links} endpoint.
inline constexpr const char* kDataLinkStandardId = "ivo://ivoa.net/std/DataLink#links-1.1";

/// One row of the links table (DataLink 1.1 section 3.2, Table 1). Exactly
/// one of access_url, service_def, error_message is non-empty; "" is written
/// as a null (empty TD).
struct Link {
    std::string id;                              ///< the input ID value (section 3.2.1)
    std::string access_url;                      ///< section 3.2.2
    std::string service_def;                     ///< XML ID of a service descriptor RESOURCE (section 3.2.3)
    std::string error_message;                   ///< starts with a section 3.4 Table 2 fault name (section 3.2.4)
    std::string semantics;                       ///< core vocabulary term, e.g. "#this" (section 3.2.6)
    std::string description;                     ///< section 3.2.5
    std::string content_type;                    ///< section 3.2.7
    std::optional<std::int64_t> content_length;  ///< bytes (section 3.2.8)
    std::string content_qualifier;               ///< product-type term, e.g. "#cube" (section 3.2.9)
    std::string local_semantics;                 ///< section 3.2.10
    std::string link_auth;                       ///< "false", "optional", "true" or "" (section 3.2.11)
    std::optional<bool> link_authorized;         ///< section 3.2.12
};

/// A configured file next to a product (CollectionLink) that exists.
struct RelatedFile {
    std::size_t index = 0;  ///< 1-based position among the collection's links (FILE= of its URL)
    std::string semantics;
    std::string description;
    std::string content_type;
    std::string name;  ///< its file name
    std::string path;  ///< absolute path (never shown to clients)
    std::int64_t bytes = 0;
};

/// The configured files of `collections` next to the product at
/// `product_path` of dataset `did` (its collection is the path segment of
/// the DID before '?'), those that exist as regular files, in
/// configuration order.
std::vector<RelatedFile> related_files(const std::vector<CollectionConfig>& collections, const std::string& did,
                                       const std::string& product_path);

/// What the archive knows of one ID (filled by describe_product).
struct ProductInfo {
    bool known = false;  ///< the ID names a row of ivoa.obscore
    /// The dataset's obs_publisher_did: the ID itself, or for an ID that is
    /// the obs_id of exactly one row (astroquery.alma) that row's DID.
    std::string did;
    std::string malformed;               ///< why the ID cannot be a publisher DID ("" = it can)
    std::string dataproduct_type;        ///< ObsCore dataproduct_type ("" = NULL)
    bool has_file = false;               ///< the store holds a file for it
    std::string file_problem;            ///< why that file cannot be offered now ("" = it can)
    std::int64_t file_bytes = 0;         ///< its size now (stat), when it can be offered
    std::string filename;                ///< its base name (for descriptions)
    std::optional<soda::Bounds> bounds;  ///< what a cutout can cut (none: not cut-able)
    std::vector<RelatedFile> related;    ///< configured files next to it (#auxiliary, #documentation, ...)
    /// DataLink 1.1 sections 3.2.11-12 for every link of the product: "true"
    /// while it is proprietary (its bytes need authentication), "optional"
    /// once released (anonymous or authenticated); whether the caller may
    /// use the links now.
    std::string link_auth = "optional";
    bool authorized = true;
};

/// The rows of one ID and the service descriptor RESOURCEs they reference.
struct IdLinks {
    std::vector<Link> links;
    std::vector<std::string> descriptors;  ///< whole `<RESOURCE type="meta" ...>` elements
};

/// One VOTable PARAM element of a service descriptor (VOTable 1.4 section
/// 4.1, DataLink 1.1 section 4.1): attributes XML-escaped, empty ones left
/// out (`value` always written); `values` is inner XML (e.g. a VALUES
/// element), `ref` the ID of the FIELD whose values it takes.
std::string descriptor_param(const std::string& name, const std::string& datatype, const std::string& arraysize,
                             const std::string& value, const std::string& ucd, const std::string& unit,
                             const std::string& xtype, const std::string& description, const std::string& values = "",
                             const std::string& ref = "");

/// Percent-encodes `text` for a URL query value or path segment (RFC 3986
/// section 2.1: everything but the unreserved characters).
std::string percent_encode(const std::string& text);

/// The download URL of a product file: `{base_url}/datalink/file?ID=<DID,
/// percent-encoded>` (served by send_product_file).
std::string file_url(const std::string& base_url, const std::string& did);

/// The URL of a preview: `{base_url}/datalink/preview?ID=<DID>&KIND=<kind>`
/// (kind: obscore::preview_kinds()), served by send_preview.
std::string preview_url(const std::string& base_url, const std::string& did, const std::string& kind);

/// Sends the preview PNG `kind` of dataset `id` (its obs_publisher_did),
/// making the product's previews first when they are not on disk yet (in
/// `previews_dir`, named by a hash of the DID and the file's size and
/// mtime, so a changed file gets new previews). Unknown ID or a kind the
/// product has not: 404 DALI error; data that cannot be read: 500 naming
/// the reason (the rest of the server is unaffected).
/// `admit` (if set) decides, once the product is found, whether the caller
/// may have it (issue 12 item 3; it replies 401/403 itself).
void send_preview(const obscore::ProductLookup& store, const std::string& previews_dir, const std::string& id,
                  const std::string& kind, ResponseChannel& channel, const AdmitProduct& admit = {});

/// True when a SODA cutout can cut something of the product (SODA 1.0
/// section 3.3): a celestial footprint (POS, CIRCLE, POLYGON), a spectral
/// axis (BAND) or a STOKES axis with more than one state (POL).
bool has_cutable_axes(const soda::Bounds& bounds);

/// A SODA service descriptor (DataLink 1.1 section 4, SODA 1.0 section 4.2)
/// with XML ID `xml_id`: standardID ivo://ivoa.net/std/SODA#sync-1.0 and
/// accessURL {base}/soda/sync, or with `async` #async-1.0 and {base}/soda/async;
/// inputParams: ID with the value `did`; POS, CIRCLE (VALUES MAX = the covering
/// circle, ICRS degrees) and POLYGON (MAX = the footprint) when the product
/// has a footprint; BAND (metres, vacuum; MIN em_min, MAX em_max) with a
/// spectral axis; TIME (MJD; MIN, MAX) when known; POL with the product's
/// Stokes states as OPTIONs when it has a STOKES axis.
std::string soda_service_descriptor(const std::string& xml_id, bool async, const std::string& base_url,
                                    const std::string& did, const soda::Bounds& bounds);

/// The links of one ID (DataLink 1.1 section 3.2), `index` making the XML IDs
/// of its descriptors unique in the document ("soda-sync-<index>",
/// "soda-async-<index>"):
/// - malformed ID: one #this row, error_message "UsageFault: ...";
/// - unknown ID: one #this row, "NotFoundFault: ...";
/// - known, no file: one #this row, "FatalFault: ... has no file ...";
/// - file that cannot be read now: one #this row "FatalFault: ..." with the
///   content_type, no cutout;
/// - otherwise #this (access_url = file_url, content_type application/fits
///   or application/gzip for .gz files, content_length = file_bytes,
///   content_qualifier from dataproduct_type) and, when bounds has cut-able
///   axes, two #cutout rows referencing the SODA sync and async descriptors.
IdLinks build_links(const std::string& id, const ProductInfo& product, const std::string& base_url, std::size_t index);

/// The {links} VOTable (DataLink 1.1 section 3.3.1): RESOURCE type="results"
/// with INFO standardID = kDataLinkStandardId and QUERY_STATUS OK, the table
/// of every column of Table 1 (TABLEDATA) with the rows of `ids` in order,
/// after the table INFO QUERY_STATUS OVERFLOW when `overflow` (DALI 1.1
/// section 4.4.1), then the referenced service descriptors.
std::string links_document(const std::vector<IdLinks>& ids, bool overflow);

/// A checked {links} request (DataLink 1.1 section 2.1).
struct DataLinkRequest {
    std::vector<std::string> ids;  ///< distinct ID values in order of first appearance, at most the limit
    bool overflow = false;         ///< more distinct IDs were given than `max_ids`
};

/// Reads ID (every value, duplicates answered once so that one ID's rows stay
/// together) and RESPONSEFORMAT (section 2.1.2: absent, "votable",
/// "application/x-votable+xml" or "text/xml", MIME parameters such as
/// content=datalink ignored). Throws ParamError naming RESPONSEFORMAT for any
/// other value.
DataLinkRequest parse_datalink_request(const DaliParams& params, int max_ids);

/// Looks one ID up on the calling (worker) thread: the ObsCore row, the
/// product file (stat for its real size) and soda::describe_bounds. Store
/// failures propagate (obscore::StoreError); file and FITS problems are
/// recorded in the result (file_problem, no bounds) and logged.
/// `collections`: the configuration's, for the related files of each product.
/// `rights` (if set): the caller's rights, for link_auth and link_authorized.
ProductInfo describe_product(const obscore::ProductLookup& store, const std::string& id,
                             const std::vector<CollectionConfig>& collections = {}, const RightsOf& rights = {});

/// The service descriptor of this {links} endpoint for a TAP result
/// (DataLink 1.1 section 4.5): RESOURCE type="meta" utype="adhoc:service"
/// with standardID kDataLinkStandardId, accessURL {base}/datalink/sync,
/// contentType kDataLinkMime, inputParams ID with ref=`field_id` (the XML ID
/// of the obs_publisher_did FIELD).
std::string datalink_service_descriptor(const std::string& base_url, const std::string& field_id);

/// VOSI 1.1 capabilities of {base}/datalink: the {links} capability (DataLink
/// 1.1 section 2.2) at {base}/datalink/sync, VOSI capabilities and availability.
std::string datalink_capabilities_document(const Config& config);

/// Answers a request for a product file by ID on the calling (worker)
/// thread: unknown ID or a dataset without file -> 404 DALI error
/// "NotFoundFault: ..."; otherwise send_file (server/file_response.hpp) with
/// Content-Disposition attachment; filename="<base name>", ETag,
/// Last-Modified, Accept-Ranges and single Range requests (206, 416).
/// `file_index` > 0: the related file of that index (related_files; FILE=
/// of its URL) instead of the product, 404 when it does not exist.
/// `admit` (if set) decides, once the product is found and before any byte
/// (also of a related file or a Range), whether the caller may have it.
void send_product_file(const obscore::ProductLookup& store, const std::string& id, const std::string& range,
                       const std::string& if_range, ResponseChannel& channel,
                       const std::vector<CollectionConfig>& collections = {}, std::size_t file_index = 0,
                       const AdmitProduct& admit = {});

}  // namespace vo::server
