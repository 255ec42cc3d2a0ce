// A bounded pool of worker threads for blocking work (SQLite queries, FITS
// reads), so that the I/O threads never block (DESIGN.md "How a request flows").
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vo::server {

/// Runs tasks on `threads` threads. A task gets the index of the worker
/// running it (0 .. threads-1), so per-worker state (one SQLite connection
/// each) needs no locking. At most `max_queued` tasks wait; beyond that
/// try_submit refuses.
class WorkerPool {
public:
    using Task = std::function<void(std::size_t worker)>;

    WorkerPool(std::size_t threads, std::size_t max_queued) : max_queued_(max_queued) {
        for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { loop(i); });
    }
    ~WorkerPool() {
        {
            std::lock_guard lk(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Queues `task`; false (task not queued) when max_queued tasks wait.
    bool try_submit(Task task) {
        {
            std::lock_guard lk(mutex_);
            if (queue_.size() >= max_queued_ || stopping_) return false;
            queue_.push_back(std::move(task));
        }
        cv_.notify_one();
        return true;
    }

    /// Queues `task` only when a worker is waiting for work that no queued
    /// task has claimed yet, so that it starts at once; false otherwise
    /// (nothing queued).
    bool try_submit_if_idle(Task task) {
        {
            std::lock_guard lk(mutex_);
            if (stopping_ || idle_ <= queue_.size()) return false;
            queue_.push_back(std::move(task));
        }
        cv_.notify_one();
        return true;
    }

    std::size_t size() const { return threads_.size(); }

private:
    void loop(std::size_t index) {
        while (true) {
            Task task;
            {
                std::unique_lock lk(mutex_);
                ++idle_;
                cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
                --idle_;
                if (queue_.empty()) return;  // stopping
                task = std::move(queue_.front());
                queue_.pop_front();
            }
            task(index);
        }
    }

    std::size_t max_queued_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Task> queue_;
    std::size_t idle_ = 0;  // workers waiting in loop()
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace vo::server
