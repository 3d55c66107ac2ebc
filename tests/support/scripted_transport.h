// ScriptedTransport: a Transport that plays a server from a script and checks, line by line,
// what the client sends (the idea of Go net/smtp's basicServer/basicClient tests). A
// ScriptedTransportFactory hands out one script per Connect(), or a connect error.
// A ScriptedTransport is not thread-safe (one prober plays it); the factory's Connect() is, so
// a daemon's worker threads can share it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/base/clock.h"
#include "probes/transport.h"

namespace smtp_exporter::testing {

class FakeClock;

class Script {
 public:
  // The server sends these bytes (one Read() returns at most this chunk: chunk boundaries model
  // pauses, e.g. a multiline greeting sent in two parts).
  Script& Send(std::string bytes);
  // Convenience: the server sends each line with CRLF, all in one chunk.
  Script& Reply(std::initializer_list<std::string> lines);
  // The client must send exactly this line next (without CRLF).
  Script& Expect(std::string line);
  // The server closes the connection.
  Script& Close();
  // The server stays silent: the next Read() times out.
  Script& Silence();
  // Time passes on `clock` before the server's next move (a slow greeting, a pause).
  Script& Elapse(std::chrono::milliseconds duration, FakeClock* clock);
  // The next StartTls() succeeds with `details` / fails with a kTls error.
  Script& TlsOk(TlsDetails details);
  Script& TlsFail(std::string message);

  struct Step {
    enum class Kind { kSend, kExpect, kClose, kSilence, kTlsOk, kTlsFail, kElapse };
    Kind kind;
    std::string data;
    TlsDetails tls;
    std::chrono::milliseconds elapse{0};  // kElapse
    FakeClock* clock = nullptr;           // kElapse
  };
  const std::vector<Step>& steps() const { return steps_; }

 private:
  std::vector<Step> steps_;
};

class ScriptedTransport final : public Transport {
 public:
  explicit ScriptedTransport(Script script);

  Result<std::string> Read(std::size_t max_bytes, Deadline deadline) override;
  Status Write(std::string_view data, Deadline deadline) override;
  Result<TlsDetails> StartTls(const std::string& server_name, Deadline deadline) override;
  // Records that the client ended the connection; anything sent afterwards is a failure.
  void Close(Deadline deadline) override;

  // The deadline of every Read(), in order.
  const std::vector<Deadline>& read_deadlines() const { return read_deadlines_; }
  // Lines the client sent, in order.
  const std::vector<std::string>& client_lines() const { return client_lines_; }
  // Every deviation from the script (unexpected line, read while a command was expected...).
  const std::vector<std::string>& failures() const { return failures_; }
  // True once every step was played.
  bool finished() const { return next_ == script_.steps().size(); }
  const std::string& sni() const { return sni_; }
  // The client called Close() (after QUIT) rather than just dropping the transport.
  bool closed_by_client() const { return closed_by_client_; }

 private:
  const Script::Step* Peek() const;
  Script script_;
  std::size_t next_ = 0;
  std::string pending_send_;  // rest of a chunk larger than max_bytes
  std::string partial_write_;
  std::vector<std::string> client_lines_;
  std::vector<Deadline> read_deadlines_;
  std::vector<std::string> failures_;
  std::string sni_;
  bool closed_ = false;
  bool closed_by_client_ = false;
};

class ScriptedTransportFactory final : public TransportFactory {
 public:
  // Each Connect() takes the next entry: a script, or an error to return.
  void AddScript(Script script) {
    const std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Entry{std::move(script), std::nullopt});
  }
  void AddConnectError(Error error) {
    const std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Entry{Script{}, std::move(error)});
  }

  Result<std::unique_ptr<Transport>> Connect(const IpAddress& ip, std::uint16_t port,
                                             Deadline deadline) override;

  // The transports handed out, still owned by the prober while it runs; recorded here as
  // shared observers so tests can inspect them afterwards.
  const std::vector<std::shared_ptr<ScriptedTransport>>& transports() const { return made_; }
  int connects() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return connects_;
  }

 private:
  struct Entry {
    Script script;
    std::optional<Error> error;
  };
  mutable std::mutex mutex_;  // guards queue_, made_ and connects_
  std::deque<Entry> queue_;
  std::vector<std::shared_ptr<ScriptedTransport>> made_;
  int connects_ = 0;
};

// A clock that only moves when told to. Thread-safe, as every Clock must be.
class FakeClock final : public Clock {
 public:
  SteadyTime Now() const override {
    return SteadyTime(std::chrono::milliseconds(offset_ms_.load()) + std::chrono::hours(1000));
  }
  WallTime WallNow() const override {
    return WallTime(std::chrono::milliseconds(offset_ms_.load()) +
                    std::chrono::seconds(1'800'000'000));
  }
  void Advance(std::chrono::milliseconds by) { offset_ms_ += by.count(); }

 private:
  std::atomic<std::int64_t> offset_ms_{0};
};

}  // namespace smtp_exporter::testing
