// A small fork-join thread pool. The calling thread takes part as worker 0; helpers spin briefly between jobs (ops
// within one decode step arrive microseconds apart) and then sleep on a futex, so a pool that sits idle or shares the
// CPU with another process yields the core instead of burning it.
//
// Tasks are claimed one at a time from a counter tagged with the job's generation, and a job is done when all its
// tasks are: the caller never waits for a helper that took no task. So a helper that is slow to wake (descheduled by
// another process, or still asleep) costs nothing — the caller runs the tasks itself — and an op too small to share
// finishes on the caller before a helper arrives.
//
// What remains is a helper descheduled in the middle of a task: the caller must wait for that task. When such a stall
// happens (the caller waited more than 0.2 ms, plus twice its average task time, after finishing its own share), the
// pool runs the next jobs on the caller alone for a while (20 ms, doubling while stalls recur soon after, up to 1 s),
// then tries the helpers again. Under contention a 2-thread decode then degrades towards 1-thread speed instead of
// collapsing. A prefill's jobs (its GEMMs and its attention, marked with LongTasks) are shared through a back-off: a
// stall costs such a job at most one task and the helper's return, while a back-off that caught it ran it whole on one
// thread (measured: up to 22 GEMMs in one 3B prefill, 35–70 ms each; an attention job takes ~15 ms on two threads).
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

  // Runs fn over task indices handed out dynamically, so a slow core does fewer tasks.
  void parallel_for(int64_t task_count, TaskFunction fn, void* context);

  template <typename Body>
  void parallel_for(int64_t task_count, Body& body) {
    parallel_for(task_count, [](void* context, int64_t task, int thread) { (*static_cast<Body*>(context))(task, thread); }, &body);
  }

  // Runs fn(context, thread, thread) exactly once on every thread of the pool (the caller as thread 0) and waits for
  // all of them: task i is pinned to thread i, so the caller never runs a helper's task, whatever the back-off or a
  // CallerOnly say. For measurements of what each thread can do at the same time (the compute peak probe); not
  // counted in the statistics.
  void run_on_every_thread(TaskFunction fn, void* context);

  template <typename Body>
  void run_on_every_thread(Body& body) {
    run_on_every_thread([](void* context, int64_t, int thread) { (*static_cast<Body*>(context))(thread); }, &body);
  }

  // Counters since the pool was created (or resized), for benchmarks: jobs run, jobs that helpers took part in, jobs
  // the caller ran alone while backing off after a stall, stalls detected, the caller's total wait for helpers, and
  // jobs of several tasks run on the caller because a CallerOnly was active.
  struct Statistics {
    uint64_t jobs = 0, shared_jobs = 0, solo_jobs = 0, stalls = 0, caller_only_jobs = 0;
    double wait_microseconds = 0;
  };
  Statistics statistics() const { return statistics_; }

 private:
  void start(int threads);
  void stop();
  void worker_loop(int thread, uint32_t seen);
  // Claims and runs tasks of job `generation` until none are left (or the job changed); returns how many it ran.
  int64_t run_tasks(uint32_t generation, int thread);
  bool backing_off();
  // Publishes a job of `task_count` tasks to the helpers (pinned: task i belongs to thread i) and wakes sleepers.
  void publish(TaskFunction fn, void* context, int64_t task_count, bool pinned);

  int thread_count_ = 1;
  std::vector<std::thread> workers_;
  // (generation << 32) | next task index: claims are only valid for the job they were made for.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};        // tasks of the current job finished (by anyone)
  std::atomic<uint32_t> wake_{0};       // futex word sleeping helpers wait on
  std::atomic<int> sleepers_{0};        // helpers asleep (or about to be) on wake_
  std::atomic<bool> stopping_{false};
  // The current job; written by the caller before it publishes the generation, read by helpers after.
  std::atomic<TaskFunction> function_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<int64_t> task_count_{0};
  // The generation of the last run_on_every_thread job: helpers that see it run their own task instead of claiming.
  std::atomic<uint32_t> pinned_generation_{0};
  uint32_t generation_ = 0;             // caller-side copy of the current generation
  bool caller_only_ = false;            // set by CallerOnly: run jobs on the caller
  bool long_tasks_ = false;             // set by LongTasks: share jobs even while backing off
  int64_t solo_until_ns_ = 0;           // back-off: run jobs on the caller alone until then (steady clock)
  int64_t solo_span_ns_ = 0;            // length of the current (last) back-off
  int64_t last_stall_ns_ = 0;           // when the last stall was seen (0: never)
  Statistics statistics_;

 public:
  // Sets one of the pool's flags while it lives (when `active`; an enclosing one stays in force) and restores it.
  template <bool ThreadPool::*Flag>
  class ScopedFlag {
   public:
    ScopedFlag(ThreadPool& pool, bool active) : pool_(pool), previous_(pool.*Flag) { pool.*Flag = previous_ || active; }
    ~ScopedFlag() { pool_.*Flag = previous_; }
    ScopedFlag(const ScopedFlag&) = delete;
    ScopedFlag& operator=(const ScopedFlag&) = delete;

   private:
    ThreadPool& pool_;
    bool previous_;
  };
  // Jobs run on the calling thread alone: for work smaller than the cost of handing it over (waking a helper, moving
  // the results between cores), as a tiny model's decode GEMVs are.
  using CallerOnly = ScopedFlag<&ThreadPool::caller_only_>;
  // Jobs are offered to the helpers even while the pool backs off after a stall: for a prefill's long jobs (a GEMM's
  // tasks take milliseconds; attention over 512 tokens is hundreds of tasks, ~15 ms for a 3B layer), where a helper
  // descheduled mid-task delays the job by at most its one task, but running the whole job alone costs half of it.
  // The back-off is for the short jobs of a decode step, whose every job would wait for a descheduled helper.
  using LongTasks = ScopedFlag<&ThreadPool::long_tasks_>;
};

ThreadPool& global_pool();

}  // namespace kernel
