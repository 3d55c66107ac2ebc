// Clock: the source of time for probes and the scheduler, so tests can inject a fake one.
// SystemClock is stateless and thread-safe; implementations must be thread-safe.
#pragma once

#include <chrono>

namespace smtp_exporter {

// Deadlines are points on the monotonic clock: wall-clock jumps never stretch or cut a probe.
using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Deadline = SteadyTime;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const = 0;
  virtual WallTime WallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }

  // A process-wide instance (stateless, so sharing it is safe).
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

// Seconds between two steady points, as a double (for observations and metrics).
inline double SecondsBetween(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace smtp_exporter
