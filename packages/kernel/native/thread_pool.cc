// Fork-join pool: see thread_pool.h for the claiming, waiting and back-off policy.
#include "thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax() { asm volatile("yield"); }
#else
static inline void cpu_relax() {}
#endif

namespace kernel {

namespace {

// How long a helper spins for the next job before it sleeps. Decode issues ~100 ops per token back to back,
// so a short spin keeps the per-op wake-up near 0.2 µs instead of the ~40 µs of a futex wake.
constexpr int64_t kSpinBeforeSleepNs = 300'000;
// How long the caller spins for helpers to finish before it also yields its core between checks (so a helper that
// shares the caller's core, or another process, can run).
constexpr int64_t kSpinBeforeYieldNs = 50'000;
// A wait longer than this (plus twice the caller's average task time) means a helper was descheduled mid-task.
constexpr int64_t kStallNs = 200'000;
// Back-off after a stall: run jobs on the caller alone for this long, doubling while stalls recur.
constexpr int64_t kFirstBackOffNs = 20'000'000;
constexpr int64_t kLongestBackOffNs = 1'000'000'000;

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline uint32_t generation_of(uint64_t claim) { return (uint32_t)(claim >> 32); }

}  // namespace

ThreadPool::ThreadPool(int threads) { start(threads); }
ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int threads) {
  thread_count_ = threads < 1 ? 1 : threads;
  stopping_.store(false);
  solo_until_ns_ = 0;
  solo_span_ns_ = 0;
  last_stall_ns_ = 0;
  statistics_ = Statistics{};
  // Each helper starts from the generation current now, so a job (or a stop) published before the helper first runs
  // is still seen as new instead of being waited past forever (a resize right after another, on a loaded machine).
  const uint32_t generation = generation_;
  for (int thread = 1; thread < thread_count_; thread++)
    workers_.emplace_back([this, thread, generation] { worker_loop(thread, generation); });
}

void ThreadPool::stop() {
  stopping_.store(true, std::memory_order_seq_cst);
  // A new generation gets spinning helpers out of their wait; the wake word gets sleeping ones.
  generation_++;
  claim_.store((uint64_t)generation_ << 32, std::memory_order_seq_cst);
  wake_.fetch_add(1, std::memory_order_seq_cst);
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void ThreadPool::resize(int threads) {
  if (threads == thread_count_) return;
  stop();
  start(threads);
}

int64_t ThreadPool::run_tasks(uint32_t generation, int thread) {
  // A pinned job (run_on_every_thread): this thread's own task, once. Its fields stay put until every thread is done,
  // because the caller waits for all of them before it publishes anything else. A helper still on an older generation
  // reads a different pinned generation here and takes the claiming path, where the closed claims stop it.
  if (pinned_generation_.load(std::memory_order_acquire) == generation) {
    const TaskFunction function = function_.load(std::memory_order_acquire);
    void* context = context_.load(std::memory_order_acquire);
    function(context, thread, thread);
    done_.fetch_add(1, std::memory_order_release);
    return 1;
  }
  int64_t ran = 0;
  for (;;) {
    const uint64_t claim = claim_.load(std::memory_order_acquire);
    if (generation_of(claim) != generation) return ran;
    // The job's fields are read after the claim word and before the claim is taken. They may already belong to a
    // later job (the caller writes them with release after closing this job's claims, see parallel_for); then the
    // compare-exchange below fails, because the claim word has moved on, and the loop re-reads both.
    const TaskFunction function = function_.load(std::memory_order_acquire);
    void* context = context_.load(std::memory_order_acquire);
    const int64_t count = task_count_.load(std::memory_order_acquire);
    if ((int64_t)(claim & 0xffffffffu) >= count) return ran;
    uint64_t expected = claim;
    if (!claim_.compare_exchange_strong(expected, claim + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
    function(context, (int64_t)(claim & 0xffffffffu), thread);
    done_.fetch_add(1, std::memory_order_release);
    ran++;
  }
}

void ThreadPool::worker_loop(int thread, uint32_t seen) {
  for (;;) {
    int64_t spin_until = now_ns() + kSpinBeforeSleepNs;
    int spins = 0;
    uint64_t claim;
    while (generation_of(claim = claim_.load(std::memory_order_acquire)) == seen) {
      cpu_relax();
      if (++spins < 256) continue;
      spins = 0;
      if (now_ns() < spin_until) continue;
      // Sleep until woken. The caller wakes only when sleepers_ > 0, read after it published the job; this helper
      // checks the job after announcing itself, so one of the two sees the other (both are sequentially consistent).
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      const uint32_t word = wake_.load(std::memory_order_seq_cst);
      if (generation_of(claim_.load(std::memory_order_seq_cst)) == seen) wake_.wait(word, std::memory_order_seq_cst);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      spin_until = now_ns() + kSpinBeforeSleepNs;
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    seen = generation_of(claim);
    run_tasks(seen, thread);
  }
}

void ThreadPool::publish(TaskFunction fn, void* context, int64_t task_count, bool pinned) {
  // Close the previous job's claims first (same generation, index past any count), so a helper still holding a stale
  // view of it cannot take a task with the fields written next.
  claim_.store(((uint64_t)generation_ << 32) | 0xffffffffu, std::memory_order_seq_cst);
  function_.store(fn, std::memory_order_release);
  context_.store(context, std::memory_order_release);
  task_count_.store(task_count, std::memory_order_release);
  done_.store(0, std::memory_order_relaxed);
  // A pinned job is marked before its generation appears.
  if (pinned) pinned_generation_.store(generation_ + 1, std::memory_order_seq_cst);
  generation_++;
  claim_.store((uint64_t)generation_ << 32, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    wake_.fetch_add(1, std::memory_order_seq_cst);
    wake_.notify_all();
  }
}

bool ThreadPool::backing_off() {
  if (solo_until_ns_ == 0) return false;
  if (now_ns() < solo_until_ns_) return true;
  solo_until_ns_ = 0;
  return false;
}

void ThreadPool::parallel_for(int64_t task_count, TaskFunction fn, void* context) {
  if (task_count <= 0) return;
  statistics_.jobs++;
  if (thread_count_ == 1 || task_count == 1 || caller_only_ || (!long_tasks_ && backing_off())) {
    if (thread_count_ > 1 && task_count > 1) (caller_only_ ? statistics_.caller_only_jobs : statistics_.solo_jobs)++;
    for (int64_t task = 0; task < task_count; task++) fn(context, task, 0);
    return;
  }
  publish(fn, context, task_count, false);
  const int64_t started = now_ns();
  const int64_t ran = run_tasks(generation_, 0);
  if (ran < task_count) statistics_.shared_jobs++;
  if (done_.load(std::memory_order_acquire) == task_count) return;
  // Helpers still hold tasks: wait for them, spinning at first, then yielding the core between checks.
  const int64_t finished_own = now_ns();
  int64_t now = finished_own;
  while (done_.load(std::memory_order_acquire) != task_count) {
    if (now - finished_own < kSpinBeforeYieldNs) {
      for (int i = 0; i < 64; i++) cpu_relax();
    } else {
      std::this_thread::yield();
    }
    now = now_ns();
  }
  const int64_t waited = now - finished_own;
  statistics_.wait_microseconds += (double)waited / 1000.0;
  const int64_t average_task = ran > 0 ? (finished_own - started) / ran : 0;
  if (ran > 0 && waited > kStallNs + 2 * average_task) {
    // A helper was descheduled in the middle of a task: run the next jobs on this thread alone for a while, longer
    // when the last back-off ended with another stall soon after.
    statistics_.stalls++;
    const bool recurring = last_stall_ns_ != 0 && now - last_stall_ns_ < solo_span_ns_ + kFirstBackOffNs * 5;
    solo_span_ns_ = recurring ? std::min(kLongestBackOffNs, 2 * solo_span_ns_) : kFirstBackOffNs;
    solo_until_ns_ = now + solo_span_ns_;
    last_stall_ns_ = now;
  }
}

void ThreadPool::run_on_every_thread(TaskFunction fn, void* context) {
  if (thread_count_ == 1) {
    fn(context, 0, 0);
    return;
  }
  publish(fn, context, thread_count_, true);
  fn(context, 0, 0);
  done_.fetch_add(1, std::memory_order_release);
  while (done_.load(std::memory_order_acquire) != thread_count_) std::this_thread::yield();
}

ThreadPool& global_pool() {
  static ThreadPool pool(1);
  return pool;
}

}  // namespace kernel
