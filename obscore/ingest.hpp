// `voserver ingest`: FITS products -> ObsCore rows in the store.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "obscore/profile.hpp"
#include "obscore/backend.hpp"
#include "obscore/writer.hpp"

namespace vo::obscore {

/// What a collection's configuration says about its products.
struct IngestOptions {
    std::string collection;                      ///< obs_collection, also in obs_publisher_did
    std::string authority;                       ///< IVOA authority, e.g. "voserver.example" (no ivo://)
    std::optional<int> calib_level;              ///< default when PRODCATG does not tell
    std::optional<std::string> facility_name;    ///< default when no TELESCOP
    std::optional<std::string> instrument_name;  ///< default when no INSTRUME
    /// Largest decompressed size (bytes) accepted for a gzip-compressed file
    /// (`.fits.gz`): the file is inflated as a stream (bounded memory) and
    /// refused, with this limit in the message, once it exceeds it, so that
    /// a small "gzip bomb" cannot keep an ingest busy for minutes.
    std::int64_t max_decompressed_bytes = kMaxDecompressedBytes;
    /// The configured extension columns (obscore/profile.hpp): FITS keywords
    /// and defaults are read at extraction, ADQL expressions and data_rights
    /// evaluated for the collection when the run has stored its rows.
    std::vector<ExtensionColumn> extension_columns;
    /// Proprietary period: obs_release_date = the end of the observation
    /// (t_max, else t_min) + this many months (ALMA: 12). Unset:
    /// obs_release_date stays NULL (public at once).
    std::optional<int> proprietary_months;
    /// A FITS keyword whose ISO 8601 value is the release date; when the
    /// header has it, it wins over proprietary_months ("" = none).
    std::string release_date_keyword;
    /// Threads that read and extract the files ahead of the thread that
    /// stores the rows (rows are stored in file order whatever the number):
    /// unset = one per core, at most 4 (none when CFITSIO is not built
    /// reentrant); 0 = extraction in the storing thread.
    std::optional<unsigned> extraction_threads;

    /// Default of max_decompressed_bytes: 16 GiB.
    static constexpr std::int64_t kMaxDecompressedBytes = std::int64_t{16} << 30;
};

/// One file met during an ingest run.
struct IngestEvent {
    std::string path;
    bool ingested = false;
    std::string obs_publisher_did;  ///< when ingested
    std::string reason;             ///< why it was skipped
};

/// Totals of one run.
struct IngestSummary {
    int ingested = 0;
    int skipped = 0;
    std::vector<IngestEvent> events;
};

/// The store failed during an ingest run (StoreError: cannot write, disk
/// full...). The run stopped at that file; the rows ingested before it were
/// committed. what() is one line with the totals so far and the store's
/// reason, e.g. "ingest stopped at c.fits after 3 files (ingested 1, skipped
/// 2): store x.sqlite: ...".
class IngestAborted : public StoreError {
public:
    IngestAborted(IngestSummary summary, const std::string& message);
    /// Every file met until the failure, the failing one last (not ingested,
    /// with the store's reason).
    const IngestSummary& summary() const { return summary_; }

private:
    IngestSummary summary_;
};

/// Ingests every FITS file (`.fits`, `.fit`, `.fits.gz`, `.fit.gz`, `.fz`)
/// found in `paths` (files, or directories searched recursively) into
/// `store` (SQLite or PostgreSQL, obscore/writer.hpp). A file that cannot become a row is reported (event with reason)
/// and skipped; the run goes on. `on_event` is called once per file met.
/// Rows are committed in groups (every kCommitEvery ingested files and at
/// the end), so that what was ingested survives a later failure.
/// Never throws for a bad file; throws IngestAborted (a StoreError, carrying
/// the summary so far) if the store fails.
/// Ingested files per transaction of ingest().
inline constexpr int kCommitEvery = 64;

IngestSummary ingest(ArchiveWriter& store, const std::vector<std::string>& paths, const IngestOptions& options,
                     const std::function<void(const IngestEvent&)>& on_event = {});

}  // namespace vo::obscore
