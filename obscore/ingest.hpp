// `voserver ingest`: FITS products -> ObsCore rows in the store.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "obscore/store.hpp"

namespace vo::obscore {

/// What a collection's configuration says about its products.
struct IngestOptions {
    std::string collection;          ///< obs_collection, also in obs_publisher_did
    std::string authority;           ///< IVOA authority, e.g. "voserver.example" (no ivo://)
    std::string base_url;            ///< public base URL, e.g. "http://127.0.0.1:8080" (no trailing /)
    std::optional<int> calib_level;  ///< default when PRODCATG does not tell
    std::optional<std::string> facility_name;   ///< default when no TELESCOP
    std::optional<std::string> instrument_name; ///< default when no INSTRUME
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

/// Ingests every FITS file (`.fits`, `.fit`, `.fits.gz`, `.fit.gz`, `.fz`)
/// found in `paths` (files, or directories searched recursively) into
/// `store`. A file that cannot become a row is reported (event with reason)
/// and skipped; the run goes on. `on_event` is called once per file met.
/// Never throws for a bad file; throws StoreError if the store fails.
IngestSummary ingest(Store& store, const std::vector<std::string>& paths, const IngestOptions& options,
                     const std::function<void(const IngestEvent&)>& on_event = {});

}  // namespace vo::obscore
