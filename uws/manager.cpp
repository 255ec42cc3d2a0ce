// The UWS job manager (uws/manager.hpp).
#include "uws/manager.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

namespace vo::uws {

namespace fs = std::filesystem;

namespace {

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

struct JobManager::Impl {
    std::unique_ptr<JobStore> store;
    Executor executor;
    ManagerOptions options;

    struct Running {
        std::atomic<bool> cancel{false};
        std::atomic<bool> aborted{false};  // set by ABORT here or, on a shared store, by the watcher
    };

    mutable std::mutex mutex;
    std::condition_variable changed;  // any phase change (for WAIT)
    std::condition_variable work;     // queue or stop
    std::deque<std::string> queue;
    std::map<std::string, std::shared_ptr<Running>> running;
    bool stopping = false;
    std::uint64_t changes = 0;
    std::vector<std::thread> workers;
    std::thread reaper;
    std::condition_variable reaper_cv;
    std::thread watcher;  // shared stores only: other instances' changes, heartbeats, orphans

    /// 128 bits from the kernel's CSPRNG (getrandom(2)) as 32 hex digits:
    /// a job URL is its only protection for anonymous jobs (issue 12 item 4),
    /// so IDs must not be predictable from earlier ones (a Mersenne Twister's are).
    static std::string new_id() {
        static const char* hex = "0123456789abcdef";
        unsigned char bytes[16];
        std::size_t got = 0;
        while (got < sizeof bytes) {
            const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw std::runtime_error(std::string("cannot draw a job ID: getrandom: ") + std::strerror(errno));
            }
            got += static_cast<std::size_t>(n);
        }
        std::string id;
        for (unsigned char b : bytes) {
            id += hex[b >> 4];
            id += hex[b & 15];
        }
        return id;
    }

    std::string job_dir(const std::string& id) const { return (fs::path(options.results_dir) / id).string(); }
    std::string input_dir(const std::string& id) const {
        return (fs::path(options.results_dir) / (id + ".in")).string();
    }

    Job must_find(const std::string& id) const {
        auto j = store->find(id);
        if (!j) throw JobStateError("no job " + id);
        return *j;
    }

    /// Stores `j` if its stored phase is still `expected` (read-modify-write
    /// without losing another instance's change on a shared store); false,
    /// storing nothing, when the job changed phase meanwhile.
    bool save(const Job& j, Phase expected) {
        if (!store->update_if(j, expected)) return false;
        ++changes;
        changed.notify_all();
        return true;
    }

    void worker_loop() {
        for (;;) {
            std::string id;
            std::shared_ptr<Running> run;
            Job job;
            {
                std::unique_lock lk(mutex);
                work.wait(lk, [&] { return stopping || !queue.empty(); });
                if (stopping) return;
                id = queue.front();
                queue.pop_front();
                // A store failure here leaves the job QUEUED: a shared store's
                // watcher queues it again; a local store at the next start.
                try {
                    auto found = store->find(id);
                    if (!found || found->phase != Phase::QUEUED) continue;  // aborted or destroyed meanwhile
                    job = *found;
                    if (store->results_bytes() >= options.results_quota_bytes) {
                        Job refused = job;
                        refused.phase = Phase::ERROR;
                        refused.error_message = "the results quota of this service (" +
                                                std::to_string(options.results_quota_bytes) +
                                                " bytes) is used up; delete finished jobs or try again later";
                        refused.error_fatal = false;
                        refused.end_time = now();
                        if (store->update_if(refused, Phase::QUEUED)) notify();
                        continue;
                    }
                    job.phase = Phase::EXECUTING;
                    job.start_time = now();
                    if (job.execution_duration > 0) job.quote = *job.start_time + job.execution_duration;
                    // the claim: on a shared store another instance may have taken it
                    if (!store->update_if(job, Phase::QUEUED)) continue;
                } catch (const std::exception&) {
                    continue;
                }
                notify();
                run = std::make_shared<Running>();
                running[id] = run;
            }
            std::error_code ec;
            fs::remove_all(job_dir(id), ec);
            fs::create_directories(job_dir(id), ec);
            ExecContext ctx;
            ctx.cancel = &run->cancel;
            ctx.result_dir = job_dir(id);
            ctx.input_dir = input_dir(id);
            if (job.execution_duration > 0)
                ctx.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(job.execution_duration);
            std::vector<ProducedResult> produced;
            std::string failure;
            bool failed = false;
            if (ec) {
                failed = true;
                failure = "cannot create the results directory: " + ec.message();
            } else {
                try {
                    produced = executor(job, ctx);
                } catch (const std::exception& e) {
                    failed = true;
                    failure = e.what();
                } catch (...) {
                    failed = true;
                    failure = "unknown error";
                }
            }
            // The end is recorded even through a store outage (retried, the
            // job kept in `running` so that its heartbeats go on meanwhile).
            std::unique_lock lk(mutex);
            for (int attempt = 0;; ++attempt) {
                try {
                    record_end(id, *run, failed, failure, produced);
                    break;
                } catch (const std::exception&) {
                    if (stopping || attempt >= 120) break;  // the record stays EXECUTING: an orphan for the watcher
                    lk.unlock();
                    std::this_thread::sleep_for(std::chrono::seconds(1));
                    lk.lock();
                }
            }
            running.erase(id);
        }
    }

    /// Wakes WAITs (and watchers of change_count) after a change. Under `mutex`.
    void notify() {
        ++changes;
        changed.notify_all();
    }

    /// Records how the run of job `id` ended (under `mutex`); throws
    /// JobStoreError when the store fails.
    void record_end(const std::string& id, const Running& run, bool failed, const std::string& failure,
                    const std::vector<ProducedResult>& produced) {
        std::error_code ec;
        auto current = store->find(id);
        if (!current) {  // destroyed while running
            fs::remove_all(job_dir(id), ec);
            return;
        }
        {
            Job job = *current;
            job.end_time = now();
            job.results.clear();
            if (run.aborted) {
                job.phase = Phase::ABORTED;
                fs::remove_all(job_dir(id), ec);
            } else if (stopping && run.cancel) {
                if (options.rerun_interrupted) {
                    job.phase = Phase::QUEUED;
                    job.start_time.reset();
                    job.end_time.reset();
                } else {
                    job.phase = Phase::ERROR;
                    job.error_message = "the server stopped while the job was executing; run it again";
                    job.error_fatal = false;
                }
            } else if (failed) {
                job.phase = Phase::ERROR;
                job.error_message = failure;
                job.error_fatal = true;
            } else {
                job.phase = Phase::COMPLETED;
                for (const auto& p : produced) {
                    std::error_code sec;
                    const auto size = fs::file_size(p.file, sec);
                    job.results.push_back({p.id, p.mime_type, p.file, sec ? 0 : static_cast<std::int64_t>(size)});
                }
            }
            // Unless another instance ended it meanwhile (ABORT through it, or
            // taken as orphaned): then its record stands and these results go.
            if (store->update_if(job, Phase::EXECUTING))
                notify();
            else
                fs::remove_all(job_dir(id), ec);
        }
    }

    /// Shared stores: every 200 ms, the change stamp (other instances' changes
    /// wake WAITs here; an ABORT or deletion through another instance
    /// cancels the work here); every 2 s, heartbeats of the jobs running
    /// here; every 5 s, EXECUTING jobs whose instance stopped become ERROR,
    /// and QUEUED jobs no instance is running are queued here.
    void watcher_loop() {
        std::uint64_t stamp = 0;
        int tick = 0;
        std::unique_lock lk(mutex);
        while (!stopping) {
            reaper_cv.wait_for(lk, std::chrono::milliseconds(200), [&] { return stopping; });
            if (stopping) return;
            std::vector<std::pair<std::string, std::shared_ptr<Running>>> mine(running.begin(), running.end());
            lk.unlock();
            try {
                const std::uint64_t now_stamp = store->change_stamp();
                if (now_stamp != stamp) {
                    stamp = now_stamp;
                    for (auto& [id, run] : mine) {
                        const auto j = store->find(id);
                        if (!j || j->phase != Phase::EXECUTING) {
                            run->aborted = true;
                            run->cancel = true;
                        }
                    }
                    std::lock_guard g(mutex);
                    ++changes;
                    changed.notify_all();
                }
                if (++tick % 10 == 0) {
                    std::vector<std::string> ids;
                    for (auto& [id, run] : mine) ids.push_back(id);
                    store->heartbeat(ids);
                }
                if (tick % 25 == 0) take_over_orphans();
            } catch (...) {
                // the store is unreachable: tried again at the next tick
            }
            lk.lock();
        }
    }

    void take_over_orphans() {
        for (auto j : store->stale_executing(options.stale_seconds)) {
            {
                std::lock_guard g(mutex);
                if (running.count(j.id)) continue;
            }
            j.phase = Phase::ERROR;
            j.error_message =
                "the server instance executing this job stopped (killed or crashed) before the job ended; run it "
                "again";
            j.error_fatal = false;
            j.end_time = now();
            j.results.clear();
            if (store->update_if(j, Phase::EXECUTING)) {
                std::error_code ec;
                fs::remove_all(job_dir(j.id), ec);
            }
        }
        JobFilter queued;
        queued.phases = {Phase::QUEUED};
        const auto jobs = store->list(queued);
        std::lock_guard g(mutex);
        for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
            if (!running.count(it->id) && std::find(queue.begin(), queue.end(), it->id) == queue.end()) {
                queue.push_back(it->id);
                work.notify_one();
            }
    }

    void reaper_loop() {
        std::unique_lock lk(mutex);
        while (!stopping) {
            reaper_cv.wait_for(lk, options.reap_interval, [&] { return stopping; });
            if (stopping) return;
            lk.unlock();
            try {
                reap_due();
            } catch (...) {
                // a storage failure here is retried at the next interval
            }
            lk.lock();
        }
    }

    std::size_t reap_due() {
        std::size_t n = 0;
        for (const auto& j : store->due_for_destruction(now()))
            if (destroy(j.id)) ++n;
        return n;
    }

    bool destroy(const std::string& id) {
        std::unique_lock lk(mutex);
        auto j = store->find(id);
        if (!j) return false;
        if (auto it = running.find(id); it != running.end()) {
            it->second->aborted = true;
            it->second->cancel = true;
        }
        queue.erase(std::remove(queue.begin(), queue.end(), id), queue.end());
        store->remove(id);
        std::error_code ec;
        fs::remove_all(job_dir(id), ec);
        fs::remove_all(input_dir(id), ec);
        ++changes;
        changed.notify_all();
        return true;
    }

    void recover() {
        JobFilter active;
        active.phases = {Phase::QUEUED, Phase::EXECUTING};
        auto jobs = store->list(active);
        std::reverse(jobs.begin(), jobs.end());  // oldest first
        for (auto j : jobs) {
            auto full = store->find(j.id);
            if (!full) continue;
            j = *full;
            // a shared store's EXECUTING jobs may be running on another
            // instance: the watcher takes them over once their heartbeats stop
            if (j.phase == Phase::EXECUTING && store->shared()) continue;
            if (j.phase == Phase::QUEUED && store->shared()) {
                queue.push_back(j.id);
                continue;
            }
            if (j.phase == Phase::EXECUTING && !options.rerun_interrupted) {
                j.phase = Phase::ERROR;
                j.error_message = "the server restarted while the job was executing; run it again";
                j.error_fatal = false;
                j.end_time = now();
                j.results.clear();
                store->update(j);
                continue;
            }
            j.phase = Phase::QUEUED;
            j.start_time.reset();
            j.end_time.reset();
            j.results.clear();
            store->update(j);
            queue.push_back(j.id);
        }
    }
};

JobManager::JobManager(std::unique_ptr<JobStore> store, Executor executor, ManagerOptions options)
    : impl_(std::make_unique<Impl>()) {
    impl_->store = std::move(store);
    impl_->executor = std::move(executor);
    impl_->options = std::move(options);
    std::error_code ec;
    fs::create_directories(impl_->options.results_dir, ec);
    if (ec)
        throw JobStoreError("cannot create the results directory " + impl_->options.results_dir + ": " + ec.message());
    impl_->recover();
    for (std::size_t i = 0; i < std::max<std::size_t>(1, impl_->options.workers); ++i)
        impl_->workers.emplace_back([this] { impl_->worker_loop(); });
    impl_->reaper = std::thread([this] { impl_->reaper_loop(); });
    if (impl_->store->shared()) impl_->watcher = std::thread([this] { impl_->watcher_loop(); });
}

JobManager::~JobManager() {
    {
        std::lock_guard lk(impl_->mutex);
        impl_->stopping = true;
        for (auto& [id, r] : impl_->running) r->cancel = true;
    }
    impl_->work.notify_all();
    impl_->reaper_cv.notify_all();
    impl_->changed.notify_all();
    for (auto& t : impl_->workers) t.join();
    impl_->reaper.join();
    if (impl_->watcher.joinable()) impl_->watcher.join();
}

Job JobManager::create(std::vector<std::pair<std::string, std::string>> parameters, std::string owner,
                       std::string run_id) {
    std::lock_guard lk(impl_->mutex);
    Job j;
    j.id = impl_->new_id();
    j.owner = std::move(owner);
    j.run_id = std::move(run_id);
    j.creation_time = now();
    j.execution_duration = impl_->options.default_execution_duration;
    j.destruction = j.creation_time + impl_->options.default_retention;
    j.parameters = std::move(parameters);
    impl_->store->insert(j);
    return j;
}

std::optional<Job> JobManager::find(const std::string& id) const { return impl_->store->find(id); }

std::vector<Job> JobManager::list(const JobFilter& filter) const { return impl_->store->list(filter); }

Job JobManager::run(const std::string& id) {
    std::lock_guard lk(impl_->mutex);
    Job j = impl_->must_find(id);
    if (j.phase != Phase::PENDING && j.phase != Phase::HELD) return j;
    if (impl_->queue.size() >= impl_->options.max_queued)
        throw JobStateError("too many jobs queued (" + std::to_string(impl_->options.max_queued) +
                            "); the job stays PENDING, run it again later");
    const Phase was = j.phase;
    j.phase = Phase::QUEUED;
    // RUN through another instance at the same moment: one of them queues it
    if (!impl_->save(j, was)) return impl_->must_find(id);
    impl_->queue.push_back(id);
    impl_->work.notify_one();
    return j;
}

Job JobManager::abort(const std::string& id) {
    std::lock_guard lk(impl_->mutex);
    Job j = impl_->must_find(id);
    if (j.phase == Phase::EXECUTING) {
        if (auto it = impl_->running.find(id); it != impl_->running.end()) {
            it->second->aborted = true;
            it->second->cancel = true;
            return j;  // becomes ABORTED when the work stops
        }
        if (impl_->store->shared()) {
            // executing on another instance: ABORTED now; that instance's
            // watcher stops the work and drops its results
            Job aborted = j;
            aborted.phase = Phase::ABORTED;
            aborted.end_time = now();
            aborted.results.clear();
            if (impl_->store->update_if(aborted, Phase::EXECUTING)) {
                ++impl_->changes;
                impl_->changed.notify_all();
                return aborted;
            }
            return impl_->must_find(id);
        }
        return j;
    }
    if (j.phase == Phase::PENDING || j.phase == Phase::QUEUED || j.phase == Phase::HELD ||
        j.phase == Phase::SUSPENDED) {
        impl_->queue.erase(std::remove(impl_->queue.begin(), impl_->queue.end(), id), impl_->queue.end());
        const Phase was = j.phase;
        j.phase = Phase::ABORTED;
        j.end_time = now();
        // claimed by another instance meanwhile: the client sees EXECUTING and may abort again
        if (!impl_->save(j, was)) return impl_->must_find(id);
    }
    return j;
}

bool JobManager::destroy(const std::string& id) { return impl_->destroy(id); }

Job JobManager::set_parameters(const std::string& id,
                               const std::vector<std::pair<std::string, std::string>>& parameters) {
    std::lock_guard lk(impl_->mutex);
    Job j = impl_->must_find(id);
    if (j.phase != Phase::PENDING)
        throw JobStateError(std::string("the parameters of a job cannot change once it has left PENDING (it is ") +
                            to_string(j.phase) + ")");
    for (const auto& [k, v] : parameters) {
        auto it =
            std::find_if(j.parameters.begin(), j.parameters.end(), [&](const auto& p) { return iequal(p.first, k); });
        if (it != j.parameters.end())
            it->second = v;
        else
            j.parameters.emplace_back(k, v);
    }
    if (!impl_->save(j, Phase::PENDING)) throw JobStateError("the job left PENDING meanwhile; its parameters stay");
    return j;
}

std::string input_path(const std::string& input_dir, const std::string& name) {
    static const char* hex = "0123456789abcdef";
    std::string file;
    for (unsigned char c : name) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            (c == '.' && !file.empty())) {
            file += static_cast<char>(c);
        } else {
            file += '%';
            file += hex[c >> 4];
            file += hex[c & 15];
        }
    }
    if (file.empty()) file = "%";
    return (fs::path(input_dir) / file).string();
}

std::vector<std::pair<std::string, std::string>> read_input_files(const std::string& input_dir) {
    std::vector<std::pair<std::string, std::string>> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(input_dir, ec)) {
        const std::string file = entry.path().filename().string();
        std::string name;
        for (std::size_t i = 0; i < file.size(); ++i) {
            if (file[i] == '%' && i + 2 < file.size()) {
                name += static_cast<char>(std::stoi(file.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else if (file[i] != '%') {
                name += file[i];
            }
        }
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream content;
        content << in.rdbuf();
        out.emplace_back(std::move(name), content.str());
    }
    return out;
}

void JobManager::attach(const std::string& id, const std::string& name, std::string_view content) {
    std::lock_guard lk(impl_->mutex);
    Job j = impl_->must_find(id);
    if (j.phase != Phase::PENDING)
        throw JobStateError(std::string("the input files of a job cannot change once it has left PENDING (it is ") +
                            to_string(j.phase) + ")");
    if (impl_->store->results_bytes() + static_cast<std::int64_t>(content.size()) > impl_->options.results_quota_bytes)
        throw JobStateError("the results quota of this service (" + std::to_string(impl_->options.results_quota_bytes) +
                            " bytes) has no room for this upload; delete finished jobs or try again later");
    std::error_code ec;
    const std::string dir = impl_->input_dir(id);
    fs::create_directories(dir, ec);
    if (ec) throw JobStoreError("cannot create the input directory of job " + id + ": " + ec.message());
    const std::string path = input_path(dir, name);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw JobStoreError("cannot write an input file of job " + id);
    const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
    if (std::fclose(f) != 0 || !ok) {
        fs::remove(path, ec);
        throw JobStoreError("cannot write an input file of job " + id + " (disk full?)");
    }
}

Job JobManager::set_execution_duration(const std::string& id, std::int64_t seconds) {
    std::lock_guard lk(impl_->mutex);
    Job j = impl_->must_find(id);
    if (j.phase != Phase::PENDING)
        throw JobStateError(std::string("EXECUTIONDURATION cannot change once the job has left PENDING (it is ") +
                            to_string(j.phase) + ")");
    const std::int64_t cap = impl_->options.max_execution_duration;
    j.execution_duration = (seconds <= 0 || (cap > 0 && seconds > cap)) ? cap : seconds;
    if (!impl_->save(j, Phase::PENDING)) throw JobStateError("the job left PENDING meanwhile; EXECUTIONDURATION stays");
    return j;
}

Job JobManager::set_destruction(const std::string& id, Time t) {
    std::lock_guard lk(impl_->mutex);
    // read-modify-write again when the job changed phase meanwhile (it
    // completed on another instance: its results must not be lost)
    for (int attempt = 0;; ++attempt) {
        Job j = impl_->must_find(id);
        j.destruction = std::min(t, j.creation_time + impl_->options.max_retention);
        if (impl_->save(j, j.phase)) return j;
        if (attempt >= 5) throw JobStateError("the job keeps changing; set DESTRUCTION again");
    }
}

std::optional<Job> JobManager::wait(const std::string& id, int seconds, std::optional<Phase> phase) {
    const int cap = impl_->options.max_wait_seconds;
    const int s = (seconds < 0 || seconds > cap) ? cap : seconds;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(s);
    std::unique_lock lk(impl_->mutex);
    auto j = impl_->store->find(id);
    if (!j || !is_active(j->phase) || (phase && j->phase != *phase)) return j;
    const Phase start = j->phase;
    while (!impl_->stopping) {
        if (impl_->changed.wait_until(lk, until) == std::cv_status::timeout) break;
        j = impl_->store->find(id);
        if (!j || j->phase != start) return j;
    }
    return impl_->store->find(id);
}

std::size_t JobManager::reap() { return impl_->reap_due(); }

std::uint64_t JobManager::change_count() const {
    std::lock_guard lk(impl_->mutex);
    return impl_->changes;
}

std::uint64_t JobManager::wait_for_change(std::uint64_t since, std::chrono::milliseconds timeout) {
    std::unique_lock lk(impl_->mutex);
    impl_->changed.wait_for(lk, timeout, [&] { return impl_->changes != since || impl_->stopping; });
    return impl_->changes;
}

const ManagerOptions& JobManager::options() const { return impl_->options; }

}  // namespace vo::uws
