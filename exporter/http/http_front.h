// HttpFront: our own accept loop in front of cpp-httplib's request handling, used by both
// HTTP front-ends (the exporter daemon and the happyDomain checker mode).
//
// Why not httplib's own listen(): cpp-httplib 0.11 serves every connection on a fixed pool of
// worker threads (8 on these machines) and bounds each read, not a request. Measured on the
// Release binary (issue #18): 8 clients sending one header byte per second held all 8 workers,
// and /metrics went unanswered for the whole minute; one such client delayed SIGTERM's exit by
// 47 s, because stop() joins the pool. httplib keeps its request parser and router public
// enough to reuse (Server::process_request is protected), so we keep those and own the part
// that failed:
// - one thread per connection, at most `max_connections` at once (more are answered 503 and
//   closed at once): a slow client holds only its own thread, never the one a scrape needs;
// - a deadline for the whole request (request line, headers and body must all arrive within
//   `request_timeout`), another for writing the reply, an idle limit between keep-alive
//   requests: a client sending a byte per second is cut off, not served forever;
// - Stop() wakes every connection that waits for a client at once (an eventfd all of them
//   poll), so shutdown waits only for handlers already running, and for replies being written
//   at most `stop_drain`.
// - TLS (optional, the web config's tls_server_config): OpenSSL on the same non-blocking
//   socket and the same deadlines, the handshake counted in the first request's.
// An event loop (libmicrohttpd, Boost.Beast) would hold idle connections more cheaply than a
// thread each, but would mean rewriting every route against another request type; at the
// connection counts an exporter sees (hundreds), a blocked thread costs a few tens of KB.
//
// Thread safety: Bind, Start, Stop and Wait are called by one owner thread (Stop may also come
// from another thread, once); connections are served on their own threads and call the
// routes' handlers concurrently, so handlers must be thread-safe, as with httplib's pool.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "config/base/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace smtp_exporter {

// The routes of one front-end: an httplib::Server used only for its router and request
// handling (register handlers with Get/Post, set_logger, set_exception_handler, as usual);
// it never listens itself. Thread-safe once handlers are registered, as httplib's server.
class HttpRoutes : public httplib::Server {
 public:
  HttpRoutes();

  // Reads one request from `stream`, routes it and writes the reply (httplib's own
  // Server::process_request). False when the connection must be closed.
  bool ServeOne(httplib::Stream& stream, bool close_connection, bool& connection_closed);
};

struct HttpFrontLimits {
  // Connections served at once; one more is answered 503 and closed.
  std::size_t max_connections = 512;
  // The whole request (TLS handshake on a new connection, request line, headers, body) must
  // arrive within this, from the first byte awaited.
  std::chrono::milliseconds request_timeout{10'000};
  // Writing one reply must end within this.
  std::chrono::milliseconds write_timeout{10'000};
  // A keep-alive connection is closed after this long without a new request.
  std::chrono::milliseconds keep_alive_idle{5'000};
  // Requests per connection before it is closed (httplib's default is 5; Prometheus keeps
  // one connection per target, so more saves handshakes).
  std::size_t max_requests_per_connection = 100;
  // After Stop(), a reply still being written may wait for its client this long in all.
  std::chrono::milliseconds stop_drain{1'000};
};

// Counters for the operator (a snapshot; each field read atomically).
struct HttpFrontStats {
  std::size_t open_connections = 0;
  std::uint64_t accepted_total = 0;
  std::uint64_t refused_total = 0;  // over max_connections, answered 503
};

class HttpFront {
 public:
  // `routes` must outlive this. `tls` (may be null: plain HTTP) is shared, not owned; it
  // must outlive this too.
  HttpFront(HttpRoutes& routes, HttpFrontLimits limits, SSL_CTX* tls = nullptr);
  ~HttpFront();  // Stop() and Wait()
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  // Listens on `listen_address` ("host:port", ":port" or "[v6]:port"; port 0 lets the kernel
  // pick): the bound port, or why not (naming `flag`, e.g. "-listen").
  Result<int> Bind(const std::string& listen_address, std::string_view flag);
  // Accepts connections on a new thread until Stop().
  void Start();
  // No new connections; connections waiting for their client are closed at once; handlers
  // already running finish. Idempotent.
  void Stop();
  // After Stop(): returns when the accept thread and every connection have ended.
  void Wait();

  HttpFrontStats Stats() const;

 private:
  void AcceptLoop();
  void ServeConnection(int fd);
  void Refuse(int fd);

  HttpRoutes& routes_;
  const HttpFrontLimits limits_;
  SSL_CTX* const tls_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd, readable once Stop() ran
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::condition_variable all_closed_;
  std::size_t open_connections_ = 0;  // guarded by mutex_
  std::atomic<std::uint64_t> accepted_total_{0};
  std::atomic<std::uint64_t> refused_total_{0};
};

}  // namespace smtp_exporter
