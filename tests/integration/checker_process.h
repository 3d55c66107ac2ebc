// The real smtp_exporter binary in the happyDomain checker mode, as a child process over the
// lab: `-listen 127.0.0.1:PORT` on a free loopback port, the lab's DNS (--dns-servers), the lab's
// SMTP port and no denied networks (the lab is on loopback). Its stdout and stderr go to a log
// file. The integration tests of the checker mode (checker_mode_test.cc) and of its HTML report
// in a browser (checker_report_browser_test.cc) start it here. Not thread-safe: one test drives
// one process.
#pragma once

#include <sys/types.h>

#include <string>

namespace smtp_exporter::testing {

// A loopback TCP port free right now (bound, read, closed).
int FreeLoopbackPort();

class CheckerProcess {
 public:
  CheckerProcess() = default;
  CheckerProcess(const CheckerProcess&) = delete;
  CheckerProcess& operator=(const CheckerProcess&) = delete;
  // Kills the process (SIGKILL) if it still runs.
  ~CheckerProcess();

  // Starts the binary, its log in `log_path`, and waits up to 10 s for GET /health to answer
  // 200. False when it did not (the log says why).
  bool Start(const std::string& log_path);

  // SIGTERM, then its exit status (128 + signal when killed by one); -1 if it did not exit
  // within 15 s.
  int Terminate();

  int port() const { return port_; }
  const std::string& listen() const { return listen_; }  // "127.0.0.1:PORT"
  std::string Log() const;

 private:
  int port_ = 0;
  std::string listen_;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace smtp_exporter::testing
