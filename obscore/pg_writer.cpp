// Ingest straight into PostgreSQL + pgSphere (obscore/pg_writer.hpp).
#include "obscore/pg_writer.hpp"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

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

/// The temporary tables a transaction's rows are copied into before the merge.
constexpr const char* kStageRows = "voserver_ingest_obscore";
constexpr const char* kStageFiles = "voserver_ingest_files";

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

/// Rows buffered for one transaction, one COPY line each, the last upsert
/// of a DID replacing an earlier one (ON CONFLICT may not touch a row twice
/// in one statement).
struct Pending {
    std::vector<std::string> lines;
    std::map<std::string, std::size_t> by_did;

    void put(const std::string& did, std::string line) {
        const auto [it, inserted] = by_did.emplace(did, lines.size());
        if (inserted)
            lines.push_back(std::move(line));
        else
            lines[it->second] = std::move(line);
    }
    void clear() {
        lines.clear();
        by_did.clear();
    }
};

class PgWriter final : public ArchiveWriter {
public:
    PgWriter(const std::string& url, const std::vector<ExtensionColumn>& extension_columns)
        : url_(url), pg_(std::make_unique<PgSession>(url, "voserver ingest")) {
        pg_->exec("SET client_encoding = 'UTF8'", "set the client encoding");
        if (pg_->value("SELECT to_regclass('ivoa.obscore') IS NULL", "look for ivoa.obscore") == "t") {
            pg_.reset();
            create_layout(extension_columns);
            pg_ = std::make_unique<PgSession>(url, "voserver ingest");
            pg_->exec("SET client_encoding = 'UTF8'", "set the client encoding");
        }
        columns_ = obscore_columns();
        for (const auto& c : extension_columns) {
            columns_.push_back(c.def);
            // computed from the stored rows after the upserts: a re-ingested
            // row keeps its value until then (as in the SQLite store)
            if (!c.adql.empty() || c.data_rights) derived_.insert(c.def.name);
        }
        check_columns();
        for (const auto& c : columns_) column_list_ += (column_list_.empty() ? "" : ", ") + quote_ident(c.name);
        backend_ = open_pg_query_backend(url);
    }

    std::string name() const override { return pg_->where(); }

    void begin() override {
        try {
            pg_->exec("BEGIN; SET LOCAL client_min_messages = warning; SELECT pg_advisory_xact_lock(" +
                          std::string(kPgLoadLockKey) + ")",
                      "begin", PGRES_TUPLES_OK);
            // The staging tables have the published columns' types (and none of
            // the columns the layout adds for itself, such as index companions).
            pg_->exec(std::string("CREATE TEMP TABLE IF NOT EXISTS ") + kStageRows + " AS SELECT " + column_list_ +
                          " FROM ivoa.obscore WITH NO DATA; CREATE TEMP TABLE IF NOT EXISTS " + kStageFiles +
                          " AS SELECT obs_publisher_did, path, size_bytes, mtime, image_hdus FROM voserver.files "
                          "WITH NO DATA",
                      "create the staging tables");
        } catch (...) {
            pg_->rollback();
            throw;
        }
        in_transaction_ = true;
    }

    void upsert(const ObsCoreRecord& r, const ProductFile& file) override {
        if (r.obs_publisher_did.empty()) throw StoreError("a row needs an obs_publisher_did");
        if (!in_transaction_) throw StoreError("store " + pg_->where() + ": upsert outside begin()/commit()");
        std::string line;
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            if (i) line += '\t';
            const auto& c = columns_[i];
            if (c.value) {
                append_value(line, c.value(r));
            } else {
                const auto it = r.extra.find(c.name);
                append_value(line, it == r.extra.end() ? ExtraValue{} : it->second);
            }
        }
        line += '\n';
        rows_.put(r.obs_publisher_did, std::move(line));

        std::string f;
        append_text(f, r.obs_publisher_did);
        f += '\t';
        append_text(f, file.path);
        f += '\t' + std::to_string(file.size_bytes) + '\t' + std::to_string(file.mtime) + '\t';
        std::string hdus;
        for (int h : file.image_hdus) hdus += (hdus.empty() ? "" : ",") + std::to_string(h);
        append_text(f, hdus);
        f += '\n';
        files_.put(r.obs_publisher_did, std::move(f));
    }

    void commit() override {
        if (!in_transaction_) return;
        try {
            flush();
            pg_->exec("UPDATE voserver.meta SET value = ((value)::bigint + 1)::text WHERE key = 'data_version'; COMMIT",
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
    /// Copies the buffered rows into the staging tables and merges them into
    /// the published ones.
    void flush() {
        if (rows_.lines.empty()) return;
        copy(kStageRows, column_list_, rows_);
        copy(kStageFiles, "obs_publisher_did, path, size_bytes, mtime, image_hdus", files_);
        std::string updates;
        for (const auto& c : columns_)
            if (c.name != "obs_publisher_did" && !derived_.count(c.name))
                updates += (updates.empty() ? "" : ", ") + quote_ident(c.name) + " = EXCLUDED." + quote_ident(c.name);
        pg_->exec("INSERT INTO ivoa.obscore (" + column_list_ + ") SELECT " + column_list_ + " FROM " + kStageRows +
                      " ON CONFLICT (obs_publisher_did) DO UPDATE SET " + updates +
                      "; INSERT INTO voserver.files (obs_publisher_did, path, size_bytes, mtime, image_hdus) "
                      "SELECT obs_publisher_did, path, size_bytes, mtime, image_hdus FROM " +
                      kStageFiles +
                      " ON CONFLICT (obs_publisher_did) DO UPDATE SET path = EXCLUDED.path, size_bytes = "
                      "EXCLUDED.size_bytes, mtime = EXCLUDED.mtime, image_hdus = EXCLUDED.image_hdus; TRUNCATE " +
                      kStageRows + ", " + kStageFiles,
                  "merge the rows into ivoa.obscore");
        rows_.clear();
        files_.clear();
    }

    void copy(const char* table, const std::string& columns, const Pending& pending) {
        const std::string step = std::string("COPY ") + table;
        pg_->exec(step + " (" + columns + ") FROM STDIN", step, PGRES_COPY_IN);
        std::string chunk;
        try {
            for (const auto& line : pending.lines) {
                chunk += line;
                if (chunk.size() >= (std::size_t{1} << 20)) {
                    pg_->put_copy_data(chunk, step);
                    chunk.clear();
                }
            }
            pg_->put_copy_data(chunk, step);
        } catch (...) {
            pg_->abort_copy("voserver: sending the rows failed");
            throw;
        }
        const long long n = pg_->end_copy(step);
        if (n != static_cast<long long>(pending.lines.size()))
            throw StoreError("store " + pg_->where() + ": " + step + ": " + std::to_string(n) + " rows stored of " +
                             std::to_string(pending.lines.size()) + " sent");
    }

    /// After a failure: the transaction and its buffered rows are dropped.
    void abandon() {
        pg_->rollback();
        rows_.clear();
        files_.clear();
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
    Pending rows_, files_;
    bool in_transaction_ = false;
};

}  // namespace

std::unique_ptr<ArchiveWriter> open_pg_archive_writer(const std::string& url,
                                                      const std::vector<ExtensionColumn>& extension_columns) {
    return std::make_unique<PgWriter>(url, extension_columns);
}

}  // namespace vo::obscore
