// ADQL query execution on a read-only query backend (obscore/backend.hpp),
// rows streamed to a writer.
#include "server/query.hpp"

#include "server/datalink.hpp"
#include "server/params.hpp"

#include <algorithm>

namespace vo::server {

namespace {

/// Bytes of a streamed result handed to the sink at a time (issue 14): each
/// chunk is one hand-off from the query worker to the I/O thread (a copy, a
/// wake-up) and one socket write; 256 KiB made those a few percent of a
/// stream where 64 KiB chunks cost a fifth of the worker's time. Four fit in
/// the channel's memory queue (HttpOptions::max_queued_bytes, 1 MiB).
constexpr std::size_t kResultChunkBytes = 256 * 1024;

/// The backend's cursor as the writers read rows (votable::RowSource).
class CursorSource final : public votable::RowSource {
public:
    explicit CursorSource(obscore::ResultCursor& cursor) : cursor_(cursor) {}
    bool next() override { return cursor_.next(); }
    votable::Cell cell(std::size_t i) override {
        const obscore::Cell& c = cursor_.cell(i);
        votable::Cell v;
        v.kind = static_cast<votable::CellKind>(c.kind);  // the same kinds in the same order (below)
        v.integer = c.integer;
        v.real = c.real;
        v.text = c.text;
        return v;
    }

private:
    obscore::ResultCursor& cursor_;
};

static_assert(static_cast<int>(votable::CellKind::null) == static_cast<int>(obscore::Cell::Kind::null) &&
              static_cast<int>(votable::CellKind::integer) == static_cast<int>(obscore::Cell::Kind::integer) &&
              static_cast<int>(votable::CellKind::real) == static_cast<int>(obscore::Cell::Kind::real) &&
              static_cast<int>(votable::CellKind::text) == static_cast<int>(obscore::Cell::Kind::text));

}  // namespace

std::vector<votable::Field> fields_of(const std::vector<adql::ColumnInfo>& columns) {
    std::vector<votable::Field> fields;
    fields.reserve(columns.size());
    for (const auto& c : columns)
        fields.push_back({c.name, c.datatype, c.arraysize, c.xtype, c.unit, c.ucd, c.utype, c.description});
    return fields;
}

QueryEngine::QueryEngine(const std::string& database, EngineLimits limits)
    : backend_(obscore::open_query_backend(database, {limits.max_cell_bytes, limits.query_memory_bytes})),
      limits_(limits) {}

QueryEngine::~QueryEngine() = default;  // the prepared queries go first (backend_ is declared first)

namespace {
std::size_t entry_bytes(const std::string& key, const adql::Translation& t) {
    // the column metadata twice more: the two field lists of Cached
    std::size_t metadata = 0;
    for (const auto& c : t.columns)
        metadata += c.name.size() + c.datatype.size() + c.arraysize.size() + c.xtype.size() + c.unit.size() +
                    c.ucd.size() + c.utype.size() + c.description.size();
    return key.size() + t.sql.size() + 256 * t.columns.size() + 2 * metadata + 512;
}
}  // namespace

adql::TranslateOptions QueryEngine::translate_options(std::int64_t row_limit,
                                                      const obscore::RowVisibility& visibility) const {
    adql::TranslateOptions options;
    options.row_limit = row_limit;
    options.limits = limits_.adql;
    options.row_filters = backend_->row_filters(visibility);  // issue 12 item 3
    return options;
}

QueryEngine::Cached& QueryEngine::prepare(const std::string& adql, std::int64_t row_limit,
                                          const obscore::RowVisibility& visibility) {
    // the visibility key length-prefixed: no visibility text can pass for
    // a part of the ADQL
    const std::string vis = obscore::visibility_key(visibility);
    std::string key = std::to_string(row_limit) + '\n' + std::to_string(vis.size()) + ':' + vis + '\n' + adql;
    if (auto it = cache_.find(key); it != cache_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.second);
        return it->second.first;
    }
    Cached entry;
    entry.query = backend_->prepare(backend_->translate(adql, translate_options(row_limit, visibility)));
    // Issue 7 item 3: the cache is bounded in bytes; a query larger than an
    // eighth of it is not kept at all (it lives until the next one).
    const std::size_t bytes = entry_bytes(key, entry.query->translation());
    if (bytes > limits_.cache_bytes / 8) {
        transient_ = std::move(entry);
        return transient_;
    }
    while (!cache_.empty() && cache_used_ + bytes > limits_.cache_bytes) {
        auto victim = cache_.find(lru_.back());
        cache_used_ -= entry_bytes(victim->first, victim->second.first.query->translation());
        cache_.erase(victim);
        lru_.pop_back();
    }
    cache_used_ += bytes;
    lru_.push_front(key);
    auto [it, _] = cache_.emplace(std::move(key), std::make_pair(std::move(entry), lru_.begin()));
    return it->second.first;
}

void QueryEngine::refresh() {
    if (!backend_->refresh_if_changed()) return;
    // An ingest committed: the backend reloaded its catalogue; translations
    // and plans made before it are dropped.
    cache_.clear();
    lru_.clear();
    cache_used_ = 0;
    transient_ = Cached{};
}

double QueryEngine::estimate_cost(const std::string& adql, std::int64_t maxrec,
                                  const obscore::RowVisibility& visibility) {
    refresh();
    maxrec = std::max<std::int64_t>(0, maxrec);
    Cached& q = prepare(adql, maxrec == INT64_MAX ? maxrec : maxrec + 1, visibility);
    if (!q.cost) q.cost = q.query->estimate_cost();  // a repeated query: no second plan
    return *q.cost;
}

QueryOutcome QueryEngine::run(const QueryRequest& request, const std::function<void()>& on_start, votable::Sink sink) {
    if (!request.store_checked) refresh();
    const std::int64_t maxrec = std::max<std::int64_t>(0, request.maxrec);
    const std::int64_t row_limit = maxrec == INT64_MAX ? maxrec : maxrec + 1;
    if (request.uploads.empty())
        return run_prepared(prepare(request.adql, row_limit, request.visibility), request, on_start, std::move(sink));

    // A query with uploads is never cached: the tables it names exist for
    // this run only (the backend's catalogue holds them while they live).
    // Declared before the prepared query, so that it goes before its tables.
    std::vector<std::unique_ptr<obscore::RequestTable>> tables;
    for (const auto& u : request.uploads) {
        try {
            tables.push_back(load_upload(*backend_, u, request.upload_limits));
        } catch (const UploadError& e) {
            throw QueryError(e.what(), true);
        }
        if (request.cancel && request.cancel->load())
            throw QueryError("query interrupted (the client went away)", false);
    }
    Cached once;
    once.query = backend_->prepare(backend_->translate(request.adql, translate_options(row_limit, request.visibility)));
    return run_prepared(once, request, on_start, std::move(sink));
}

QueryOutcome QueryEngine::run_prepared(Cached& entry, const QueryRequest& request,
                                       const std::function<void()>& on_start, votable::Sink sink) {
    obscore::PreparedQuery& q = *entry.query;
    const std::int64_t maxrec = std::max<std::int64_t>(0, request.maxrec);
    const adql::Translation& translation = q.translation();
    const std::vector<votable::Field>* field_list = nullptr;
    std::string descriptor;
    if (request.datalink_base_url.empty()) {
        if (!entry.fields) entry.fields = fields_of(translation.columns);
        field_list = &*entry.fields;
    } else {
        if (!entry.linked_fields || entry.link_base != request.datalink_base_url) {
            // DataLink 1.1 section 4.5: the {links} descriptor refers to the
            // obs_publisher_did FIELD by its XML ID (VOTable writers only emit it).
            auto linked = fields_of(translation.columns);
            std::string link;
            for (auto& f : linked) {
                if (!iequals(f.name, "obs_publisher_did")) continue;
                f.id = "obs_publisher_did";
                link = datalink_service_descriptor(request.datalink_base_url, f.id);
                break;
            }
            entry.linked_fields = std::move(linked);
            entry.link_base = request.datalink_base_url;
            entry.link_descriptor = std::move(link);
        }
        field_list = &*entry.linked_fields;
        descriptor = entry.link_descriptor;
    }
    const std::vector<votable::Field>& fields = *field_list;
    descriptor += request.extra_resources;
    QueryOutcome outcome;

    // MAXREC=0: metadata only, with the overflow marker (DALI 1.1 section
    // 3.4.4); the query is translated (so it is checked) but not executed.
    if (maxrec == 0) {
        if (on_start) on_start();
        auto writer = votable::make_writer(request.format, std::move(sink));
        writer->begin(fields, request.infos);
        writer->set_extra_resources(descriptor);
        writer->end(true);
        outcome.overflow = true;
        outcome.bytes = writer->bytes();
        return outcome;
    }

    obscore::ExecuteControl control;
    control.cancel = request.cancel;
    control.deadline = request.deadline;
    control.deadline_reason = request.deadline_reason;
    control.first_row_by = request.first_row_by;
    // runs to the first row: errors here are still reported with an HTTP error status
    const auto cursor = q.execute(control);
    CursorSource source(*cursor);

    if (on_start) on_start();
    auto writer = votable::make_writer(request.format, std::move(sink), kResultChunkBytes);
    writer->begin(fields, request.infos);
    writer->set_extra_resources(descriptor);
    try {
        // Overflow only when MAXREC cut the result, not TOP (TAP 1.1 section 2.7.4).
        const bool top_limits = translation.top && *translation.top <= maxrec;
        const auto r = votable::stream_rows(source, *writer, top_limits ? std::nullopt : std::optional(maxrec));
        outcome.rows = r.rows;
        outcome.overflow = r.overflow;
        writer->end(r.overflow);
    } catch (const QueryError& e) {
        writer->end_with_error(e.what());
        outcome.error = e.what();
    }
    outcome.bytes = writer->bytes();
    return outcome;
}

}  // namespace vo::server
