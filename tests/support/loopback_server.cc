#include "tests/support/loopback_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

namespace smtp_exporter::testing {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr std::size_t kMaxLineBytes = 64 * 1024;
constexpr std::size_t kReadChunkBytes = 16 * 1024;
// How long the accept thread keeps accepting at most, so that it can never run forever.
constexpr std::chrono::seconds kMaxAcceptWindow{120};

steady_clock::time_point DeadlineAfter(milliseconds timeout) {
  return steady_clock::now() + std::clamp(timeout, milliseconds(0), kLoopbackMaxWait);
}

int MillisUntil(steady_clock::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kLoopbackMaxWait.count()));
}

Error ErrnoError(ErrorCode code, const char* what) {
  return Error{code, std::string(what) + ": " + std::strerror(errno)};
}

// The server-name callback: records the SNI host name in the std::optional<std::string> that
// the connection stored as the SSL's app data. Called for every ClientHello, with or without SNI.
int RecordServerName(SSL* ssl, int* /*alert*/, void* /*arg*/) {
  auto* sni = static_cast<std::optional<std::string>*>(SSL_get_ex_data(ssl, 0));
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni != nullptr && name != nullptr) {
    *sni = name;
  }
  return SSL_TLSEXT_ERR_OK;
}

// A P-256 key and a self-signed certificate (CN=mx.lab.test, SAN mx.lab.test + alt.lab.test,
// valid from an hour ago until 30 days from now), loaded into a fresh server SSL_CTX.
SSL_CTX* NewServerContext() {
  char curve[] = "P-256";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (key == nullptr || cert == nullptr) {
    return nullptr;
  }
  X509* x = cert.get();
  bool ok = X509_set_version(x, X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(x), kLoopbackCertLifetimeSeconds) != nullptr &&
            X509_set_pubkey(x, key.get()) == 1;
  const std::string common_name(kLoopbackCertCommonName);
  X509_NAME* name = X509_get_subject_name(x);
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                  -1, 0) == 1 &&
       X509_set_issuer_name(x, name) == 1;
  if (!ok) {
    return nullptr;
  }
  std::string san;
  for (std::string_view dns : kLoopbackCertDnsNames) {
    san += (san.empty() ? "DNS:" : ",DNS:") + std::string(dns);
  }
  X509V3_CTX v3{};
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
  if (extension == nullptr) {
    return nullptr;
  }
  ok = X509_add_ext(x, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  if (!ok || X509_sign(x, key.get(), EVP_sha256()) <= 0) {
    return nullptr;
  }

  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return nullptr;
  }
  if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  // SSL_CTX_set_tlsext_servername_callback without the macro's old-style cast.
  SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                        reinterpret_cast<void (*)(void)>(&RecordServerName));
  return ctx;
}

// Fills `storage` with the loopback address of `family` and `port`; returns its length.
socklen_t LoopbackSockaddr(IpFamily family, std::uint16_t port, sockaddr_storage* storage) {
  *storage = {};
  if (family == IpFamily::kV4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_addr = in6addr_loopback;
  return sizeof(sockaddr_in6);
}

// A socket bound to the loopback address on an ephemeral port (and that port), or an error.
Result<std::pair<int, std::uint16_t>> BindLoopback(IpFamily family) {
  sockaddr_storage storage;
  const socklen_t length = LoopbackSockaddr(family, 0, &storage);
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return ErrnoError(errno == EAFNOSUPPORT ? ErrorCode::kUnreachable : ErrorCode::kIo, "socket");
  }
  if (family == IpFamily::kV6) {
    const int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    Error error =
        ErrnoError(errno == EADDRNOTAVAIL ? ErrorCode::kUnreachable : ErrorCode::kIo, "bind");
    close(fd);
    return error;
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
    Error error = ErrnoError(ErrorCode::kIo, "getsockname");
    close(fd);
    return error;
  }
  const std::uint16_t port = family == IpFamily::kV4
                                 ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                 : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return std::make_pair(fd, port);
}

void ClosePipe(int (&fds)[2]) {
  for (int& fd : fds) {
    if (fd >= 0) {
      close(fd);
      fd = -1;
    }
  }
}

// Makes the pipe's read end readable for good (nobody drains it).
void Signal(const int (&fds)[2]) {
  const char byte = 1;
  while (write(fds[1], &byte, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// LoopbackConnection

LoopbackConnection::LoopbackConnection(int fd, SSL_CTX* tls_context, int abort_fd)
    : fd_(fd), tls_context_(tls_context), abort_fd_(abort_fd) {}

LoopbackConnection::~LoopbackConnection() { Close(); }

LoopbackConnection::Io LoopbackConnection::WaitFor(short events, TimePoint deadline) const {
  while (true) {
    pollfd fds[2] = {{fd_, events, 0}, {abort_fd_, POLLIN, 0}};
    const int rc = poll(fds, 2, MillisUntil(deadline));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc < 0) {
      return Io::kError;
    }
    // Readiness of the socket wins over an abort, so that data already there is not lost.
    if (fds[0].revents != 0) {
      return Io::kOk;
    }
    if (fds[1].revents != 0) {
      return Io::kError;
    }
    if (steady_clock::now() >= deadline) {
      return Io::kTimeout;
    }
  }
}

LoopbackConnection::Io LoopbackConnection::ReadOnce(std::size_t max_bytes, TimePoint deadline,
                                                    std::string* out) {
  if (fd_ < 0) {
    return Io::kError;
  }
  std::string chunk(std::clamp<std::size_t>(max_bytes, 1, kReadChunkBytes), '\0');
  while (true) {
    short wait_events = POLLIN;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, chunk.data(), static_cast<int>(chunk.size()));
      if (n > 0) {
        out->append(chunk, 0, static_cast<std::size_t>(n));
        return Io::kOk;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_WRITE) {
        wait_events = POLLOUT;
      } else if (err != SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return err == SSL_ERROR_ZERO_RETURN ? Io::kEof : Io::kError;
      }
    } else {
      const ssize_t n = recv(fd_, chunk.data(), chunk.size(), 0);
      if (n > 0) {
        out->append(chunk, 0, static_cast<std::size_t>(n));
        return Io::kOk;
      }
      if (n == 0) {
        return Io::kEof;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Io::kError;
      }
    }
    if (const Io io = WaitFor(wait_events, deadline); io != Io::kOk) {
      return io;
    }
  }
}

bool LoopbackConnection::SendAll(std::string_view bytes, milliseconds timeout) {
  const TimePoint deadline = DeadlineAfter(timeout);
  if (fd_ < 0) {
    return false;
  }
  while (!bytes.empty()) {
    short wait_events = POLLOUT;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, bytes.data(),
                              static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX)));
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ) {
        wait_events = POLLIN;
      } else if (err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
      }
    } else {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return false;
      }
    }
    if (WaitFor(wait_events, deadline) != Io::kOk) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> LoopbackConnection::ReadLine(milliseconds timeout) {
  const TimePoint deadline = DeadlineAfter(timeout);
  std::size_t searched = 0;
  while (true) {
    if (const std::size_t end = buffer_.find("\r\n", searched > 0 ? searched - 1 : 0);
        end != std::string::npos) {
      std::string line = buffer_.substr(0, end + 2);
      buffer_.erase(0, end + 2);
      return line;
    }
    searched = buffer_.size();
    if (buffer_.size() > kMaxLineBytes) {
      return std::nullopt;
    }
    if (ReadOnce(kReadChunkBytes, deadline, &buffer_) != Io::kOk) {
      return std::nullopt;
    }
  }
}

std::optional<std::string> LoopbackConnection::ReadSome(std::size_t max_bytes,
                                                        milliseconds timeout) {
  if (!buffer_.empty()) {
    const std::size_t n = std::min(std::max<std::size_t>(max_bytes, 1), buffer_.size());
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }
  std::string out;
  if (ReadOnce(max_bytes, DeadlineAfter(timeout), &out) != Io::kOk) {
    return std::nullopt;
  }
  return out;
}

bool LoopbackConnection::WaitForPeerClose(milliseconds timeout, bool* clean) {
  const TimePoint deadline = DeadlineAfter(timeout);
  buffer_.clear();
  while (true) {
    std::string discarded;
    switch (ReadOnce(kReadChunkBytes, deadline, &discarded)) {
      case Io::kOk:
        continue;
      case Io::kEof:
        if (clean != nullptr) {
          *clean = true;
        }
        return true;
      case Io::kTimeout:
        return false;
      case Io::kError:
        if (clean != nullptr) {
          *clean = false;
        }
        // A reset, or a TLS session ended without close_notify, is a close too; an abort is
        // not, but then the test is over anyway.
        return true;
    }
  }
}

bool LoopbackConnection::StartTlsServer(milliseconds timeout) {
  const TimePoint deadline = DeadlineAfter(timeout);
  if (fd_ < 0 || ssl_ != nullptr || tls_context_ == nullptr) {
    return false;
  }
  buffer_.clear();
  ssl_ = SSL_new(tls_context_);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1 || SSL_set_ex_data(ssl_, 0, &sni_) != 1) {
    CloseAbruptly();
    return false;
  }
  while (true) {
    ERR_clear_error();
    const int rc = SSL_accept(ssl_);
    if (rc == 1) {
      return true;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      CloseAbruptly();
      return false;
    }
    if (WaitFor(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) != Io::kOk) {
      CloseAbruptly();
      return false;
    }
  }
}

void LoopbackConnection::FailTlsHandshakeWithGarbage(milliseconds timeout) {
  // The ClientHello; then something whose first five bytes are no TLS record header.
  if (ReadSome(kReadChunkBytes, timeout).has_value()) {
    SendAll("this is not a TLS ServerHello, it is plain text\r\n", timeout);
  }
  Close();
}

void LoopbackConnection::Close() {
  if (fd_ < 0) {
    return;
  }
  if (ssl_ != nullptr) {
    // One non-blocking attempt: sends close_notify, does not wait for the client's.
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  // FIN after everything queued; then drop what the client already sent, because close() with
  // unread input would send a RST instead (and the client could lose our last bytes).
  shutdown(fd_, SHUT_WR);
  char sink[4096];
  for (int i = 0; i < 64 && recv(fd_, sink, sizeof(sink), MSG_DONTWAIT) > 0; ++i) {
  }
  CloseAbruptly();
}

void LoopbackConnection::CloseAbruptly() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  buffer_.clear();
}

void LoopbackConnection::CloseWithReset() {
  if (fd_ >= 0) {
    const linger reset{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  CloseAbruptly();
}

// ---------------------------------------------------------------------------------------------
// LoopbackServer

struct LoopbackServer::TlsContext {
  SSL_CTX* ctx = nullptr;
  ~TlsContext() { SSL_CTX_free(ctx); }
};

Result<std::unique_ptr<LoopbackServer>> LoopbackServer::Start(Handler handler, Options options) {
  if (options.max_connections < 1) {
    return Error{ErrorCode::kInvalidArgument, "max_connections must be at least 1"};
  }
  Result<std::pair<int, std::uint16_t>> bound = BindLoopback(options.family);
  if (!bound.ok()) {
    return bound.error();
  }
  const auto [fd, port] = bound.value();
  if (listen(fd, 16) != 0) {
    Error error = ErrnoError(ErrorCode::kIo, "listen");
    close(fd);
    return error;
  }
  // The constructor is private; unique_ptr takes ownership at once, so fd is never leaked.
  std::unique_ptr<LoopbackServer> server(
      new LoopbackServer(std::move(handler), options, LoopbackAddress(options.family), fd, port));
  if (pipe2(server->stop_accept_pipe_, O_CLOEXEC | O_NONBLOCK) != 0 ||
      pipe2(server->abort_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoError(ErrorCode::kIo, "pipe2");
  }
  server->tls_->ctx = NewServerContext();
  if (server->tls_->ctx == nullptr) {
    std::string detail;
    while (const unsigned long err = ERR_get_error()) {
      char text[256];
      ERR_error_string_n(err, text, sizeof(text));
      detail += std::string(detail.empty() ? "" : "; ") + text;
    }
    return Error{ErrorCode::kInternal, "cannot create the test certificate: " + detail};
  }
  server->accept_thread_ = std::thread([raw = server.get()] { raw->AcceptLoop(); });
  return server;
}

LoopbackServer::LoopbackServer(Handler handler, Options options, IpAddress address, int listen_fd,
                               std::uint16_t port)
    : handler_(std::move(handler)),
      options_(options),
      address_(address),
      listen_fd_(listen_fd),
      port_(port),
      tls_(std::make_unique<TlsContext>()) {}

LoopbackServer::~LoopbackServer() {
  if (abort_pipe_[1] >= 0) {
    Signal(abort_pipe_);
  }
  if (stop_accept_pipe_[1] >= 0) {
    Join();
  }
  close(listen_fd_);
  ClosePipe(stop_accept_pipe_);
  ClosePipe(abort_pipe_);
}

void LoopbackServer::Join() {
  if (joined_) {
    return;
  }
  joined_ = true;
  Signal(stop_accept_pipe_);
  if (accept_thread_.joinable()) {
    accept_thread_.join();
  }
  for (std::thread& thread : connection_threads_) {
    thread.join();
  }
  connection_threads_.clear();
}

void LoopbackServer::AcceptLoop() {
  // Writing to a socket the client has closed must fail with EPIPE, not kill the test binary.
  // SIGPIPE is thread-directed, so blocking it here (and in the handler threads, which inherit
  // this mask) leaves the test thread's signal disposition alone.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);

  const steady_clock::time_point give_up = steady_clock::now() + kMaxAcceptWindow;
  while (accepted_.load() < options_.max_connections && steady_clock::now() < give_up) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_accept_pipe_[0], POLLIN, 0}};
    const int rc = poll(fds, 2, static_cast<int>(kLoopbackMaxWait.count()));
    if (rc < 0 && errno != EINTR) {
      return;
    }
    if (rc <= 0) {
      continue;
    }
    if (fds[1].revents != 0) {
      return;
    }
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      continue;  // EAGAIN (the client gave up already), ECONNABORTED, EINTR, ...
    }
    accepted_.fetch_add(1);
    connection_threads_.emplace_back([this, fd] {
      LoopbackConnection connection(fd, tls_->ctx, abort_pipe_[0]);
      handler_(connection);
    });
  }
}

// ---------------------------------------------------------------------------------------------

std::optional<std::uint16_t> ClosedLoopbackPort(IpFamily family) {
  Result<std::pair<int, std::uint16_t>> bound = BindLoopback(family);
  if (!bound.ok()) {
    return std::nullopt;
  }
  // Bound but never listening: nothing accepts on this port while we hold it, and after
  // close() the kernel answers SYNs to it with RST.
  close(bound.value().first);
  return bound.value().second;
}

IpAddress LoopbackAddress(IpFamily family) {
  return *IpAddress::Parse(family == IpFamily::kV4 ? "127.0.0.1" : "::1");
}

}  // namespace smtp_exporter::testing
