// voserver configuration: the TOML file (conf/voserver.toml) as a struct.
//
// Relative paths in the file (archive.database, demo.out_dir, collection
// directories) are resolved against the directory of the configuration file,
// so that a configuration means the same whatever the working directory.
#pragma once

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
    /// from host and port ("http://{host}:{port}"), also after --port.
    std::string base_url;
    bool base_url_explicit = false;
    int threads = 2;                 ///< I/O threads (network only)
    int query_workers = 4;           ///< threads running SQLite queries
    int read_timeout_seconds = 30;   ///< per read of a request
    /// A client that reads nothing of its response for this long is
    /// disconnected (and the worker producing it freed).
    int write_timeout_seconds = 120;
    /// Directory of the response spool files (absolute; "" = $TMPDIR, else
    /// /tmp); see HttpOptions::spool_dir.
    std::string spool_dir;
    /// The access log: "" = the process log (standard output, with the other
    /// messages), "-" = standard output alone, else a file (absolute) that is
    /// reopened on SIGHUP (logrotate) and rotated at access_log_max_bytes.
    std::string access_log;
    std::int64_t access_log_max_bytes = 0;  ///< 0 = no size-based rotation
    int access_log_keep = 5;                ///< rotated files kept (FILE.1 ... FILE.n)
};

/// [demo]: the generated PHANGS-MUSE collection (`voserver make-demo`).
struct DemoConfig {
    std::string out_dir;   ///< absolute; where the cubes are written
    int nx = 40, ny = 40, nchan = 3681;
};

/// [archive]: who publishes and where the store is.
struct ArchiveConfig {
    std::string authority = "voserver.example";  ///< IVOA authority (no ivo://)
    std::string title = "voserver archive";
    std::string description;
    std::string database;  ///< absolute path of the SQLite store
};

/// One [[collection]]: a set of product directories ingested under one
/// obs_collection name.
struct CollectionConfig {
    std::string name;
    std::vector<std::string> directories;  ///< absolute paths
    std::string description;
    std::optional<int> calib_level;        ///< 0..4 (ObsCore 1.1 section 3.3.7)
    std::optional<std::string> facility_name;
    std::optional<std::string> instrument_name;
};

/// [limits]: published in the TAPRegExt capabilities (TAPRegExt 1.0 section 2.6).
struct LimitsConfig {
    std::int64_t maxrec_default = 10000;    ///< rows when MAXREC is absent
    std::int64_t maxrec_hard = 10000000;    ///< larger MAXREC values are lowered to this
    int max_query_seconds = 600;            ///< a query running longer is interrupted
    std::int64_t max_request_bytes = 16 * 1024 * 1024;  ///< request body limit (uploads)
    int retention_seconds = 86400;          ///< result retention (async, later)
    int max_queued_queries = 64;            ///< queries waiting for a worker beyond this get 503
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
};

/// The whole configuration.
struct Config {
    std::string source;  ///< the file it was read from ("" for defaults)
    ServerConfig server;
    ArchiveConfig archive;
    DemoConfig demo;
    std::vector<CollectionConfig> collections;
    LimitsConfig limits;

    /// The base URL in effect (explicit, or derived from host and port).
    std::string base_url() const;
};

/// Reads and checks a configuration file. Unknown keys or sections and values
/// of the wrong type or range are errors naming the key. Throws ConfigError.
Config load_config(const std::string& path);

/// Parses configuration text; `path` is used in messages and to resolve
/// relative paths (its directory; the working directory if `path` is empty).
Config parse_config(const std::string& text, const std::string& path);

/// The default configuration file: $VOSERVER_CONFIG if set, else
/// ./conf/voserver.toml if it exists, else ../conf/voserver.toml relative to
/// the executable (build/voserver -> conf/voserver.toml of the repository).
std::string default_config_path();

}  // namespace vo::server
