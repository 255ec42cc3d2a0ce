// The PostgreSQL job store shared by several server instances (uws/job_store.hpp
// open_pg_job_store; issue 11 item 4): two JobManagers on one store stand for
// two instances. Needs the cluster of `scripts/postgres start` on
// 127.0.0.1:54329 (skipped with a warning without it); each run makes its own
// database and drops it at exit.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "tests/unit/temp_dir.hpp"
#include "uws/manager.hpp"

using namespace vo::uws;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using vo::testing::TempDir;

/// This run's database on the scripts/postgres cluster, dropped at exit;
/// url() is "" when the cluster is not running.
class TestDatabase {
public:
    static const TestDatabase& get() {
        static const TestDatabase db;
        return db;
    }
    ~TestDatabase() {
        if (!url_.empty())
            std::system(
                (std::string(VO_SOURCE_DIR) + "/scripts/postgres dropdb " + name_ + " >/dev/null 2>&1").c_str());
    }
    const std::string& url() const { return url_; }

private:
    TestDatabase() : name_("voserver_uws_test_" + std::to_string(::getpid())) {
        const std::string status = std::string(VO_SOURCE_DIR) + "/scripts/postgres status >/dev/null 2>&1";
        if (std::system(status.c_str()) != 0) return;
        const std::string made =
            std::string(VO_SOURCE_DIR) + "/scripts/postgres createdb " + name_ + " >/dev/null 2>&1";
        if (std::system(made.c_str()) != 0) return;
        const char* port = std::getenv("VO_PG_PORT");  // the cluster of scripts/postgres
        url_ = "postgresql://voserver_writer@127.0.0.1:" + std::string(port && *port ? port : "54329") + "/" + name_;
    }
    std::string name_;
    std::string url_;
};

#define REQUIRE_POSTGRES(url)                                                \
    const std::string url = TestDatabase::get().url();                       \
    if (url.empty()) {                                                       \
        WARN("SKIPPED: PostgreSQL is not running (scripts/postgres start)"); \
        return;                                                              \
    }

/// Counts the runs of each job; SLEEP_MS (checking the cancel flag) and TEXT
/// (the result "result", text/plain) as in manager_test.cpp.
struct Runs {
    std::mutex m;
    std::map<std::string, int> count;
    std::atomic<int> cancelled{0};
};

Executor counting_executor(Runs& runs) {
    return [&runs](const Job& job, const ExecContext& ctx) -> std::vector<ProducedResult> {
        {
            std::lock_guard lk(runs.m);
            ++runs.count[job.id];
        }
        const int ms = std::stoi(job.parameter("SLEEP_MS").value_or("0"));
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (std::chrono::steady_clock::now() < end) {
            if (ctx.cancel->load()) {
                ++runs.cancelled;
                throw JobFailure("cancelled");
            }
            std::this_thread::sleep_for(5ms);
        }
        const std::string file = ctx.result_dir + "/result.txt";
        std::ofstream(file) << job.parameter("TEXT").value_or("");
        return {{"result", "text/plain", file}};
    };
}

ManagerOptions options(const TempDir& d) {
    ManagerOptions o;
    o.results_dir = (d.path / "results").string();  // one directory both "instances" see
    o.workers = 2;
    o.max_wait_seconds = 10;
    o.reap_interval = 3600s;
    return o;
}

std::string schema_name() { return "uws_test_" + std::to_string(std::random_device{}() % 1000000); }

/// Two instances: two JobManagers on one store (a fresh schema) and one
/// results directory, with one run counter.
struct TwoInstances {
    TempDir d;
    std::string schema = schema_name();
    Runs runs;
    JobManager a, b;
    explicit TwoInstances(const std::string& url)
        : a(open_pg_job_store(url, schema), counting_executor(runs), options(d)),
          b(open_pg_job_store(url, schema), counting_executor(runs), options(d)) {}
};

/// Polls `find` until the job is in `phase` or 10 s pass.
std::optional<Job> poll(JobManager& m, const std::string& id, Phase phase) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    std::optional<Job> j;
    while (std::chrono::steady_clock::now() < until) {
        j = m.find(id);
        if (j && j->phase == phase) return j;
        std::this_thread::sleep_for(20ms);
    }
    return j;
}

}  // namespace

TEST_CASE("a job created through one instance runs, is waited on and fetched through another", "[uws][pg]") {
    REQUIRE_POSTGRES(url);
    TwoInstances two(url);
    auto& a = two.a;
    auto& b = two.b;
    auto& runs = two.runs;

    const Job created = a.create({{"SLEEP_MS", "300"}, {"TEXT", "from the other instance"}}, "", "shared");
    auto seen = b.find(created.id);
    REQUIRE(seen);
    CHECK(seen->phase == Phase::PENDING);
    CHECK(seen->run_id == "shared");
    CHECK(seen->parameter("TEXT") == std::optional<std::string>("from the other instance"));

    b.run(created.id);
    // WAIT through the instance that did not run it: woken by the store's change stamp
    const auto t0 = std::chrono::steady_clock::now();
    auto waited = a.wait(created.id, 10, Phase::QUEUED);
    if (waited && waited->phase == Phase::EXECUTING) waited = a.wait(created.id, 10, Phase::EXECUTING);
    REQUIRE(waited);
    CHECK(waited->phase == Phase::COMPLETED);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    REQUIRE(waited->results.size() == 1);
    std::ifstream in(waited->results[0].path);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "from the other instance");
    CHECK(runs.count[created.id] == 1);

    // the job list is the same through both
    CHECK(a.list({}).size() == 1);
    CHECK(b.list({}).size() == 1);
    // deleted through one, gone from the other, results with it
    CHECK(a.destroy(created.id));
    CHECK_FALSE(b.find(created.id));
    CHECK_FALSE(fs::exists(fs::path(waited->results[0].path).parent_path()));
}

TEST_CASE("jobs queued through both instances each run exactly once", "[uws][pg]") {
    REQUIRE_POSTGRES(url);
    TwoInstances two(url);
    auto& a = two.a;
    auto& b = two.b;
    auto& runs = two.runs;
    std::vector<std::string> ids;
    for (int i = 0; i < 12; ++i) {
        const Job j = (i % 2 ? a : b).create({{"SLEEP_MS", "20"}, {"TEXT", std::to_string(i)}}, "", "");
        ids.push_back(j.id);
        a.run(j.id);  // RUN through both: QUEUED once, claimed once
        b.run(j.id);
    }
    for (const auto& id : ids) {
        const auto j = poll(a, id, Phase::COMPLETED);
        REQUIRE(j);
        CHECK(j->phase == Phase::COMPLETED);
    }
    std::lock_guard lk(runs.m);
    for (const auto& id : ids) CHECK(runs.count[id] == 1);
}

TEST_CASE("ABORT through another instance stops the work where it runs", "[uws][pg]") {
    REQUIRE_POSTGRES(url);
    TwoInstances two(url);
    auto& a = two.a;
    auto& b = two.b;
    auto& runs = two.runs;
    const Job j = a.create({{"SLEEP_MS", "20000"}}, "", "");
    a.run(j.id);  // runs on a (b's watcher could queue it too; the claim decides)
    REQUIRE(poll(b, j.id, Phase::EXECUTING)->phase == Phase::EXECUTING);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(b.abort(j.id).phase == Phase::ABORTED);
    // the executing instance's watcher sees it and cancels the work
    while (runs.cancelled.load() == 0 && std::chrono::steady_clock::now() - t0 < 5s) std::this_thread::sleep_for(10ms);
    CHECK(runs.cancelled.load() == 1);
    std::this_thread::sleep_for(300ms);
    CHECK(a.find(j.id)->phase == Phase::ABORTED);
    CHECK(b.find(j.id)->phase == Phase::ABORTED);
    CHECK(a.find(j.id)->results.empty());
}

TEST_CASE("a job whose instance stopped without a word ends in ERROR through another", "[uws][pg]") {
    REQUIRE_POSTGRES(url);
    TempDir d;
    const std::string schema = schema_name();
    Runs runs;
    // What a `kill -9` leaves: an EXECUTING record whose heartbeats stopped.
    auto store = open_pg_job_store(url, schema);
    Job orphan;
    orphan.id = "orphan0000000000001";
    orphan.phase = Phase::EXECUTING;
    orphan.creation_time = now() - 120;
    orphan.start_time = now() - 60;
    orphan.destruction = now() + 3600;
    orphan.parameters = {{"QUERY", "SELECT 1"}};
    store->insert(orphan);
    Job alive = orphan;  // an EXECUTING job of an instance that still runs: its heartbeats go on
    alive.id = "alive00000000000001";
    store->insert(alive);
    std::atomic<bool> done{false};
    std::thread beating([&] {
        while (!done) {
            store->heartbeat({alive.id});
            std::this_thread::sleep_for(300ms);
        }
    });

    ManagerOptions o = options(d);
    o.stale_seconds = 2;
    JobManager b(open_pg_job_store(url, schema), counting_executor(runs), o);
    // at start-up it leaves both alone (either could be running elsewhere) ...
    CHECK(b.find(orphan.id)->phase == Phase::EXECUTING);
    // ... then takes over the one without heartbeats (stale after 2 s, checked every 5 s)
    const auto j = poll(b, orphan.id, Phase::ERROR);
    done = true;
    beating.join();
    REQUIRE(j);
    CHECK(j->phase == Phase::ERROR);
    CHECK(j->error_message.find("stopped (killed or crashed)") != std::string::npos);
    CHECK(b.find(alive.id)->phase == Phase::EXECUTING);
    CHECK(runs.count.empty());
}

// Regression (review): before the first nextval a sequence's last_value is
// already 1, so the first change of a fresh store never reached the other
// instances (a WAIT there slept to its timeout).
TEST_CASE("the very first change of a fresh shared store wakes the other instance", "[uws][pg]") {
    REQUIRE_POSTGRES(url);
    TwoInstances two(url);
    std::this_thread::sleep_for(500ms);  // b's watcher has read the stamp of the empty store
    const std::uint64_t before = two.b.change_count();
    two.a.create({{"TEXT", "first"}}, "", "");
    CHECK(two.b.wait_for_change(before, 3000ms) != before);
}
