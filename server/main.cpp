// voserver: the command line (CLI11). `voserver --help` lists every subcommand.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

#include "adql/adql.hpp"
#include "fits/cfitsio_open.hpp"
#include "obscore/backend.hpp"
#include "obscore/demo.hpp"
#include "obscore/ingest.hpp"
#include "obscore/pg_store.hpp"
#include "obscore/store.hpp"
#include "obscore/writer.hpp"
#include "server/app.hpp"
#include "server/config.hpp"
#include "server/query.hpp"
#include "server/users.hpp"
#include "votable/writer.hpp"

namespace fs = std::filesystem;
using namespace vo;

namespace {

/// A command-line failure: printed as "voserver: MESSAGE", exit status 1.
struct CliError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

server::Config load(const std::string& path) {
    return server::load_config(path.empty() ? server::default_config_path() : path);
}

/// The options of ingesting `collection` under `config` (access_url needs
/// no base URL: it is completed at query time by the server answering).
obscore::IngestOptions ingest_options(const server::Config& config, const std::string& collection) {
    obscore::IngestOptions o;
    o.collection = collection;
    o.authority = config.archive.authority;
    o.max_decompressed_bytes = config.limits.max_gzip_bytes;
    for (const auto& c : config.collections) {
        if (c.name != collection) continue;
        o.calib_level = c.calib_level;
        o.facility_name = c.facility_name;
        o.instrument_name = c.instrument_name;
        o.proprietary_months = c.proprietary_months;
        o.release_date_keyword = c.release_date_keyword;
    }
    o.extension_columns = config.archive.extension_columns;
    return o;
}

/// The configured store ([archive] database: a SQLite path or a PostgreSQL
/// URL) opened for writing (obscore/writer.hpp).
std::unique_ptr<obscore::ArchiveWriter> open_store_for_write(const server::Config& config) {
    if (!obscore::is_postgresql_url(config.archive.database)) {
        const fs::path db(config.archive.database);
        if (db.has_parent_path()) fs::create_directories(db.parent_path());
    }
    return obscore::open_archive_writer(config.archive.database, config.archive.extension_columns);
}

void print_summary(const obscore::IngestSummary& summary, const std::string& collection);

/// Runs one ingest and prints one line per skipped file and a summary; after
/// a store failure, the summary so far and then CliError.
obscore::IngestSummary run_ingest(obscore::ArchiveWriter& store, const std::vector<std::string>& paths,
                                  const obscore::IngestOptions& options) {
    obscore::IngestSummary summary;
    try {
        summary = obscore::ingest(store, paths, options, [](const obscore::IngestEvent& e) {
            if (!e.ingested) std::cout << "skipped " << e.path << ": " << e.reason << "\n";
        });
    } catch (const obscore::IngestAborted& e) {
        // the store failed: what was committed stays; say so, with the summary so far
        print_summary(e.summary(), options.collection);
        throw CliError(std::string("ingest stopped: ") + e.what());
    }
    print_summary(summary, options.collection);
    return summary;
}

/// Prints "collection NAME: ingested n, skipped m (k x reason; ...)".
void print_summary(const obscore::IngestSummary& summary, const std::string& collection) {
    std::map<std::string, int> reasons;
    for (const auto& e : summary.events)
        if (!e.ingested) ++reasons[e.reason];
    std::cout << "collection " << collection << ": ingested " << summary.ingested << ", skipped " << summary.skipped;
    if (!reasons.empty()) {
        std::cout << " (";
        bool first = true;
        for (const auto& [reason, n] : reasons) {
            std::cout << (first ? "" : "; ") << n << " x " << reason;
            first = false;
        }
        std::cout << ")";
    }
    std::cout << std::endl;
}

/// Writes `port` and a newline to `path` atomically (a temporary file renamed),
/// so that a reader never sees a partial number.
void write_port_file(const std::string& path, unsigned short port) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << port << "\n";
        f.close();
        if (!f) throw CliError("--port-file: cannot write " + tmp);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw CliError("--port-file: cannot rename " + tmp + " to " + path + ": " + ec.message());
}

/// `voserver serve`: once connections are accepted, prints
/// "voserver listening on http://HOST:PORT" on stdout and, with `port_file`,
/// writes the bound port there (how a test harness learns the port of
/// `--port 0`); serves until SIGINT/SIGTERM.
int cmd_serve(const std::string& config_path, std::optional<int> port, const std::string& port_file) {
    // Issue 14: glibc's defaults (heap trimmed above 128 KiB free at its top,
    // a threshold that moves with every freed mmap) made each small TAP
    // result give its pages back (madvise) and fault them in again on the
    // next: 13% of the server's time at 5,000 requests/s. Fixed thresholds:
    // up to 4 MiB stays free at the top of each arena, blocks below 4 MiB
    // (the 256 KiB result chunks, small cutouts built whole, up to 2 MiB)
    // come from the arenas: with 1 MiB, each 1.1 MB cutout was a fresh mmap
    // whose pages faulted in on every request (SODA (b) 3.7 -> 9 ms CPU).
    // Larger buffers still use mmap, and the SODA lane trims after large
    // cutouts.
    ::mallopt(M_TRIM_THRESHOLD, 4 << 20);
    ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
    // votable/'s FITS result writer creates files with CFITSIO from the
    // query workers but may not use fits/'s open wrappers (include arrows).
    vo::fits::prepare_cfitsio_for_threads();
    auto config = load(config_path);
    if (port) {
        if (*port < 0 || *port > 65535) throw CliError("--port must be between 0 and 65535");
        config.server.port = *port;
    }
    if (config.archive.query_database == config.archive.database &&
        !obscore::is_postgresql_url(config.archive.database) && !fs::exists(config.archive.database))
        throw CliError("the store " + config.archive.database +
                       " does not exist: run `voserver build-demo` or `voserver ingest` first");
    if (!port_file.empty()) fs::remove(port_file);  // never leave a stale port for a reader to find
    server::App app(config);
    const unsigned short bound = app.start();
    const auto& live = app.config();  // the bound port, and the URLs derived from it
    spdlog::info("voserver serving {} ({}) on {}:{}, TAP at {}/tap", live.archive.title, live.archive.database,
                 live.server.host, bound, live.base_url());
    std::cout << "voserver listening on http://" << live.server.host << ":" << bound << std::endl;
    if (!port_file.empty()) write_port_file(port_file, bound);
    app.wait(true);
    if (!port_file.empty()) {
        std::error_code ec;
        fs::remove(port_file, ec);
    }
    return 0;
}

int cmd_ingest(const std::vector<std::string>& paths, std::string collection, const std::string& config_path) {
    const auto config = load(config_path);
    if (collection.empty()) {
        if (config.collections.size() == 1)
            collection = config.collections.front().name;
        else
            throw CliError("ingest: --collection NAME is required (the configuration has " +
                           std::to_string(config.collections.size()) + " collections)");
    }
    for (const auto& p : paths)
        if (!fs::exists(p)) throw CliError("ingest: no such file or directory: " + p);
    const auto options = ingest_options(config, collection);
    auto store = open_store_for_write(config);
    run_ingest(*store, paths, options);
    return 0;
}

obscore::DemoOptions demo_options(const server::Config& config) {
    obscore::DemoOptions o;
    o.out_dir = config.demo.out_dir;
    o.nx = config.demo.nx;
    o.ny = config.demo.ny;
    o.nchan = config.demo.nchan;
    return o;
}

int cmd_make_demo(const std::string& config_path, std::optional<int> nx, std::optional<int> ny,
                  std::optional<int> nchan, const std::string& out) {
    const auto config = load(config_path);
    auto o = demo_options(config);
    if (nx) o.nx = *nx;
    if (ny) o.ny = *ny;
    if (nchan) o.nchan = *nchan;
    if (!out.empty()) o.out_dir = out;
    const auto files = obscore::make_demo(o, [](const std::string& f) { std::cout << "wrote " << f << "\n"; });
    std::cout << files.size() << " demo cubes in " << o.out_dir << std::endl;
    return 0;
}

/// Issue 12: the demo's proprietary project (obscore/demo.hpp) and its PI
/// account demo-pi / demo-pi (a demo account, said so in the README and in
/// conf/voserver.toml), made once in the users store.
void ensure_demo_account(const server::Config& config) {
    const fs::path db(config.auth.users_database);
    if (db.has_parent_path()) fs::create_directories(db.parent_path());
    server::UserStore users(config.auth.users_database);
    if (!users.directory(0)->user("demo-pi")) {
        users.add_user("demo-pi", "demo-pi", false);
        std::cout << "users: demo account demo-pi (password demo-pi) in " << config.auth.users_database << std::endl;
    }
    users.set_pi(obscore::kProprietaryProject, "demo-pi");
    std::cout << "project " << obscore::kProprietaryProject << " (" << obscore::kProprietaryGalaxy
              << ", proprietary until " << obscore::kProprietaryRelease << "): PI demo-pi" << std::endl;
}

int cmd_build_demo(const std::string& config_path, bool if_missing) {
    const auto config = load(config_path);
    if (if_missing && obscore::is_postgresql_url(config.archive.database)) {
        auto store = open_store_for_write(config);
        if (const long long n = store->count_rows(); n > 0) {
            std::cout << "store " << store->name() << " exists (" << n << " products); nothing to build" << std::endl;
            return 0;
        }
    } else if (if_missing && fs::exists(config.archive.database)) {
        try {
            auto ro = obscore::Store::open_read_only(config.archive.database);
            if (ro->count_rows() > 0) {
                std::cout << "store " << config.archive.database << " exists (" << ro->count_rows()
                          << " products); nothing to build" << std::endl;
                ensure_demo_account(config);
                return 0;
            }
        } catch (const obscore::StoreError&) {
            // not a usable store: rebuild it
        }
    }
    const auto files = obscore::make_demo(demo_options(config));
    std::cout << files.size() << " demo cubes in " << config.demo.out_dir << std::endl;
    auto store = open_store_for_write(config);
    int ingested = 0;
    for (const auto& c : config.collections) {
        std::vector<std::string> dirs;
        for (const auto& d : c.directories) {
            if (fs::exists(d))
                dirs.push_back(d);
            else
                std::cout << "collection " << c.name << ": " << d << " not found, skipped" << std::endl;
        }
        if (dirs.empty()) continue;
        ingested += run_ingest(*store, dirs, ingest_options(config, c.name)).ingested;
    }
    std::cout << "store " << store->name() << ": " << store->count_rows() << " products" << std::endl;
    if (ingested == 0) throw CliError("build-demo: no product was ingested");
    ensure_demo_account(config);
    return 0;
}

/// A password for `voserver users add`: the first line of standard input
/// (prompted for on the terminal). Never a command-line argument, which
/// other users of the machine could read in the process list.
std::string read_password(const std::string& user) {
    if (isatty(0)) std::cerr << "password for " << user << ": " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) throw CliError("users add: no password on standard input");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

/// `voserver users add|remove|list` (issue 12 item 2).
int cmd_users(const std::string& config_path, const std::string& action, const std::string& name, bool staff,
              bool replace) {
    const auto config = load(config_path);
    const fs::path db(config.auth.users_database);
    if (db.has_parent_path()) fs::create_directories(db.parent_path());
    server::UserStore users(config.auth.users_database);
    try {
        if (action == "add") {
            users.add_user(name, read_password(name), staff, replace);
            std::cout << (replace ? "set " : "added ") << name << (staff ? " (archive staff)" : "") << std::endl;
        } else if (action == "remove") {
            users.remove_user(name);
            std::cout << "removed " << name << std::endl;
        } else {
            const auto d = users.directory(0);
            for (const auto& [n, u] : d->users) {
                std::cout << n << (u.staff ? "\tstaff" : "\t-");
                std::string projects;
                for (const auto& p : d->projects_of(n)) projects += (projects.empty() ? "" : ",") + p;
                std::cout << "\t" << (projects.empty() ? "-" : projects) << "\n";
            }
        }
    } catch (const server::UsersError& e) {
        throw CliError("users " + action + ": " + e.what());
    }
    return 0;
}

/// `voserver projects set-pi|delegate|undelegate|list` (issue 12 item 2).
int cmd_projects(const std::string& config_path, const std::string& action, const std::string& project,
                 const std::string& user, const std::string& by) {
    const auto config = load(config_path);
    server::UserStore users(config.auth.users_database);
    try {
        if (action == "set-pi") {
            users.set_pi(project, user);
            std::cout << "project " << project << ": PI " << user << std::endl;
        } else if (action == "delegate") {
            users.delegate(project, user, by);
            std::cout << "project " << project << ": delegate " << user << std::endl;
        } else if (action == "undelegate") {
            if (!users.undelegate(project, user, by)) throw CliError(user + " is no delegate of project " + project);
            std::cout << "project " << project << ": " << user << " is no longer a delegate" << std::endl;
        } else {
            const auto d = users.directory(0);
            for (const auto& [id, p] : d->projects) {
                std::string delegates;
                for (const auto& u : p.delegates) delegates += (delegates.empty() ? "" : ",") + u;
                std::cout << id << "\tPI " << (p.pi.empty() ? "-" : p.pi) << "\tdelegates "
                          << (delegates.empty() ? "-" : delegates) << "\n";
            }
        }
    } catch (const server::UsersError& e) {
        throw CliError("projects " + action + ": " + e.what());
    }
    return 0;
}

/// `voserver pg-load`: publishes the configured SQLite store into the
/// PostgreSQL + pgSphere database at `url` (default: [archive] postgresql),
/// replacing what an earlier load published (obscore/pg_store.hpp; issue
/// 11). Prints one line per step, the last "loaded N rows into URL in X s"
/// (URL without password). No store, no URL, or a database that cannot be
/// reached or refuses a step: CliError naming the store or URL (exit 1);
/// the database then keeps its previous content.
int cmd_pg_load(const std::string& config_path, std::string url) {
    const auto config = load(config_path);
    if (url.empty()) url = config.archive.postgresql;
    if (url.empty()) throw CliError("pg-load: no database: give --database URL or set [archive] postgresql");
    if (obscore::is_postgresql_url(config.archive.database))
        throw CliError(
            "pg-load publishes a SQLite store, and [archive] database is already a PostgreSQL database "
            "(`voserver ingest` writes into it directly)");
    if (!fs::exists(config.archive.database))
        throw CliError("pg-load: the store " + config.archive.database +
                       " does not exist: run `voserver build-demo` or `voserver ingest` first");
    try {
        obscore::load_into_postgres(config.archive.database, url,
                                    [](const std::string& line) { std::cout << line << std::endl; });
    } catch (const obscore::StoreError& e) {
        throw CliError(std::string("pg-load: ") + e.what());
    }
    return 0;
}

int cmd_adql_check(const std::vector<std::string>& udf_forms) {
    std::vector<adql::UdfDecl> udfs;
    for (const auto& f : udf_forms) {
        try {
            udfs.push_back(adql::parse_udf_decl(f));
        } catch (const adql::AdqlError& e) {
            throw CliError("adql-check: bad --udf \"" + f + "\": " + e.what());
        }
    }
    const std::string query((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (auto error = adql::check_syntax(query, udfs)) {
        std::cout << *error << std::endl;
        return 1;
    }
    return 0;
}

int cmd_query(const std::string& adql_text, const std::string& format_name, const std::string& config_path,
              std::optional<std::int64_t> maxrec, bool sql_only) {
    const auto config = load(config_path);
    if (sql_only) {  // the query database's SQL, e.g. for its EXPLAIN
        const auto backend = obscore::open_query_backend(config.archive.query_database);
        try {
            std::cout << backend->translate(adql_text, {}).sql << std::endl;
        } catch (const adql::AdqlError& e) {
            throw CliError(std::string("query: ") + e.what());
        }
        return 0;
    }
    const auto format = votable::parse_format(format_name);
    if (!format) throw CliError("query: unknown --format " + format_name + " (votable, csv, tsv)");
    obscore::set_public_base_url(config.base_url());  // access_url as the configured server would give it
    server::QueryEngine engine(config.archive.query_database);
    server::QueryRequest q;
    q.adql = adql_text;
    q.format = *format;
    q.maxrec = maxrec.value_or(config.limits.maxrec_hard);
    if (q.maxrec < 0) throw CliError("query: --maxrec must not be negative");
    q.infos.push_back({"QUERY", adql_text});
    try {
        const auto outcome =
            engine.run(q, {}, [](std::string_view chunk) { std::fwrite(chunk.data(), 1, chunk.size(), stdout); });
        std::fflush(stdout);
        if (outcome.overflow) std::cerr << "voserver: result cut at MAXREC=" << q.maxrec << " rows" << std::endl;
    } catch (const adql::AdqlError& e) {
        throw CliError(std::string("query: ") + e.what());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"voserver: publishes FITS data products through IVOA TAP 1.1 / ADQL 2.1 / ObsCore 1.1"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "voserver 0.1.0");

    std::string config_path;
    const std::string config_help = "configuration file (default: conf/voserver.toml)";

    auto* serve = app.add_subcommand("serve", "serve the archive over HTTP (TAP, VOSI, landing page)");
    std::optional<int> port;
    serve->add_option("--config", config_path, config_help);
    serve->add_option("--port", port, "listen port (overrides [server] port; 0 = a free port chosen by the system)");
    std::string port_file;
    serve->add_option("--port-file", port_file, "once listening, write the bound port to this file (for --port 0)");

    auto* ingest = app.add_subcommand("ingest", "ingest FITS files or directories into the ObsCore store");
    std::vector<std::string> paths;
    std::string collection;
    ingest->add_option("paths", paths, "FITS files (.fits, .fit, .fits.gz) or directories searched recursively")
        ->required();
    ingest->add_option("--collection", collection, "obs_collection of the products (a [[collection]] name)");
    ingest->add_option("--config", config_path, config_help);

    auto* make_demo = app.add_subcommand("make-demo", "write the PHANGS-MUSE-format demo cubes");
    std::optional<int> nx, ny, nchan;
    std::string out;
    make_demo->add_option("--config", config_path, config_help);
    make_demo->add_option("--nx", nx, "spaxels along RA")->check(CLI::Range(1, 4096));
    make_demo->add_option("--ny", ny, "spaxels along Dec")->check(CLI::Range(1, 4096));
    make_demo->add_option("--nchan", nchan, "spectral channels")->check(CLI::Range(1, 3681));
    make_demo->add_option("--out", out, "output directory (default: [demo] out_dir)");

    auto* build_demo = app.add_subcommand("build-demo", "make-demo, then ingest every configured collection");
    bool if_missing = false;
    build_demo->add_option("--config", config_path, config_help);
    build_demo->add_flag("--if-missing", if_missing, "do nothing when the store already holds products");

    auto* pg_load =
        app.add_subcommand("pg-load", "publish the store into PostgreSQL + pgSphere (replaces an earlier load)");
    std::string pg_url;
    pg_load->add_option("--config", config_path, config_help);
    pg_load->add_option("--database", pg_url,
                        "libpq URL, e.g. postgresql://voserver_writer@127.0.0.1:54329/voserver "
                        "(default: [archive] postgresql)");

    auto* adql_check =
        app.add_subcommand("adql-check", "check the ADQL 2.1 syntax of one query read on stdin (exit 0 when valid)");
    std::vector<std::string> udfs;
    adql_check->add_option("--udf", udfs, "declare a UDF, e.g. 'ivo_hasword(a TEXT, b TEXT) -> INTEGER' (repeatable)");

    auto* query = app.add_subcommand("query", "run one ADQL query on the local store, result on stdout");
    std::string adql_text, format = "votable";
    std::optional<std::int64_t> maxrec;
    query->add_option("adql", adql_text, "the ADQL query")->required();
    query->add_option("--format", format, "votable (default), csv or tsv");
    query->add_option("--maxrec", maxrec, "rows at most (default: [limits] maxrec_hard)");
    query->add_option("--config", config_path, config_help);
    bool sql_only = false;
    query->add_flag("--sql", sql_only, "print the SQL the query database would run, do not run it");

    // issue 12 item 2: users, projects and delegations
    auto* users_cmd = app.add_subcommand("users", "manage the users store (accounts, passwords, archive staff)");
    users_cmd->require_subcommand(1);
    std::string user_name;
    bool staff = false, replace = false;
    auto* users_add = users_cmd->add_subcommand("add", "add a user; the password is read from standard input");
    users_add->add_option("name", user_name, "user name (letters, digits, . _ @ + -)")->required();
    users_add->add_flag("--staff", staff, "archive staff: may read every product before its release");
    users_add->add_flag("--replace", replace, "set the password (and staff flag) of an existing user");
    auto* users_remove = users_cmd->add_subcommand("remove", "remove a user and their delegations");
    users_remove->add_option("name", user_name, "user name")->required();
    auto* users_list = users_cmd->add_subcommand("list", "list users, staff flags and readable projects");
    for (auto* c : {users_add, users_remove, users_list}) c->add_option("--config", config_path, config_help);

    auto* projects_cmd = app.add_subcommand("projects", "manage projects: PIs and their delegates");
    projects_cmd->require_subcommand(1);
    std::string project_id, by;
    auto* set_pi = projects_cmd->add_subcommand("set-pi", "set the PI of a project (its proposal_id)");
    auto* delegate = projects_cmd->add_subcommand("delegate", "give a user access to a whole project");
    auto* undelegate = projects_cmd->add_subcommand("undelegate", "withdraw a delegate's access");
    auto* projects_list = projects_cmd->add_subcommand("list", "list projects, PIs and delegates");
    for (auto* c : {set_pi, delegate, undelegate}) {
        c->add_option("project", project_id, "the project's proposal_id")->required();
        c->add_option("user", user_name, "user name")->required();
    }
    for (auto* c : {delegate, undelegate})
        c->add_option("--by", by, "act as this user (the PI; a delegate may not delegate further)");
    for (auto* c : {set_pi, delegate, undelegate, projects_list}) c->add_option("--config", config_path, config_help);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        if (*serve) return cmd_serve(config_path, port, port_file);
        if (*ingest) return cmd_ingest(paths, collection, config_path);
        if (*make_demo) return cmd_make_demo(config_path, nx, ny, nchan, out);
        if (*build_demo) return cmd_build_demo(config_path, if_missing);
        if (*pg_load) return cmd_pg_load(config_path, pg_url);
        if (*adql_check) return cmd_adql_check(udfs);
        if (*query) return cmd_query(adql_text, format, config_path, maxrec, sql_only);
        if (*users_cmd)
            return cmd_users(config_path,
                             *users_add      ? "add"
                             : *users_remove ? "remove"
                                             : "list",
                             user_name, staff, replace);
        if (*projects_cmd)
            return cmd_projects(config_path,
                                *set_pi       ? "set-pi"
                                : *delegate   ? "delegate"
                                : *undelegate ? "undelegate"
                                              : "list",
                                project_id, user_name, by);
    } catch (const std::exception& e) {
        std::cerr << "voserver: " << e.what() << std::endl;
        return 1;
    }
    return 1;
}
