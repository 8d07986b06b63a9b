// A small fork-join thread pool. The calling thread takes part as worker 0; helpers spin briefly between jobs
// (ops within one decode step arrive microseconds apart) and then sleep on a futex, so a pool that sits idle or
// shares the CPU with another process yields the core instead of burning it.
#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace kernel {

class ThreadPool {
 public:
  // fn(context, task_index, thread_index) for every task index in [0, task_count).
  using TaskFunction = void (*)(void* context, int64_t task, int thread);

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return thread_count_; }
  void resize(int threads);

  // Runs fn over task indices handed out dynamically (an atomic counter), so a slow core does fewer tasks.
  void parallel_for(int64_t task_count, TaskFunction fn, void* context);

  template <typename Body>
  void parallel_for(int64_t task_count, Body& body) {
    parallel_for(task_count, [](void* context, int64_t task, int thread) { (*static_cast<Body*>(context))(task, thread); }, &body);
  }

 private:
  void start(int threads);
  void stop();
  void worker_loop(int thread, uint32_t seen);
  void run_tasks(int thread);

  int thread_count_ = 1;
  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> busy_{0};
  std::atomic<int64_t> next_task_{0};
  std::atomic<bool> stopping_{false};
  int64_t task_count_ = 0;
  TaskFunction function_ = nullptr;
  void* context_ = nullptr;
};

ThreadPool& global_pool();

}  // namespace kernel
