// voserver configuration: the TOML file (conf/voserver.toml) as a struct.
//
// Relative paths in the file (archive.database, demo.out_dir, collection
// directories) are resolved against the directory of the configuration file,
// so that a configuration means the same whatever the working directory.
#pragma once

#include "obscore/profile.hpp"
#include "server/auth.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vo::server {

/// A configuration error: unknown key, bad value, unreadable file. The message
/// names the file and the key (e.g. "conf/voserver.toml: limits.maxrec_hard:
/// must be a positive integer").
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// [server]: where to listen and how the service is seen from outside.
struct ServerConfig {
    std::string host = "127.0.0.1";  ///< listen address
    int port = 8080;                 ///< listen port (1..65535; 0 = ephemeral, for tests)
    /// Public base URL without trailing '/', from which every published URL
    /// derives (DESIGN.md "One source of truth"). Empty in the file = derived
    /// from host and port ("http://{host}:{port}"), also after --port; with
    /// port 0, from the port bound (App::start updates `port`).
    std::string base_url;
    bool base_url_explicit = false;
    /// Addresses of the load balancers / reverse proxies in front of this
    /// server (e.g. ["127.0.0.1"]; kept in normalized_address() form): for a
    /// request from one of them, the client is the right-most
    /// X-Forwarded-For address that is not itself a trusted proxy, which is
    /// what per-client limits count (the access log shows the connection's
    /// address). Requests from other addresses never have X-Forwarded-For
    /// believed (it is the client's to forge).
    std::vector<std::string> trusted_proxies;
    int threads = 2;        ///< I/O threads (network only)
    int query_workers = 4;  ///< threads running SQLite queries
    /// Threads that run only queries the planner estimates cheap (and any
    /// query for at most `limits.express_seconds` before its first row), so
    /// that short queries are answered while heavy ones hold every query
    /// worker (issue 7 item 2).
    int express_workers = 1;
    int soda_workers = 2;           ///< threads computing SODA cutouts (their own pool)
    int async_workers = 2;          ///< UWS jobs (TAP async) running at once, on a pool of their own
    int read_timeout_seconds = 30;  ///< per read of a request
    /// A client that reads nothing of its response for this long is
    /// disconnected (and the worker producing it freed).
    int write_timeout_seconds = 120;
    /// Directory of the response spool files (absolute; "" = $TMPDIR, else
    /// /tmp); see HttpOptions::spool_dir.
    std::string spool_dir;
    /// CORS: origins whose pages may read responses ({"*"} any, [] none);
    /// see HttpOptions::cors_origins.
    std::vector<std::string> cors_origins{"*"};
    /// The access log: "" = the process log (standard output, with the other
    /// messages), "-" = standard output alone, else a file (absolute) that is
    /// reopened on SIGHUP (logrotate) and rotated at access_log_max_bytes.
    std::string access_log;
    std::int64_t access_log_max_bytes = 0;  ///< 0 = no size-based rotation
    int access_log_keep = 5;                ///< rotated files kept (FILE.1 ... FILE.n)
    /// The browser portal's files served under /portal/ (absolute; issue 13):
    /// `web_dir` in the file, relative to it; default "../web" beside the
    /// configuration file's folder (the repository's web/). "" = no portal.
    std::string web_dir;
    /// URL prefix of a Sesame-style name resolver that the portal asks for
    /// a searched name matching no target_name of the archive (the name is
    /// appended percent-encoded; the answer holds a Sesame `%J ra dec` line).
    /// "" = none: names are matched against target_name only. Published to
    /// the page in /portal/config.json.
    std::string name_resolver;
};

/// [demo]: the generated PHANGS-MUSE collection (`voserver make-demo`).
struct DemoConfig {
    std::string out_dir;  ///< absolute; where the cubes are written
    int nx = 40, ny = 40, nchan = 3681;
};

/// [archive]: who publishes and where the store is.
struct ArchiveConfig {
    std::string authority = "voserver.example";  ///< IVOA authority (no ivo://)
    std::string title = "voserver archive";
    std::string description;
    std::string database;  ///< absolute path of the SQLite store (what ingest writes)
    /// What queries read (TAP, SIAv2, DataLink, SODA look-ups): `database`
    /// (the default), or a `postgresql://` URL of the PostgreSQL store that
    /// `voserver pg-load` publishes the SQLite store into (issue 11), read
    /// as its reader role.
    std::string query_database;
    /// The PostgreSQL database `voserver pg-load` publishes the store into
    /// (a libpq URL such as "postgresql://voserver_writer@127.0.0.1:54329/voserver";
    /// obscore/pg_store.hpp); "" = not configured.
    std::string postgresql;
    /// UWS job store (SQLite, WAL) and the directory of job results; both
    /// default to files beside `database` (jobs.sqlite, results/).
    /// `jobs_database` may be a `postgresql://` URL (writer role): the job
    /// store then lives in schemas `uws` and `uws_soda` of that database and
    /// several instances share it (a job created through one is polled,
    /// waited on, aborted and fetched through any other); `results_dir`
    /// must then be a directory they all see (issue 11 item 4).
    std::string jobs_database;
    std::string results_dir;
    /// Preview PNGs kept once made (obscore/preview.hpp); default previews/
    /// beside `database`.
    std::string previews_dir;
    /// Profile files (`profiles = ["profiles/alma.toml"]`, relative to the
    /// configuration file) and the extension columns of ivoa.obscore they
    /// declare, in order (obscore/profile.hpp; read by load_profile()).
    std::vector<std::string> profiles;
    std::vector<obscore::ExtensionColumn> extension_columns;
};

/// A file kept next to each product of a collection and offered in its
/// DataLink links (`[[collection.link]]`; DataLink 1.1 section 3.2.4
/// semantics such as #auxiliary, #calibration, #documentation, #progenitor).
struct CollectionLink {
    std::string semantics;  ///< "#auxiliary", ... (a core term with '#', or a full URI)
    /// The file's name in the product's directory, "{stem}" standing for the
    /// product's obs_id (its file name without FITS extensions), e.g.
    /// "{stem}_weights.fits" or "README.txt". No '/' (never outside that directory).
    std::string pattern;
    std::string description;
    std::string content_type;  ///< "" = from the file name
};

/// One [[collection]]: a set of product directories ingested under one
/// obs_collection name.
struct CollectionConfig {
    std::string name;
    std::vector<std::string> directories;  ///< absolute paths
    std::string description;
    std::optional<int> calib_level;  ///< 0..4 (ObsCore 1.1 section 3.3.7)
    std::optional<std::string> facility_name;
    std::optional<std::string> instrument_name;
    /// Proprietary period (issue 12 item 1): obs_release_date = the end of
    /// the observation (t_max, else t_min) + this many months (ALMA: 12);
    /// 0 = public at once; unset: NULL (public).
    std::optional<int> proprietary_months;
    /// A FITS keyword holding the release date (ISO 8601 date or date-time);
    /// when a product's header has it, it wins over proprietary_months.
    std::string release_date_keyword;
    /// The rows of this collection are themselves protected (issue 12 item
    /// 3): before their release date no TAP, SIAv2 or DataLink query of
    /// someone without rights to the project sees, counts or joins them.
    bool metadata_protected = false;
    /// Files next to each product offered as DataLink rows.
    std::vector<CollectionLink> links;
};

/// [limits]: published in the TAPRegExt capabilities (TAPRegExt 1.0 section 2.6).
struct LimitsConfig {
    std::int64_t maxrec_default = 10000;                ///< rows when MAXREC is absent
    std::int64_t maxrec_hard = 10000000;                ///< larger MAXREC values are lowered to this
    int max_query_seconds = 600;                        ///< a query running longer is interrupted
    std::int64_t max_request_bytes = 16 * 1024 * 1024;  ///< request body limit (uploads)
    int retention_seconds = 86400;           ///< default time from job creation to destruction (UWS DESTRUCTION)
    int max_retention_seconds = 30 * 86400;  ///< later DESTRUCTION requests are lowered to this
    int async_default_seconds = 3600;        ///< EXECUTIONDURATION of an async job when the client gives none
    int async_max_seconds = 4 * 3600;        ///< larger EXECUTIONDURATION requests are lowered to this
    int max_wait_seconds = 60;               ///< UWS WAIT=-1 and longer waits are capped to this
    int max_waiting_clients = 1000;          ///< blocked WAIT requests at once (503 beyond)
    std::int64_t results_quota_bytes = std::int64_t{20} * 1024 * 1024 * 1024;  ///< all async results together
    int max_queued_queries = 64;  ///< queries waiting for a worker beyond this get 503
    /// Issue 7: bounded work per request. Each is named in the error a
    /// client gets when a request exceeds it.
    int max_sync_seconds = 60;                   ///< execution limit of /tap/sync (capped by max_query_seconds)
    int express_seconds = 2;                     ///< time an express worker gives a query before its first row
    double express_max_cost = 1e6;               ///< planner estimate (rows visited) up to which a query is express
    int max_queries_per_client = 8;              ///< concurrent queries and cutouts of one client address (429 beyond)
    std::int64_t max_query_bytes = 1024 * 1024;  ///< ADQL text (adql::QueryLimits::max_query_bytes)
    int max_query_depth = 128;                   ///< ADQL syntax tree depth (adql::QueryLimits::max_depth)
    std::int64_t max_query_nodes = 100000;       ///< ADQL syntax tree nodes (adql::QueryLimits::max_nodes)
    std::int64_t max_cell_bytes = 16 * 1024 * 1024;  ///< one result value (obscore::BackendLimits::max_cell_bytes)
    /// Heap of all store connections of the process (obscore::set_process_memory_limit).
    std::int64_t query_memory_bytes = std::int64_t{4} * 1024 * 1024 * 1024;
    std::int64_t query_cache_bytes = 4 * 1024 * 1024;  ///< translation cache of one query worker
    /// Largest decompressed size of a .fits.gz at ingest (obscore::IngestOptions::max_decompressed_bytes).
    std::int64_t max_gzip_bytes = std::int64_t{16} * 1024 * 1024 * 1024;
    /// Request target (URL path and query) limit; longer gets 414 (RFC 9110
    /// section 15.5.15). TAP sync GET queries are long: at least 64 KiB.
    std::int64_t max_url_bytes = 64 * 1024;
    /// Request header fields limit (all together); more gets 431 (RFC 6585 section 5).
    std::int64_t max_header_bytes = 64 * 1024;
    /// Per streamed response, body bytes kept on disk for a client that reads
    /// slower than the result is produced (0 = none: the worker waits).
    std::int64_t spool_bytes_per_response = std::int64_t{1} << 30;
    /// The same across all responses at once.
    std::int64_t spool_bytes_total = std::int64_t{4} << 30;
    /// TAP uploads (TAP 1.1 section 2.5; TAPRegExt 1.0 section 2.7 uploadLimit):
    /// one uploaded VOTable, inline or fetched (inline ones are also bounded
    /// by max_request_bytes), its rows, and the time to fetch one by URL.
    std::int64_t max_upload_bytes = 16 * 1024 * 1024;
    std::int64_t max_upload_rows = 100000;
    int upload_fetch_seconds = 30;
    /// DataLink 1.1 section 2.1.1: ID values one {links} request processes;
    /// beyond, the response ends with the DALI OVERFLOW INFO (never within
    /// the links of one ID).
    int max_datalink_ids = 1000;
};

/// The whole configuration.
struct Config {
    std::string source;  ///< the file it was read from ("" for defaults)
    ServerConfig server;
    ArchiveConfig archive;
    DemoConfig demo;
    std::vector<CollectionConfig> collections;
    LimitsConfig limits;
    /// [auth] and [auth.jwt]: users store, failed-login limits, audit log,
    /// bearer tokens (server/auth.hpp).
    AuthConfig auth;

    /// The base URL in effect (explicit, or derived from host and port).
    std::string base_url() const;
};

/// Reads a profile file (TOML): `[[column]]` tables with name (an ADQL
/// regular identifier, not an ObsCore column), datatype (char, int, long,
/// short, boolean, double, float; the ADQL type follows), and optional
/// arraysize, unit, ucd, utype, description, principal, indexed, std (an
/// optional ObsCore column, TAP_SCHEMA std = 1; default false), and the
/// value sources keywords (array of FITS keywords), default (string,
/// integer or float), adql (an ADQL value expression over ivoa.obscore),
/// derive = "data_rights" (obscore::ExtensionColumn). Throws ConfigError
/// naming the file and the key.
std::vector<obscore::ExtensionColumn> load_profile(const std::string& path);

/// Reads and checks a configuration file. Unknown keys or sections and values
/// of the wrong type or range are errors naming the key. Throws ConfigError.
Config load_config(const std::string& path);

/// `text` as an IP address in one canonical text form (IPv6 compressed and
/// lower case, an IPv4-mapped IPv6 address as plain IPv4), "" when it is not
/// an IP address. What trusted_proxies and client addresses are compared in.
std::string normalized_address(const std::string& text);

/// Parses configuration text; `path` is used in messages and to resolve
/// relative paths (its directory; the working directory if `path` is empty).
Config parse_config(const std::string& text, const std::string& path);

/// The default configuration file: $VOSERVER_CONFIG if set, else
/// ./conf/voserver.toml if it exists, else ../conf/voserver.toml relative to
/// the executable (build/voserver -> conf/voserver.toml of the repository).
std::string default_config_path();

}  // namespace vo::server
