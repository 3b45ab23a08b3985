// A small persistent pool for the large batched calls. Threads start on first use and then sleep
// on a condition variable; small calls never touch the pool (waking a thread costs more than a
// single decision's arithmetic).
#pragma once

#include <cstdint>
#include <functional>

namespace uniscale::core {

// Number of threads a parallel call may use, the caller included. Read once from
// UNISCALE_NUM_THREADS, else std::thread::hardware_concurrency().
int max_threads();

// Runs fn(task, worker) for every task in [0, n_tasks), with worker in [0, max_threads()).
// The calling thread takes part. If another call already owns the pool, or n_tasks < 2, or
// max_threads() == 1, every task runs on the caller (worker 0): concurrent callers never wait
// for each other here.
void parallel_for(std::int64_t n_tasks, const std::function<void(std::int64_t, int)>& fn);

}  // namespace uniscale::core
