// server/worker_pool.hpp: try_submit_if_idle hands a task over only when a
// worker is free to start it at once (the query lanes of server/app.cpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "server/worker_pool.hpp"

using vo::server::WorkerPool;
using namespace std::chrono_literals;

namespace {
/// Waits until `pred` holds (at most 5 s); false if it never does.
template <class Pred>
bool eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}
}  // namespace

TEST_CASE("WorkerPool::try_submit_if_idle takes a task only while a worker waits for one", "[worker_pool]") {
    WorkerPool pool(2, 8);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> started{0}, ran{0};
    auto blocker = [&](std::size_t) {
        ++started;
        released.wait();
        ++ran;
    };
    // both workers idle (once their threads are up): two tasks start at once
    REQUIRE(eventually([&] { return pool.try_submit_if_idle(blocker); }));
    REQUIRE(eventually([&] { return started.load() == 1; }));
    REQUIRE(eventually([&] { return pool.try_submit_if_idle(blocker); }));
    REQUIRE(eventually([&] { return started.load() == 2; }));
    // both busy: refused, nothing queued; try_submit still queues
    CHECK_FALSE(pool.try_submit_if_idle(blocker));
    CHECK(pool.try_submit([&](std::size_t) { ++ran; }));
    // a queued task claims the next free worker: still refused
    CHECK_FALSE(pool.try_submit_if_idle(blocker));
    release.set_value();
    CHECK(eventually([&] { return ran.load() == 3; }));
    // all free again
    CHECK(eventually([&] { return pool.try_submit_if_idle([&](std::size_t) { ++ran; }); }));
    CHECK(eventually([&] { return ran.load() == 4; }));
}
