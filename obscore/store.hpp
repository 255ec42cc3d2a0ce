// The embedded ObsCore store: one SQLite file holding ivoa.obscore, TAP_SCHEMA
// 1.1 and the (private) product-file table (DESIGN.md "Storage").
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/backend.hpp"
#include "obscore/columns.hpp"
#include "obscore/record.hpp"
#include "obscore/writer.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace vo::obscore {

/// Physical names in the SQLite file of the ADQL tables.
inline constexpr const char* kObsCoreTable = "ivoa_obscore";

class SpatialIndexWriter;

/// A connection to the store: for ingestion (writes), and read-only inside the
/// SQLite query backend (obscore/sqlite_backend.cpp); the server reads
/// through QueryBackend (obscore/backend.hpp).
///
/// Layout: `ivoa_obscore` (one row per product, columns from obscore_columns()
/// plus configured extension columns, unique obs_publisher_did, and a private
/// INTEGER PRIMARY KEY voserver_row_id), `ivoa_obscore_s2` (the spatial index,
/// obscore/spatial_index.hpp), the
/// `tap_schema_{schemas,tables,columns,keys,key_columns}` tables of TAP 1.1
/// section 4 (published as TAP_SCHEMA.schemas etc.), and `voserver_files`
/// (obs_publisher_did -> file path, size, mtime, image HDUs).
class Store final : public ProductLookup, public ArchiveWriter {
public:
    ~Store() override;
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// Opens the store for ingestion, creating the file and its schema if
    /// needed and (re)writing TAP_SCHEMA from `extension_columns` +
    /// obscore_columns(). Throws StoreError.
    static std::unique_ptr<Store> open_for_write(const std::string& path,
                                                 const std::vector<ColumnDef>& extension_columns = {});

    /// Opens the store read-only for queries (SQLITE_OPEN_READONLY, `PRAGMA
    /// query_only`, an authorizer that denies writes) with the ADQL SQL
    /// functions registered. Throws StoreError if the file is missing or is
    /// not a voserver store.
    static std::unique_ptr<Store> open_read_only(const std::string& path);

    /// The store's path (ArchiveWriter).
    std::string name() const override { return path_; }

    /// Inserts the row, or replaces the row with the same obs_publisher_did
    /// (re-ingesting a file updates its row). Throws StoreError.
    void upsert(const ObsCoreRecord& record, const ProductFile& file) override;

    /// Groups upserts into one transaction (much faster for many rows).
    void begin() override;
    void commit() override;

    /// ArchiveWriter: evaluate_derived_columns() on this store.
    void update_derived_columns(const std::vector<ExtensionColumn>& columns, const std::string& collection,
                                std::time_t now) override;

    using ProductLookup::find_dataproduct_type;
    using ProductLookup::find_did_by_obs_id;
    using ProductLookup::find_product;

    /// The product file of a dataset (with its row's obs_collection,
    /// proposal_id, obs_release_date), or nullopt for an unknown ID or one
    /// `visibility` hides (ProductLookup).
    std::optional<ProductFile> find_product(const std::string& obs_publisher_did,
                                            const RowVisibility& visibility) const override;

    /// The dataproduct_type of the ivoa.obscore row of a dataset ("" for
    /// NULL), or nullopt when no row (the caller may see) has this
    /// obs_publisher_did (DataLink: an ID is known even when no file is
    /// stored for it). Throws StoreError.
    std::optional<std::string> find_dataproduct_type(const std::string& obs_publisher_did,
                                                     const RowVisibility& visibility) const override;

    /// The obs_publisher_did of the one row (of those the caller may see)
    /// whose obs_id is `obs_id`, or nullopt when none or several rows have it
    /// (DataLink IDs as astroquery.alma passes them: the obs_id). Throws StoreError.
    std::optional<std::string> find_did_by_obs_id(const std::string& obs_id,
                                                  const RowVisibility& visibility) const override;

    /// The tables published through TAP_SCHEMA, read from TAP_SCHEMA itself.
    const adql::Catalog& catalog() const override;

    /// Number of rows in ivoa.obscore.
    long long count_rows() const override;

    /// TAP_SCHEMA.keys with their key_columns (TAP 1.1 section 4.4), in
    /// key_id order; empty when the store declares none.
    std::vector<ForeignKey> foreign_keys() const;

    /// Rows of ivoa.obscore per obs_collection that `visibility` lets a
    /// caller see (default: every row). Throws StoreError.
    std::map<std::string, long long> collection_counts(const RowVisibility& visibility = {}) const;

    /// On a read-only store: true when another connection (an ingest) has
    /// committed since the last call or since the store was opened (SQLite's
    /// `PRAGMA data_version`); the catalogue is then reloaded from
    /// TAP_SCHEMA, so references to the old catalog() become invalid. Cheap
    /// (one prepared PRAGMA) when nothing changed. Throws StoreError.
    bool refresh_if_changed();

    /// On a read-only store: lets (true) or stops letting (false) the
    /// connection write, for the TEMP tables of uploads (obscore/upload_table.hpp)
    /// only; the store's own tables stay read-only (SQLITE_OPEN_READONLY).
    /// Throws StoreError.
    void allow_temp_writes(bool allow);

    /// The raw connection (owned by the Store).
    sqlite3* db() const { return db_; }
    const std::string& path() const { return path_; }

private:
    Store(sqlite3* db, std::string path);
    void load_catalog();
    /// " AND <visibility_condition>" over `qualifier`'s columns with the
    /// time of now as a literal, or "" when everything is visible.
    std::string visible_rows(const RowVisibility& visibility, const std::string& qualifier) const;

    sqlite3* db_ = nullptr;
    std::string path_;
    bool temp_writes_ = false;  // read by the read-only authorizer
    // Prepared upsert statements, reused while the column list stays the same.
    std::string upsert_sql_;
    sqlite3_stmt* upsert_stmt_ = nullptr;
    sqlite3_stmt* file_stmt_ = nullptr;
    std::unique_ptr<SpatialIndexWriter> spatial_writer_;  // made by the first upsert
    /// A transaction begun on an empty ivoa_obscore is a bulk load: the
    /// secondary indexes dropped (their statements kept) and no spatial
    /// index entry made per row; finish_bulk_load() (at commit, or before
    /// derived columns are computed) builds the spatial index in bulk
    /// (rebuild_spatial_index) and the indexes again. Readers (WAL) keep
    /// seeing the table as it was until the commit.
    void finish_bulk_load();
    bool bulk_load_ = false;
    std::vector<std::string> bulk_indexes_;
    /// The page cache of a bulk load, KiB (its unique keys' pages kept in
    /// memory), and the connection's own setting it replaces until the end.
    static constexpr long long kBulkLoadCacheKiB = 2LL * 1024 * 1024;
    long long bulk_cache_size_ = -2000;
    std::unique_ptr<adql::Catalog> catalog_;
    sqlite3_stmt* data_version_stmt_ = nullptr;
    long long data_version_ = -1;
};

}  // namespace vo::obscore
