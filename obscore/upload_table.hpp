// Per-request upload tables (TAP 1.1 section 2.5 "TAP_UPLOAD"): a table a
// client sent with its query, visible to that query only, on the query
// connection of the store (DESIGN.md "Storage").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/store.hpp"

namespace vo::obscore {

/// The SQLite RequestTable (obscore/backend.hpp): a TEMP table of a read-only
/// store connection holding one uploaded table; dropped when this object
/// goes. Columns are stored as INTEGER (boolean, unsignedByte, short, int,
/// long), REAL (float, double) or TEXT (everything else, arrays as their
/// space-separated TABLEDATA text) under physical names c1..cN; `info()`
/// gives the ADQL names and metadata. Not thread-safe: it belongs to the
/// query that created it, on the connection's thread. The query backend
/// (obscore/sqlite_backend.cpp) makes them; tests may call create() directly.
class UploadTable final : public RequestTable {
public:
    ~UploadTable() override;
    UploadTable(const UploadTable&) = delete;
    UploadTable& operator=(const UploadTable&) = delete;

    /// Adds one row: a cell per column. Throws StoreError.
    void insert(const std::vector<UploadCell>& row) override;
    /// Ends the insertion (commits). Throws StoreError.
    void finish() override;
    /// The table as the ADQL translator sees it: schema TAP_UPLOAD, the name
    /// the client gave, the physical TEMP table name.
    const adql::TableInfo& info() const override { return info_; }
    std::int64_t rows() const override { return rows_; }

    /// Creates the TEMP table `name` (an ADQL regular identifier, checked by
    /// the caller) with `columns` (name, datatype, arraysize, unit, ucd, ...;
    /// `physical` is ignored) on `store`, which must be a read-only query
    /// store. Writes are allowed on the connection's temp database only from
    /// create() to finish(), and while the table is dropped. Throws StoreError
    /// (including two columns whose names differ only in case).
    static std::unique_ptr<UploadTable> create(Store& store, const std::string& name,
                                               std::vector<adql::ColumnInfo> columns);

private:
    UploadTable(Store& store, std::string physical);
    Store& store_;
    std::string physical_;
    adql::TableInfo info_;
    struct Insert;
    std::unique_ptr<Insert> insert_;
    std::int64_t rows_ = 0;
    bool in_transaction_ = false;
    bool writable_ = false;  ///< temp writes allowed on the store (from create to finish)
};

}  // namespace vo::obscore
