// Ingest straight into PostgreSQL + pgSphere (obscore/pg_writer.hpp).
#include "obscore/pg_writer.hpp"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_set>

#include "adql/sql_writer.hpp"
#include "obscore/backend.hpp"
#include "obscore/pg_backend.hpp"
#include "obscore/pg_session.hpp"
#include "obscore/pg_store.hpp"
#include "obscore/store.hpp"

namespace vo::obscore {

namespace {

namespace fs = std::filesystem;
constexpr auto quote_ident = adql::SqlWriter::quote_ident;
constexpr auto quote_literal = adql::SqlWriter::quote_string;

/// The temporary table a transaction's rows are streamed into (COPY) before
/// the merge: the published columns of ivoa.obscore, the row's voserver.files
/// columns and its arrival number (the last upsert of a DID wins).
constexpr const char* kStage = "voserver_ingest_rows";
constexpr const char* kFileColumns[] = {"path", "size_bytes", "mtime", "image_hdus"};
constexpr const char* kSeqColumn = "voserver_seq";

/// The table a direct load (PgWriter::decide_mode) copies the rows into
/// before it replaces ivoa.obscore; made and renamed in one transaction.
constexpr const char* kDirectTableName = "obscore_direct_load";
constexpr const char* kDirectTable = "voserver.obscore_direct_load";

/// A merge at least this many rows, into a table holding fewer rows than it
/// brings, is a bulk load: the secondary indexes are dropped before it and
/// built again after it, in the same transaction (one sort per index instead
/// of one insertion per row and index).
constexpr long long kBulkMinRows = 1;

/// COPY data goes to the server in chunks of about this many bytes.
constexpr std::size_t kCopyChunk = std::size_t{1} << 20;

/// Appends `text` as a field of COPY's text format (PostgreSQL 15 manual,
/// COPY, "Text Format"): backslash, tab, newline and carriage return escaped.
void append_text(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            default: out += c;
        }
    }
}

/// Appends a value as a COPY text field; NULL is \N, and so are NaN and
/// the infinities (the SQLite store keeps them as NULL too).
void append_value(std::string& out, const ExtraValue& value) {
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                out += "\\N";
            } else if constexpr (std::is_same_v<T, std::string>) {
                append_text(out, v);
            } else if constexpr (std::is_same_v<T, double>) {
                if (!std::isfinite(v)) {
                    out += "\\N";
                } else {
                    char buf[32];
                    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form
                    out.append(buf, r.ptr);
                }
            } else {
                out += std::to_string(v);
            }
        },
        value);
}

class PgWriter final : public ArchiveWriter {
public:
    PgWriter(const std::string& url, const std::vector<ExtensionColumn>& extension_columns)
        : url_(url), pg_(std::make_unique<PgSession>(url, "voserver ingest")) {
        if (pg_->value("SELECT to_regclass('ivoa.obscore') IS NULL", "look for ivoa.obscore") == "t") {
            pg_.reset();
            create_layout(extension_columns);
            pg_ = std::make_unique<PgSession>(url, "voserver ingest");
        }
        // temp_buffers: the staging table's pages stay in memory up to this
        // size (the default 8 MB spills a 100,000-row merge to temporary files)
        pg_->exec("SET client_encoding = 'UTF8'; SET temp_buffers = '256MB'", "set up the session");
        columns_ = obscore_columns();
        for (const auto& c : extension_columns) {
            columns_.push_back(c.def);
            // computed from the stored rows after the upserts: a re-ingested
            // row keeps its value until then (as in the SQLite store)
            if (!c.adql.empty() || c.data_rights) derived_.insert(c.def.name);
        }
        check_columns();
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const auto& name = columns_[i].name;
            column_list_ += (column_list_.empty() ? "" : ", ") + quote_ident(name);
            if (name == "s_region") region_index_ = i;
        }
        // the spatial companions (pg_store.hpp): written here unless the
        // layout computes them (STORED GENERATED, layouts before the writers
        // filled them)
        fill_companions_ =
            pg_->value(std::string("SELECT count(*) FROM pg_attribute WHERE attrelid = 'ivoa.obscore'::regclass AND "
                                   "NOT attisdropped AND attgenerated = '' AND attname IN ('") +
                           kPgPointColumn + "', '" + kPgRegionColumn + "')",
                       "look for the spatial companion columns") == "2";
        if (fill_companions_) column_list_ += std::string(", ") + kPgPointColumn + ", " + kPgRegionColumn;
        backend_ = open_pg_query_backend(url);
    }

    std::string name() const override { return pg_->where(); }

    void begin() override {
        try {
            // synchronous_commit off: a crash may lose the last commits (an
            // ingest run again restores them), never leaves a partial one
            pg_->exec(
                "BEGIN; SET LOCAL client_min_messages = warning; SET LOCAL synchronous_commit = off; "
                "SELECT pg_advisory_xact_lock(" +
                    std::string(kPgLoadLockKey) + ")",
                "begin", PGRES_TUPLES_OK);
            // The staging table has the columns of ivoa.obscore, those of
            // voserver.files and the arrival number.
            std::string files;
            for (const char* c : kFileColumns) files += std::string(", f.") + c + " AS voserver_file_" + c;
            pg_->exec(std::string("CREATE TEMP TABLE IF NOT EXISTS ") + kStage + " AS SELECT o.*" + files +
                          ", 0::bigint AS " + kSeqColumn +
                          " FROM ivoa.obscore AS o CROSS JOIN voserver.files AS f WITH NO DATA; TRUNCATE " + kStage,
                      "create the staging table");
        } catch (...) {
            pg_->rollback();
            throw;
        }
        in_transaction_ = true;
    }

    void upsert(const ObsCoreRecord& r, const ProductFile& file) override {
        if (r.obs_publisher_did.empty()) throw StoreError("a row needs an obs_publisher_did");
        if (!in_transaction_) throw StoreError("store " + pg_->where() + ": upsert outside begin()/commit()");
        if (mode_ == Mode::undecided) decide_mode();
        std::string region;
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            if (i) chunk_ += '\t';
            const auto& c = columns_[i];
            ExtraValue v;
            if (c.value) {
                v = c.value(r);
            } else {
                const auto it = r.extra.find(c.name);
                if (it != r.extra.end()) v = it->second;
            }
            if (i == region_index_)
                if (const auto* text = std::get_if<std::string>(&v)) region = *text;
            append_value(chunk_, v);
        }
        if (fill_companions_) {
            const auto point = pg_point_text(r.s_ra, r.s_dec);
            chunk_ += '\t';
            chunk_ += point ? *point : "\\N";
            const auto bound = region.empty() ? std::nullopt : pg_bound_text(region);
            chunk_ += '\t';
            chunk_ += bound ? *bound : "\\N";
        }
        // the voserver.files columns: after the row's in the staging table,
        // a line of their own (DID first) in a direct load
        std::string& files = mode_ == Mode::direct ? file_lines_ : chunk_;
        if (mode_ == Mode::direct) {
            chunk_ += '\n';
            append_text(files, r.obs_publisher_did);
        }
        files += '\t';
        append_text(files, file.path);
        files += '\t' + std::to_string(file.size_bytes) + '\t' + std::to_string(file.mtime) + '\t';
        std::string hdus;
        for (int h : file.image_hdus) hdus += (hdus.empty() ? "" : ",") + std::to_string(h);
        append_text(files, hdus);
        if (mode_ == Mode::direct)
            files += '\n';
        else
            chunk_ += '\t' + std::to_string(staged_) + '\n';
        ++staged_;
        if (!seen_.insert(r.obs_publisher_did).second) duplicates_ = true;
        if (chunk_.size() >= kCopyChunk) send_chunk();
        if (file_lines_.size() >= kCopyChunk) spill_file_lines();
    }

    void commit() override {
        if (!in_transaction_) return;
        try {
            flush();
            pg_->exec(std::string("UPDATE voserver.meta SET value = ((value)::bigint + 1)::text WHERE key = "
                                  "'data_version'; NOTIFY ") +
                          kPgDataVersionChannel + "; COMMIT",
                      "commit");
        } catch (...) {
            abandon();
            throw;
        }
        in_transaction_ = false;
    }

    const adql::Catalog& catalog() const override { return backend_->catalog(); }

    long long count_rows() const override {
        const std::string n = pg_->value("SELECT count(*) FROM ivoa.obscore", "count the rows");
        long long v = 0;
        std::from_chars(n.data(), n.data() + n.size(), v);
        return v;
    }

    void update_derived_columns(const std::vector<ExtensionColumn>& columns, const std::string& collection,
                                std::time_t now) override {
        try {
            flush();
            std::string select = "SELECT obs_publisher_did";
            std::vector<const ExtensionColumn*> derived;
            for (const auto& c : columns) {
                if (c.adql.empty()) continue;
                select += ", (" + c.adql + ") AS " + quote_ident(c.def.name);
                derived.push_back(&c);
            }
            if (!derived.empty()) {
                adql::Translation t;
                try {
                    t = backend_->translate(
                        select + " FROM ivoa.obscore WHERE obs_collection = " + adql::string_literal(collection), {});
                } catch (const adql::AdqlError&) {
                    check_extension_expressions(catalog(), columns);  // throws naming the column
                    throw;
                }
                std::string set;
                for (const auto* c : derived) {
                    const std::string n = quote_ident(c->def.name);
                    set += (set.empty() ? "" : ", ") + n + " = d." + n;
                }
                pg_->exec("UPDATE ivoa.obscore AS o SET " + set + " FROM (" + t.sql +
                              ") AS d WHERE o.obs_publisher_did = d.obs_publisher_did",
                          "evaluate the extension columns");
            }
            for (const auto& c : columns) {
                if (!c.data_rights) continue;
                pg_->exec(
                    "UPDATE ivoa.obscore SET " + quote_ident(c.def.name) +
                        " = CASE WHEN obs_release_date IS NULL OR obs_release_date <= " + quote_literal(iso_utc(now)) +
                        " THEN 'Public' ELSE 'Proprietary' END WHERE obs_collection = " + quote_literal(collection),
                    "compute " + c.def.name);
            }
        } catch (...) {
            abandon();
            throw;
        }
    }

private:
    /// Sends the rows gathered in chunk_ into the COPY of the staging table,
    /// starting it with the first rows of a merge: the rows stream to the
    /// server while the caller makes the next ones.
    void send_chunk() {
        try {
            if (!copying_) {
                std::string files;
                for (const char* c : kFileColumns) files += std::string(", voserver_file_") + c;
                pg_->exec(mode_ == Mode::direct
                              ? std::string("COPY ") + kDirectTable + " (" + column_list_ + ") FROM STDIN"
                              : std::string("COPY ") + kStage + " (" + column_list_ + files + ", " + kSeqColumn +
                                    ") FROM STDIN",
                          "COPY the rows", PGRES_COPY_IN);
                copying_ = true;
            }
            pg_->put_copy_data(chunk_, "COPY the rows");
            chunk_.clear();
        } catch (...) {
            abandon();
            throw;
        }
    }

    /// Ends the COPY; a direct load (decide_mode()) then copies the file rows
    /// and builds the indexes (finish_direct_load()). Otherwise merges the
    /// staged rows into the published tables:
    /// INSERT ... ON CONFLICT (obs_publisher_did) DO UPDATE, the last upsert
    /// of a DID winning. A bulk load (at least kBulkMinRows rows into a table
    /// holding fewer) drops the secondary indexes first and builds them
    /// again after the merge (then ANALYZE), all in the open transaction:
    /// readers wait for its commit (the DROP locks the table) and never see
    /// the table without its indexes or half merged.
    void flush() {
        if (!chunk_.empty()) send_chunk();
        const Mode mode = mode_;
        mode_ = Mode::undecided;
        if (!copying_) {
            if (mode == Mode::direct) finish_direct_load();  // the indexes come back even without rows
            return;
        }
        copying_ = false;
        const long long n = pg_->end_copy("COPY the rows");
        if (n != staged_)
            throw StoreError("store " + pg_->where() + ": COPY the rows: " + std::to_string(n) + " rows stored of " +
                             std::to_string(staged_) + " sent");
        if (mode == Mode::direct) return finish_direct_load();
        const long long rows = static_cast<long long>(seen_.size());
        // the table's rows, counted up to the size of the load, and whether
        // voserver.files has any
        auto counted = pg_->exec(
            "SELECT count(*), EXISTS (SELECT 1 FROM voserver.files) FROM (SELECT 1 FROM "
            "ivoa.obscore LIMIT " +
                std::to_string(rows) + ") AS t",
            "count rows", PGRES_TUPLES_OK);
        const long long existing = std::stoll(PQgetvalue(counted.get(), 0, 0));
        const bool files_empty = std::string_view(PQgetvalue(counted.get(), 0, 1)) == "f";
        const bool bulk = rows >= kBulkMinRows && existing < rows;
        std::vector<std::string> rebuild;
        if (bulk) rebuild = drop_indexes();
        std::string updates;
        for (const auto& c : columns_)
            if (c.name != "obs_publisher_did" && !derived_.count(c.name))
                updates += (updates.empty() ? "" : ", ") + quote_ident(c.name) + " = EXCLUDED." + quote_ident(c.name);
        if (fill_companions_)
            for (const char* c : {kPgPointColumn, kPgRegionColumn})
                updates += std::string(", ") + c + " = EXCLUDED." + c;
        // the last upsert of each DID (ON CONFLICT may not touch a row twice)
        const std::string from = duplicates_ ? std::string("(SELECT DISTINCT ON (obs_publisher_did) * FROM ") + kStage +
                                                   " ORDER BY obs_publisher_did, " + kSeqColumn + " DESC) AS s"
                                             : std::string(kStage) + " AS s";
        std::string file_list = "obs_publisher_did", file_values = "obs_publisher_did", file_updates;
        for (const char* c : kFileColumns) {
            file_list += std::string(", ") + c;
            file_values += std::string(", voserver_file_") + c;
            file_updates += (file_updates.empty() ? "" : ", ") + std::string(c) + " = EXCLUDED." + c;
        }
        pg_->exec("INSERT INTO ivoa.obscore (" + column_list_ + ") SELECT " + column_list_ + " FROM " + from +
                      // into an empty table nothing conflicts (and a plain INSERT is half the work)
                      (existing == 0 ? std::string() : " ON CONFLICT (obs_publisher_did) DO UPDATE SET " + updates) +
                      "; INSERT INTO voserver.files (" + file_list + ") SELECT " + file_values + " FROM " + from +
                      (files_empty ? std::string() : " ON CONFLICT (obs_publisher_did) DO UPDATE SET " + file_updates) +
                      "; TRUNCATE " + kStage,
                  "merge the rows into ivoa.obscore");
        if (bulk) build_indexes(rebuild, "ivoa.obscore");
        end_merge();
    }

    /// The indexes of ivoa.obscore (`unique`: the unique one too, first):
    /// the result's rows are (name, CREATE INDEX statement).
    PgResult index_definitions(bool unique) {
        return pg_->exec(
            std::string("SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index AS i JOIN pg_class AS c ON "
                        "c.oid = i.indexrelid WHERE i.indrelid = 'ivoa.obscore'::regclass") +
                (unique ? "" : " AND NOT i.indisunique") + " ORDER BY i.indisunique DESC, c.relname",
            "read the indexes", PGRES_TUPLES_OK);
    }

    /// The statements that make the secondary (not unique) indexes of
    /// ivoa.obscore, after dropping them.
    std::vector<std::string> drop_indexes() {
        auto r = index_definitions(false);
        std::string drop;
        std::vector<std::string> rebuild;
        for (int i = 0; i < PQntuples(r.get()); ++i) {
            drop +=
                (drop.empty() ? "DROP INDEX " : ", ") + std::string("ivoa.") + quote_ident(PQgetvalue(r.get(), i, 0));
            rebuild.push_back(PQgetvalue(r.get(), i, 1));
        }
        if (!drop.empty()) pg_->exec(drop, "drop the indexes for a bulk load");
        return rebuild;
    }

    /// Runs the index `statements` (drop_indexes(), decide_mode()), then
    /// ANALYZE `table`.
    void build_indexes(const std::vector<std::string>& statements, const std::string& table) {
        pg_->exec("SET LOCAL maintenance_work_mem = '256MB'", "set maintenance_work_mem");
        for (const auto& sql : statements) pg_->exec(sql, "build an index after a bulk load");
        pg_->exec("ANALYZE " + table, "analyze " + table);
    }

    /// The end of a merge: nothing staged.
    void end_merge() {
        staged_ = 0;
        seen_.clear();
        duplicates_ = false;
    }

    /// At the first upsert of a merge: a direct load when ivoa.obscore and
    /// voserver.files are empty, else the merge through the staging table.
    /// A direct load copies the rows straight into a new table,
    /// kDirectTable, made like ivoa.obscore without indexes (no staging
    /// table, no INSERT, no index maintenance per row); at its end
    /// (finish_direct_load()) that table gets ivoa.obscore's indexes and
    /// replaces it. Readers keep querying the empty ivoa.obscore until the
    /// swap, then wait for the commit.
    void decide_mode() {
        auto r =
            pg_->exec("SELECT NOT EXISTS (SELECT 1 FROM ivoa.obscore) AND NOT EXISTS (SELECT 1 FROM voserver.files)",
                      "look for rows", PGRES_TUPLES_OK);
        mode_ = std::string_view(PQgetvalue(r.get(), 0, 0)) == "t" ? Mode::direct : Mode::staged;
        if (mode_ != Mode::direct) return;
        pg_->exec(std::string("CREATE TABLE ") + kDirectTable +
                      " (LIKE ivoa.obscore INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING STORAGE)",
                  "create the table of a direct load");
        // ivoa.obscore's indexes, made on the new table
        auto defs = index_definitions(true);
        const std::string on = " ON ivoa.obscore ";
        for (int i = 0; i < PQntuples(defs.get()); ++i) {
            std::string sql = PQgetvalue(defs.get(), i, 1);
            const auto at = sql.find(on);
            if (at == std::string::npos) throw StoreError("store " + pg_->where() + ": unexpected index: " + sql);
            direct_rebuild_.push_back(sql.replace(at, on.size(), std::string(" ON ") + kDirectTable + " "));
        }
    }

    /// Appends file_lines_ to the spill file (made at the first call).
    void spill_file_lines() {
        if (!file_spill_) {
            file_spill_.reset(std::tmpfile());
            if (!file_spill_) throw StoreError("store " + pg_->where() + ": cannot make a temporary file");
        }
        if (std::fwrite(file_lines_.data(), 1, file_lines_.size(), file_spill_.get()) != file_lines_.size())
            throw StoreError("store " + pg_->where() + ": cannot write a temporary file");
        file_lines_.clear();
    }

    /// The end of a direct load: of the rows of a DID that came more than
    /// once, the last kept; the voserver.files rows copied (from the spill
    /// file and file_lines_), ivoa.obscore's indexes built on
    /// kDirectTable, ANALYZE, then kDirectTable replaces ivoa.obscore (its
    /// table privileges granted again), all in the open transaction.
    void finish_direct_load() {
        // a DID that came more than once: the last row wins. Rows copied
        // into a new table lie in the order they came (ctid), so the earlier
        // ones are those with a smaller ctid.
        if (duplicates_)
            pg_->exec(std::string("DELETE FROM ") + kDirectTable + " AS a USING " + kDirectTable +
                          " AS b WHERE a.obs_publisher_did = b.obs_publisher_did AND a.ctid < b.ctid",
                      "keep the last row of each DID");
        std::string files = "obs_publisher_did";
        for (const char* c : kFileColumns) files += std::string(", ") + c;
        const char* files_stage = "voserver_ingest_files";
        if (duplicates_)
            pg_->exec(std::string("CREATE TEMP TABLE ") + files_stage + " (LIKE voserver.files) ON COMMIT DROP",
                      "create the staging table of the file rows");
        pg_->exec(std::string("COPY ") + (duplicates_ ? files_stage : "voserver.files") + " (" + files + ") FROM STDIN",
                  "COPY the file rows", PGRES_COPY_IN);
        copying_ = true;
        if (file_spill_) {
            std::rewind(file_spill_.get());
            std::string buf(kCopyChunk, '\0');
            while (const std::size_t got = std::fread(buf.data(), 1, buf.size(), file_spill_.get()))
                pg_->put_copy_data(buf.substr(0, got), "COPY the file rows");
            file_spill_.reset();
        }
        pg_->put_copy_data(file_lines_, "COPY the file rows");
        file_lines_.clear();
        copying_ = false;
        pg_->end_copy("COPY the file rows");
        if (duplicates_)
            pg_->exec("INSERT INTO voserver.files (" + files + ") SELECT DISTINCT ON (obs_publisher_did) " + files +
                          " FROM " + files_stage + " ORDER BY obs_publisher_did, ctid DESC; DROP TABLE " + files_stage,
                      "keep the last file row of each DID");
        build_indexes(direct_rebuild_, kDirectTable);
        direct_rebuild_.clear();
        // the grants of ivoa.obscore (the reader role's SELECT), given again
        auto acl = pg_->exec(
            "SELECT a.privilege_type, a.grantee::regrole::text FROM pg_class AS c, aclexplode(c.relacl) AS a "
            "WHERE c.oid = 'ivoa.obscore'::regclass AND a.grantee <> c.relowner AND a.grantee <> 0",
            "read the grants of ivoa.obscore", PGRES_TUPLES_OK);
        std::string swap = std::string("DROP TABLE ivoa.obscore; ALTER TABLE ") + kDirectTable +
                           " SET SCHEMA ivoa; ALTER TABLE ivoa." + kDirectTableName + " RENAME TO obscore";
        for (int i = 0; i < PQntuples(acl.get()); ++i)
            swap += std::string("; GRANT ") + PQgetvalue(acl.get(), i, 0) + " ON ivoa.obscore TO " +
                    PQgetvalue(acl.get(), i, 1);
        pg_->exec(swap, "publish the rows of a direct load");
        end_merge();
    }

    /// After a failure: the COPY, the transaction and the staged rows are dropped.
    void abandon() {
        if (copying_) pg_->abort_copy("voserver: the ingest failed");
        copying_ = false;
        pg_->rollback();
        chunk_.clear();
        file_lines_.clear();
        file_spill_.reset();
        direct_rebuild_.clear();
        mode_ = Mode::undecided;
        end_merge();
        in_transaction_ = false;
    }

    /// Every column the configuration declares must be in ivoa.obscore.
    void check_columns() {
        auto r = pg_->exec(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'ivoa' AND table_name = "
            "'obscore'",
            "read the columns of ivoa.obscore", PGRES_TUPLES_OK);
        std::set<std::string> have;
        for (int i = 0; i < PQntuples(r.get()); ++i) have.insert(PQgetvalue(r.get(), i, 0));
        for (const auto& c : columns_)
            if (!have.count(c.name))
                throw StoreError("store " + pg_->where() + ": ivoa.obscore has no column " + c.name +
                                 ", which the configuration declares; publish the changed columns with `voserver "
                                 "pg-load` (it rebuilds the layout)");
    }

    /// The layout of an empty store: an empty SQLite store with these
    /// columns, published by load_into_postgres().
    void create_layout(const std::vector<ExtensionColumn>& extension_columns) {
        static std::atomic<int> counter{0};
        const fs::path dir = fs::temp_directory_path() /
                             ("voserver-pg-layout-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(dir);
        try {
            const std::string path = (dir / "empty.sqlite").string();
            Store::open_for_write(path, column_defs(extension_columns)).reset();
            load_into_postgres(path, url_);
        } catch (...) {
            std::error_code ec;
            fs::remove_all(dir, ec);
            throw;
        }
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    std::string url_;
    std::unique_ptr<PgSession> pg_;
    std::vector<ColumnDef> columns_;
    std::set<std::string> derived_;  // extension columns computed by update_derived_columns()
    std::string column_list_;
    std::unique_ptr<QueryBackend> backend_;
    std::size_t region_index_ = static_cast<std::size_t>(-1);  // s_region in columns_
    bool fill_companions_ = false;          // the layout's companion columns are written by this writer
    std::string chunk_;                     // COPY lines not sent yet
    bool copying_ = false;                  // the COPY into kStage is open
    long long staged_ = 0;                  // rows sent into kStage by this merge
    std::unordered_set<std::string> seen_;  // their DIDs
    bool duplicates_ = false;               // a DID came twice
    bool in_transaction_ = false;
    /// How the current merge reaches ivoa.obscore (decide_mode()).
    enum class Mode { undecided, staged, direct } mode_ = Mode::undecided;
    std::string file_lines_;  // direct load: voserver.files COPY lines not spilled yet
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, FileCloser> file_spill_;  // direct load: the earlier file lines
    std::vector<std::string> direct_rebuild_;            // direct load: the indexes to build at its end
};

}  // namespace

std::unique_ptr<ArchiveWriter> open_pg_archive_writer(const std::string& url,
                                                      const std::vector<ExtensionColumn>& extension_columns) {
    return std::make_unique<PgWriter>(url, extension_columns);
}

}  // namespace vo::obscore
