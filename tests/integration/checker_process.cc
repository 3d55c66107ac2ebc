#include "tests/integration/checker_process.h"

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/integration/lab_environment.h"
#include "tests/support/lab.h"

namespace smtp_exporter::testing {

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

CheckerProcess::~CheckerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool CheckerProcess::Start(const std::string& log_path) {
  port_ = FreeLoopbackPort();
  listen_ = "127.0.0.1:" + std::to_string(port_);
  log_path_ = log_path;
  const std::vector<std::string> args = {SMTP_EXPORTER_BINARY,
                                         "-listen",
                                         listen_,
                                         "--dns-servers",
                                         LabEnvironment::DnsServer(),
                                         "-smtp-port=" + std::to_string(kSmtpPort),
                                         "-denied-networks="};  // the lab is on loopback
  pid_ = fork();
  if (pid_ < 0) {
    return false;
  }
  if (pid_ == 0) {
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    std::vector<char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(5, 0);
  return Eventually(
      [&] {
        const auto res = client.Get("/health");
        return res && res->status == 200;
      },
      std::chrono::seconds(10));
}

int CheckerProcess::Terminate() {
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 150; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

std::string CheckerProcess::Log() const { return ReadFile(log_path_); }

}  // namespace smtp_exporter::testing
