// `voserver ingest` (obscore/ingest.hpp): walk paths, extract, upsert.
#include "obscore/ingest.hpp"
#include "fits/text.hpp"

#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "obscore/fits_extract.hpp"

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

/// One file's extraction as ingest() takes it: header-only dumps are skipped
/// by name, and an exception (extract_product should throw none) becomes a
/// skip reason.
ExtractResult extract_file(const std::string& f, const IngestOptions& options) {
    ExtractResult r;
    const std::string lname = lower(f);
    if (ends_with(lname, ".hdr") || ends_with(lname, ".header")) {
        r.skip_reason = "header-only file (no pixel data): not a product";
        return r;
    }
    try {
        r = extract_product(f, options);
    } catch (const std::exception& e) {
        r = ExtractResult{};
        r.skip_reason = std::string("extraction failed: ") + e.what();
    } catch (...) {
        r = ExtractResult{};
        r.skip_reason = "extraction failed: unknown error";
    }
    return r;
}

/// Extracts `files` ahead of the loop that stores them (issue 14: reading
/// headers and building WCS were most of ingest's time, on one core):
/// `threads` threads take the next file in order, at most `window` files
/// ahead of the consumer; take(i) returns file i's result, in order. With 0
/// threads take() extracts in the caller's thread. The destructor stops and
/// joins the threads (also when the run is aborted).
class ExtractAhead {
public:
    ExtractAhead(const std::vector<std::string>& files, const IngestOptions& options, unsigned threads,
                 std::size_t window)
        : files_(files), options_(options), slots_(window) {
        for (unsigned t = 0; t < threads; ++t) threads_.emplace_back([this] { run(); });
    }
    ~ExtractAhead() {
        {
            std::lock_guard lk(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        for (auto& t : threads_) t.join();
    }
    ExtractAhead(const ExtractAhead&) = delete;
    ExtractAhead& operator=(const ExtractAhead&) = delete;

    /// The result of files[i]; call with i = 0, 1, 2, ... in order.
    ExtractResult take(std::size_t i) {
        if (threads_.empty()) return extract_file(files_[i], options_);
        std::unique_lock lk(mutex_);
        auto& slot = slots_[i % slots_.size()];
        changed_.wait(lk, [&] { return slot.has_value(); });
        ExtractResult r = std::move(*slot);
        slot.reset();
        consumed_ = i + 1;
        lk.unlock();
        changed_.notify_all();
        return r;
    }

private:
    void run() {
        std::unique_lock lk(mutex_);
        for (;;) {
            changed_.wait(lk, [&] { return stop_ || (next_ < files_.size() && next_ < consumed_ + slots_.size()); });
            if (stop_) return;
            const std::size_t i = next_++;
            lk.unlock();
            ExtractResult r = extract_file(files_[i], options_);
            lk.lock();
            slots_[i % slots_.size()] = std::move(r);
            changed_.notify_all();
        }
    }

    const std::vector<std::string>& files_;
    const IngestOptions& options_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::optional<ExtractResult>> slots_;  ///< file i in slot i % window until taken
    std::size_t next_ = 0;                             ///< next file to extract
    std::size_t consumed_ = 0;                         ///< files taken so far
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

/// Extraction threads for ingest() (IngestOptions::extraction_threads): none
/// when CFITSIO was built without its reentrant option or there is one file.
unsigned extraction_threads(std::size_t files, const IngestOptions& options) {
    if (files < 2 || !fits_is_reentrant()) return 0;
    if (options.extraction_threads) return std::min(*options.extraction_threads, 16u);
    return std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
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
    ExtractAhead ahead(files, options, extraction_threads(files.size(), options), 16);
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::string& f = files[i];
        IngestEvent ev;
        ev.path = f;
        ExtractResult r = ahead.take(i);
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
