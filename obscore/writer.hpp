// The writer side of the storage backend (issue 8 item 2; issue 11 item 3):
// what `voserver ingest` and `voserver build-demo` write ObsCore rows
// through, whichever store holds them. The SQLite store (obscore/store.hpp)
// and the PostgreSQL + pgSphere store (obscore/pg_writer.cpp) implement it;
// obscore/ingest.hpp writes through it only.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/profile.hpp"
#include "obscore/record.hpp"

namespace vo::obscore {

/// A store opened for writing. Rows are written between begin() and
/// commit(); what a commit makes visible is seen by queries in one piece
/// (and a running server's catalogue follows the store's data_version).
/// Every method throws StoreError (obscore/backend.hpp) on a store failure,
/// naming the store (a path, or a URL without its password).
class ArchiveWriter {
public:
    virtual ~ArchiveWriter() = default;

    /// The store for messages: the SQLite path or the PostgreSQL URL without
    /// its password.
    virtual std::string name() const = 0;

    /// Starts a transaction.
    virtual void begin() = 0;

    /// Inserts the row of `record`, or replaces the row with the same
    /// obs_publisher_did (ObsCore 1.1 section 4.7: the publisher DID is the
    /// row's identity; re-ingesting a file updates its row), and records
    /// where its product lives. Inside begin()/commit().
    virtual void upsert(const ObsCoreRecord& record, const ProductFile& file) = 0;

    /// Commits the rows written since begin().
    virtual void commit() = 0;

    /// The tables the store publishes (TAP_SCHEMA, TAP 1.1 section 4), for
    /// checking the ADQL expressions of extension columns.
    virtual const adql::Catalog& catalog() const = 0;

    /// Number of rows in ivoa.obscore.
    virtual long long count_rows() const = 0;

    /// Computes the extension columns of `columns` whose value is derived
    /// from the stored rows (an `adql` expression, `data_rights`; see
    /// ExtensionColumn) for every row of `collection`; `now` is the time of
    /// the run (seconds since the epoch). Inside begin()/commit(). Throws
    /// StoreError for an expression that does not translate (naming the column).
    virtual void update_derived_columns(const std::vector<ExtensionColumn>& columns, const std::string& collection,
                                        std::time_t now) = 0;
};

/// Opens the store at `database` for writing: a `postgresql://` or
/// `postgres://` URL opens the PostgreSQL + pgSphere store (obscore/pg_store.hpp
/// layout; created, with TAP_SCHEMA from `extension_columns` +
/// obscore_columns(), when the database has none yet), anything else the
/// SQLite file at that path (created with its schema when missing;
/// TAP_SCHEMA rewritten). Throws StoreError.
std::unique_ptr<ArchiveWriter> open_archive_writer(const std::string& database,
                                                   const std::vector<ExtensionColumn>& extension_columns);

/// True when `database` names a PostgreSQL database (a `postgresql://` or
/// `postgres://` URL) rather than a SQLite file.
bool is_postgresql_url(const std::string& database);

}  // namespace vo::obscore
