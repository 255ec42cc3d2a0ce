// `voserver ingest` (obscore/ingest.hpp): walk paths, extract, upsert.
#include "obscore/ingest.hpp"
#include "fits/text.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "obscore/fits_extract.hpp"

#include <ctime>

namespace vo::obscore {
namespace {

using fits::lower;

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// True for the file names ingest reads (ingest.hpp: .fits, .fit, .fits.gz,
/// .fit.gz, .fz; also .fts). Header-only dumps (.hdr, .fits.header) are test
/// inputs for extraction, not products, and are not picked up by a walk.
bool is_fits_name(const std::string& name) {
    const std::string l = lower(name);
    for (const char* e : {".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fz"})
        if (ends_with(l, e)) return true;
    return false;
}

/// Files to ingest, in a stable (sorted) order; missing paths become events.
void collect(const std::string& path, std::vector<std::string>& files, std::vector<IngestEvent>& missing) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
        missing.push_back({path, false, "", "no such file or directory"});
        return;
    }
    if (fs::is_regular_file(st)) {
        // A file named explicitly is tried whatever its extension.
        files.push_back(path);
        return;
    }
    if (!fs::is_directory(st)) {
        missing.push_back({path, false, "", "not a regular file or directory"});
        return;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
    while (!ec && it != end) {
        std::error_code fec;
        if (it->is_regular_file(fec) && is_fits_name(it->path().filename().string()))
            found.push_back(it->path().string());
        it.increment(ec);
    }
    if (ec) missing.push_back({path, false, "", "cannot walk directory: " + ec.message()});
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
}

}  // namespace

IngestAborted::IngestAborted(IngestSummary summary, const std::string& message)
    : StoreError(message), summary_(std::move(summary)) {}

IngestSummary ingest(ArchiveWriter& store, const std::vector<std::string>& paths, const IngestOptions& options,
                     const std::function<void(const IngestEvent&)>& on_event) {
    IngestSummary summary;
    std::vector<std::string> files;
    std::vector<IngestEvent> missing;
    for (const auto& p : paths) collect(p, files, missing);

    auto report = [&](IngestEvent ev) {
        if (ev.ingested)
            ++summary.ingested;
        else
            ++summary.skipped;
        if (on_event) on_event(ev);
        summary.events.push_back(std::move(ev));
    };
    for (auto& m : missing) report(std::move(m));

    // A store failure ends the run: what was upserted is committed (if the
    // store still can), and the caller gets the summary so far.
    bool in_transaction = false;
    // The events of the files upserted in the open transaction: a failed
    // commit takes them back (a store may report errors only at commit, as
    // the PostgreSQL writer does for the rows it sends in bulk then).
    std::vector<std::size_t> uncommitted_events;
    auto take_back = [&](const std::string& why) {
        for (std::size_t i : uncommitted_events) {
            auto& ev = summary.events[i];
            if (!ev.ingested) continue;
            ev.ingested = false;
            ev.reason = "not stored: the transaction holding it failed: " + why;
            --summary.ingested;
            ++summary.skipped;
        }
        uncommitted_events.clear();
    };
    auto commit = [&] {
        in_transaction = false;
        try {
            store.commit();
        } catch (const StoreError& e) {
            take_back(e.what());
            throw;
        }
        uncommitted_events.clear();
    };
    auto abort_run = [&](const std::string& file, const std::string& why) -> IngestAborted {
        if (in_transaction) {
            try {
                commit();
            } catch (const std::exception&) {
            }
        }
        const std::string name = fs::path(file).filename().string();
        return IngestAborted(summary, "ingest stopped at " + (name.empty() ? std::string("commit") : name) + " after " +
                                          std::to_string(summary.events.size()) + " files (ingested " +
                                          std::to_string(summary.ingested) + ", skipped " +
                                          std::to_string(summary.skipped) + "): " + why);
    };
    // a configured expression that cannot be computed stops the run before it starts
    check_extension_expressions(store.catalog(), options.extension_columns);
    int uncommitted = 0;
    for (const auto& f : files) {
        IngestEvent ev;
        ev.path = f;
        const std::string lname = lower(f);
        if (ends_with(lname, ".hdr") || ends_with(lname, ".header")) {
            ev.reason = "header-only file (no pixel data): not a product";
            report(std::move(ev));
            continue;
        }
        ExtractResult r;
        try {
            r = extract_product(f, options);
        } catch (const std::exception& e) {  // extract_product should not throw; be safe
            r = ExtractResult{};
            r.skip_reason = std::string("extraction failed: ") + e.what();
        } catch (...) {
            r = ExtractResult{};
            r.skip_reason = "extraction failed: unknown error";
        }
        if (!r.ok()) {
            ev.reason = r.skip_reason;
            report(std::move(ev));
            continue;
        }
        try {
            if (!in_transaction) {
                store.begin();
                in_transaction = true;
            }
            store.upsert(*r.record, r.file);
        } catch (const StoreError& e) {
            ev.reason = std::string("store error: ") + e.what();
            report(std::move(ev));
            throw abort_run(f, e.what());
        }
        ev.ingested = true;
        ev.obs_publisher_did = r.record->obs_publisher_did;
        uncommitted_events.push_back(summary.events.size());
        report(std::move(ev));
        if (++uncommitted >= kCommitEvery) {
            uncommitted = 0;
            try {
                commit();
            } catch (const StoreError& e) {
                throw abort_run("", e.what());
            }
        }
    }
    if (in_transaction) {
        try {
            commit();
        } catch (const StoreError& e) {
            throw abort_run("", e.what());
        }
    }
    // Extension columns computed from the stored rows (ADQL expressions,
    // data_rights), in one transaction; checked before any file was read.
    try {
        store.begin();
        store.update_derived_columns(options.extension_columns, options.collection, std::time(nullptr));
        store.commit();
    } catch (const StoreError& e) {
        try {
            store.commit();
        } catch (const std::exception&) {
        }
        throw IngestAborted(summary, std::string("ingest stored its rows but could not compute the extension "
                                                 "columns: ") +
                                         e.what());
    }
    return summary;
}

}  // namespace vo::obscore
