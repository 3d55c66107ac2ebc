// LoopbackServer: a tiny TCP server on 127.0.0.1 or ::1 for transport tests. It accepts at most
// a fixed number of connections and runs a test-supplied handler for each one on its own
// std::thread. The handler talks through a LoopbackConnection: plain bytes, line reads, and an
// in-place TLS server handshake (STARTTLS) with a self-signed certificate generated in-process.
// Every blocking call is a poll(2) with a timeout (5 s at most), so a broken test cannot hang.
//
// Thread safety: LoopbackServer's public methods are called from the test thread only.
// A LoopbackConnection belongs to the handler thread that received it. Data that a handler
// records may be read by the test after Join() (or destruction), which happens-after every
// handler returned.
#pragma once

#include <openssl/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "config/base/ip_address.h"
#include "config/base/result.h"

namespace smtp_exporter::testing {

// The longest any single LoopbackConnection call may block.
inline constexpr std::chrono::milliseconds kLoopbackMaxWait{5000};

// The certificate that StartTlsServer() presents.
inline constexpr std::string_view kLoopbackCertCommonName = "mx.lab.test";
inline constexpr std::string_view kLoopbackCertDnsNames[] = {"mx.lab.test", "alt.lab.test"};
inline constexpr std::int64_t kLoopbackCertLifetimeSeconds = 30LL * 24 * 3600;

// One accepted connection, as seen by the server-side handler.
class LoopbackConnection {
 public:
  LoopbackConnection(int fd, SSL_CTX* tls_context, int abort_fd);
  ~LoopbackConnection();
  LoopbackConnection(const LoopbackConnection&) = delete;
  LoopbackConnection& operator=(const LoopbackConnection&) = delete;

  // Sends all of `bytes` (over TLS once StartTlsServer() succeeded). False on error or timeout.
  bool SendAll(std::string_view bytes, std::chrono::milliseconds timeout = kLoopbackMaxWait);

  // Returns the next line including its CRLF, or nullopt on timeout, EOF (with no complete
  // line) or error. Bytes after the CRLF are kept for the next call. Lines are bounded (64 KiB).
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = kLoopbackMaxWait);

  // Returns whatever bytes arrive first (at most `max_bytes`), or nullopt on timeout, EOF or
  // error. Useful to wait for a ClientHello, or (in a loop) for the client to close.
  std::optional<std::string> ReadSome(std::size_t max_bytes,
                                      std::chrono::milliseconds timeout = kLoopbackMaxWait);

  // Blocks until the client closes the connection (true) or `timeout` passes (false),
  // discarding anything it sends meanwhile. `clean` (optional) tells an orderly end (a TLS
  // close_notify, or a FIN in plaintext) from a TLS session cut without close_notify or a reset.
  bool WaitForPeerClose(std::chrono::milliseconds timeout = kLoopbackMaxWait,
                        bool* clean = nullptr);

  // Runs a TLS server handshake on this connection's socket. On success SendAll/ReadLine/
  // ReadSome go over TLS; on failure (or timeout) the connection is closed. Any unread
  // plaintext is discarded first (as RFC 3207 demands).
  bool StartTlsServer(std::chrono::milliseconds timeout = kLoopbackMaxWait);

  // Makes the client's handshake fail: waits for its ClientHello, answers with bytes that are
  // not a TLS record, then closes the connection.
  void FailTlsHandshakeWithGarbage(std::chrono::milliseconds timeout = kLoopbackMaxWait);

  // Closes the connection; with TLS active, sends close_notify first. Idempotent.
  void Close();
  // Closes the socket at once, without a TLS close_notify. Idempotent.
  void CloseAbruptly();
  // Closes the socket with a TCP RST (SO_LINGER 0), so the client sees ECONNRESET. Idempotent.
  void CloseWithReset();

  // The SNI host name the client sent in its ClientHello; nullopt when it sent none (or no
  // handshake ran).
  const std::optional<std::string>& sni() const { return sni_; }
  bool tls_active() const { return ssl_ != nullptr; }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  enum class Io { kOk, kEof, kTimeout, kError };

  // Waits for `events` on the socket until `deadline`. kError also when the server is shutting
  // down (the abort pipe became readable) or poll failed.
  Io WaitFor(short events, TimePoint deadline) const;
  // One read of at most `max_bytes`, appended to `out`.
  Io ReadOnce(std::size_t max_bytes, TimePoint deadline, std::string* out);

  int fd_;
  SSL_CTX* tls_context_;
  int abort_fd_;
  SSL* ssl_ = nullptr;
  std::string buffer_;  // Bytes read but not yet returned by ReadLine().
  std::optional<std::string> sni_;
};

class LoopbackServer {
 public:
  using Handler = std::function<void(LoopbackConnection&)>;

  struct Options {
    IpFamily family = IpFamily::kV4;  // 127.0.0.1 or ::1
    int max_connections = 1;          // accepted connections; later ones wait in the backlog
  };

  // Binds port 0 on the loopback address, listens, and starts accepting in the background.
  // Fails (e.g. with kUnreachable when the host has no ::1) without starting any thread.
  static Result<std::unique_ptr<LoopbackServer>> Start(Handler handler, Options options);
  static Result<std::unique_ptr<LoopbackServer>> Start(Handler handler) {
    return Start(std::move(handler), Options{});
  }

  // Wakes every blocked call (they fail at once), stops accepting and joins all threads.
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  const IpAddress& address() const { return address_; }
  std::uint16_t port() const { return port_; }

  // Stops accepting and waits until every handler returned on its own (each of its calls is
  // bounded by a timeout, so this is bounded too). Idempotent.
  void Join();

  // Connections accepted so far. Exact after Join().
  int accepted_connections() const { return accepted_.load(); }

 private:
  LoopbackServer(Handler handler, Options options, IpAddress address, int listen_fd,
                 std::uint16_t port);
  void AcceptLoop();

  Handler handler_;
  Options options_;
  IpAddress address_;
  int listen_fd_;
  std::uint16_t port_;
  // Read ends become readable when we stop accepting / abort every connection.
  int stop_accept_pipe_[2] = {-1, -1};
  int abort_pipe_[2] = {-1, -1};
  struct TlsContext;
  std::unique_ptr<TlsContext> tls_;
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  // Written by the accept thread only; read after it has been joined.
  std::vector<std::thread> connection_threads_;
  bool joined_ = false;
};

// A loopback port with nothing listening (bound to port 0 and closed again), for "connection
// refused". nullopt if no socket could be bound.
std::optional<std::uint16_t> ClosedLoopbackPort(IpFamily family);

// 127.0.0.1 or ::1.
IpAddress LoopbackAddress(IpFamily family);

}  // namespace smtp_exporter::testing
