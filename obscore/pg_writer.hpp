// The PostgreSQL + pgSphere store opened for writing (obscore/writer.hpp;
// issue 11 item 3): `voserver ingest` and `build-demo` straight into the
// layout of obscore/pg_store.hpp. Internal to obscore/: callers use
// open_archive_writer().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "obscore/writer.hpp"

namespace vo::obscore {

/// Opens the PostgreSQL database at `url` (a libpq URI of a role that owns
/// the schemas, e.g. "postgresql://voserver_writer@127.0.0.1:54329/voserver")
/// for writing.
///
/// - A database without `ivoa.obscore` first gets the whole layout (the
///   tables, TAP_SCHEMA from obscore_columns() + `extension_columns`, the
///   function library, the grants), made by the same code as `voserver
///   pg-load` from an empty store.
/// - A database with the layout must already have every configured column;
///   a missing one is a StoreError naming it (a changed profile is published
///   by `voserver pg-load`, which rebuilds the layout).
/// - upsert() streams the rows of a transaction by COPY into a temporary
///   table while they are made; commit() merges them into ivoa.obscore and
///   voserver.files with INSERT ... ON CONFLICT (obs_publisher_did) DO
///   UPDATE (the last upsert of a DID in a transaction wins; a merge larger
///   than the table drops its secondary indexes and builds them again),
///   increments voserver.meta's data_version (running servers reload their
///   catalogue) and commits; readers see all of a transaction's rows or none.
/// - Into empty tables (the first load) the rows are copied straight into a
///   new table without indexes, which at commit gets ivoa.obscore's indexes
///   and replaces it (a direct load: no temporary table, no INSERT, no index
///   maintenance per row); readers query the empty table until then.
/// - Each transaction holds the store's advisory lock (kPgLoadLockKey), so
///   loads and ingests into one database run one after the other.
/// - NaN and infinite doubles are stored as NULL, as the SQLite store does.
/// Throws StoreError naming the URL without password.
std::unique_ptr<ArchiveWriter> open_pg_archive_writer(const std::string& url,
                                                      const std::vector<ExtensionColumn>& extension_columns);

}  // namespace vo::obscore
