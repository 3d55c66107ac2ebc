#include "probes/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>

namespace smtp_exporter {

struct TcpTransportFactory::SslContext {
  SSL_CTX* ctx = nullptr;
  ~SslContext() { SSL_CTX_free(ctx); }
};

namespace {

// poll(2) slices are at most this long, so a cancellation is noticed promptly.
constexpr int kMaxPollSliceMs = 200;

// Milliseconds left until `deadline`, clamped to [0, kMaxPollSliceMs].
int SliceUntil(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    return 0;
  }
  return static_cast<int>(std::min<long long>(left.count(), kMaxPollSliceMs));
}

// Waits for `events` on `fd` until `deadline`: kTimeout then, kCancelled once *cancelled.
Status WaitFor(int fd, short events, Deadline deadline, const char* what,
               const std::atomic<bool>* cancelled) {
  while (true) {
    if (cancelled != nullptr && cancelled->load()) {
      return Error{ErrorCode::kCancelled, std::string("cancelled while ") + what};
    }
    // Checked before every poll, not only when poll times out: a server that keeps the socket
    // readable must not keep us past the deadline.
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{ErrorCode::kTimeout, std::string("deadline passed while ") + what};
    }
    pollfd pfd{fd, events, 0};
    const int timeout_ms = SliceUntil(deadline);
    const int rc = poll(&pfd, 1, timeout_ms);
    if (rc > 0) {
      return Status::Ok();
    }
    if (rc == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error{ErrorCode::kTimeout, std::string("deadline passed while ") + what};
      }
      continue;
    }
    if (errno != EINTR) {
      return Error{ErrorCode::kIo, std::string("poll: ") + std::strerror(errno)};
    }
  }
}

Error ErrnoError(int error_number, const std::string& context) {
  ErrorCode code = ErrorCode::kIo;
  switch (error_number) {
    case ECONNREFUSED:
      code = ErrorCode::kConnectionRefused;
      break;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
      code = ErrorCode::kUnreachable;
      break;
    case ETIMEDOUT:
      code = ErrorCode::kTimeout;
      break;
    case ECONNRESET:
    case EPIPE:
      code = ErrorCode::kConnectionClosed;
      break;
    default:
      break;
  }
  return Error{code, context + ": " + std::strerror(error_number)};
}

// A socket()/connect() failure reported at once, before any packet left this host. An
// "unreachable" errno then comes from the local routing table (no route, a local reject route,
// no source address of that family, IPv6 disabled), not from the network: kNoRoute. The same
// errno later, through SO_ERROR, is an ICMP error or a failed neighbour discovery: kUnreachable.
Error LocalConnectError(int error_number, const std::string& context) {
  Error error = ErrnoError(error_number, context);
  if (error.code == ErrorCode::kUnreachable) {
    error.code = ErrorCode::kNoRoute;
  }
  return error;
}

// Drains OpenSSL's error queue into one readable line.
std::string TakeSslErrors() {
  std::string out;
  while (const unsigned long err = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(err, buffer, sizeof(buffer));
    if (!out.empty()) {
      out += "; ";
    }
    out += buffer;
  }
  return out;
}

std::string NameToString(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) {
    return "";
  }
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(std::max(0L, size)));
  BIO_free(bio);
  return out;
}

void ReadPeerCertificate(SSL* ssl, TlsDetails* details) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) {
    return;
  }
  details->peer_subject = NameToString(X509_get_subject_name(cert));
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    const int count = sk_GENERAL_NAME_num(names);
    // Bounded: a certificate with thousands of SANs is recorded only in part.
    for (int i = 0; i < count && i < 100; ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type == GEN_DNS) {
        const ASN1_IA5STRING* dns = name->d.dNSName;
        details->peer_dns_names.emplace_back(reinterpret_cast<const char*>(dns->data),
                                             static_cast<std::size_t>(dns->length));
      }
    }
    GENERAL_NAMES_free(names);
  }
  std::tm tm{};
  if (const ASN1_TIME* not_after = X509_get0_notAfter(cert);
      not_after != nullptr && ASN1_TIME_to_tm(not_after, &tm) == 1) {
    details->peer_not_after_unix = static_cast<std::int64_t>(timegm(&tm));
  }
  X509_free(cert);
}

// OpenSSL keeps reading on its own inside SSL_connect/SSL_read while records arrive that it
// handles silently (HelloRequest, TLS 1.3 session tickets and key updates): a hostile server
// streaming them would hold us forever, since control never returns to our poll loop. This
// guard, called by the socket BIO before every read, fails the read once the deadline has
// passed or the exporter is shutting down.
struct ReadGuard {
  Deadline deadline{};
  const std::atomic<bool>* cancelled = nullptr;
  bool tripped = false;
};

long GuardedBioCallback(BIO* bio, int oper, const char* /*argp*/, std::size_t /*len*/, int /*argi*/,
                        long /*argl*/, int ret, std::size_t* /*processed*/) {
  if (oper == BIO_CB_READ) {
    auto* guard = reinterpret_cast<ReadGuard*>(BIO_get_callback_arg(bio));
    if (guard != nullptr && (std::chrono::steady_clock::now() >= guard->deadline ||
                             (guard->cancelled != nullptr && guard->cancelled->load()))) {
      guard->tripped = true;
      return -1;
    }
  }
  return ret;
}

class TcpTransport final : public Transport {
 public:
  TcpTransport(int fd, SSL_CTX* ctx, const std::atomic<bool>* cancelled)
      : fd_(fd), ctx_(ctx), cancelled_(cancelled) {}
  ~TcpTransport() override {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    close(fd_);
  }
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  void Close(Deadline deadline) override {
    if (closed_) {
      return;
    }
    closed_ = true;
    Arm(deadline);
    if (ssl_ != nullptr) {
      // SSL_shutdown: 0 after sending our close_notify, 1 once the peer's has arrived.
      for (int round = 0; round < 64; ++round) {
        ERR_clear_error();
        const int rc = SSL_shutdown(ssl_);
        if (rc == 1) {
          break;
        }
        if (rc == 0) {
          continue;  // sent; call again to read the peer's
        }
        const int err = SSL_get_error(ssl_, rc);
        if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ||
            !WaitFor(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "closing",
                     cancelled_)
                 .ok()) {
          break;
        }
      }
      ERR_clear_error();
    }
    // Our FIN, then drain what the server still sends until its FIN (bounded in bytes and by
    // the deadline): close() with unread input would reset the connection.
    shutdown(fd_, SHUT_WR);
    char sink[4096];
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = recv(fd_, sink, sizeof(sink), 0);
      if (n > 0 || (n < 0 && errno == EINTR)) {
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
          WaitFor(fd_, POLLIN, deadline, "closing", cancelled_).ok()) {
        continue;
      }
      break;
    }
  }

  Result<std::string> Read(std::size_t max_bytes, Deadline deadline) override {
    if (max_bytes == 0) {
      return Error{ErrorCode::kInvalidArgument, "Read of 0 bytes"};
    }
    std::string buffer(max_bytes, '\0');
    Arm(deadline);
    while (true) {
      if (ssl_ != nullptr) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
        const int saved_errno = errno;
        if (n > 0) {
          buffer.resize(static_cast<std::size_t>(n));
          return buffer;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_ZERO_RETURN) {
          return Error{ErrorCode::kConnectionClosed, "server closed the TLS session"};
        }
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
          if (Status s = WaitFor(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                                 "waiting for the server", cancelled_);
              !s.ok()) {
            return s.error();
          }
          continue;
        }
        if (guard_.tripped) {
          return GuardError("waiting for the server");
        }
        if (err == SSL_ERROR_SYSCALL && saved_errno == 0) {
          return Error{ErrorCode::kConnectionClosed, "server closed the connection"};
        }
        if (err == SSL_ERROR_SYSCALL) {
          return ErrnoError(saved_errno, "TLS read");
        }
        return Error{ErrorCode::kTls, "TLS read failed: " + TakeSslErrors()};
      }
      const ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
      if (n > 0) {
        buffer.resize(static_cast<std::size_t>(n));
        return buffer;
      }
      if (n == 0) {
        return Error{ErrorCode::kConnectionClosed, "server closed the connection"};
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return ErrnoError(errno, "recv");
      }
      if (Status s = WaitFor(fd_, POLLIN, deadline, "waiting for the server", cancelled_);
          !s.ok()) {
        return s.error();
      }
    }
  }

  Status Write(std::string_view data, Deadline deadline) override {
    Arm(deadline);
    while (!data.empty()) {
      if (ssl_ != nullptr) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        const int saved_errno = errno;
        if (n > 0) {
          data.remove_prefix(static_cast<std::size_t>(n));
          continue;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
          if (Status s = WaitFor(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                                 "sending", cancelled_);
              !s.ok()) {
            return s;
          }
          continue;
        }
        if (guard_.tripped) {
          return GuardError("sending");
        }
        if (err == SSL_ERROR_SYSCALL && saved_errno != 0) {
          return ErrnoError(saved_errno, "TLS write");
        }
        return Error{ErrorCode::kTls, "TLS write failed: " + TakeSslErrors()};
      }
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return ErrnoError(errno, "send");
      }
      if (Status s = WaitFor(fd_, POLLOUT, deadline, "sending", cancelled_); !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }

  Result<TlsDetails> StartTls(const std::string& server_name, Deadline deadline) override {
    if (ssl_ != nullptr) {
      return Error{ErrorCode::kInvalidArgument, "TLS is already active"};
    }
    // ctx_ is null only if SSL_CTX_new failed at start-up; SSL_new(nullptr) then fails cleanly.
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
      return Error{ErrorCode::kInternal, "SSL_new failed: " + TakeSslErrors()};
    }
    // SNI only for host names (RFC 6066 §3 forbids literal IP addresses).
    if (!server_name.empty() && !IpAddress::Parse(server_name).has_value()) {
      std::string sni = server_name;
      if (sni.back() == '.') {
        sni.pop_back();
      }
      // What the SSL_set_tlsext_host_name macro expands to, without its old-style cast.
      SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, sni.data());
    }
    BIO_set_callback_ex(SSL_get_rbio(ssl_), GuardedBioCallback);
    BIO_set_callback_arg(SSL_get_rbio(ssl_), reinterpret_cast<char*>(&guard_));
    Arm(deadline);
    while (true) {
      ERR_clear_error();
      const int rc = SSL_connect(ssl_);
      if (rc == 1) {
        break;
      }
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (Status s = WaitFor(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                               "in the TLS handshake", cancelled_);
            !s.ok()) {
          return s.error();
        }
        continue;
      }
      if (guard_.tripped) {
        TakeSslErrors();
        return GuardError("in the TLS handshake");
      }
      std::string detail = TakeSslErrors();
      if (detail.empty()) {
        switch (err) {
          case SSL_ERROR_SYSCALL:
          case SSL_ERROR_ZERO_RETURN:
            detail = "the server closed the connection during the handshake";
            break;
          default:
            detail = "OpenSSL error " + std::to_string(err);
            break;
        }
      }
      return Error{ErrorCode::kTls, detail};
    }
    TlsDetails details;
    details.version = SSL_get_version(ssl_);
    if (const char* cipher = SSL_get_cipher_name(ssl_); cipher != nullptr) {
      details.cipher = cipher;
    }
    ReadPeerCertificate(ssl_, &details);
    return details;
  }

 private:
  void Arm(Deadline deadline) { guard_ = ReadGuard{deadline, cancelled_, false}; }
  Error GuardError(const char* what) const {
    if (cancelled_ != nullptr && cancelled_->load()) {
      return Error{ErrorCode::kCancelled, std::string("cancelled while ") + what};
    }
    return Error{ErrorCode::kTimeout, std::string("deadline passed while ") + what};
  }

  int fd_;
  SSL_CTX* ctx_;
  const std::atomic<bool>* cancelled_;
  SSL* ssl_ = nullptr;
  bool closed_ = false;  // Close() ran: the stream is shut down
  ReadGuard guard_;      // armed with the current call's deadline; read by the BIO callback
};

}  // namespace

TcpTransportFactory::TcpTransportFactory(const std::atomic<bool>* cancelled)
    : ssl_(std::make_unique<SslContext>()), cancelled_(cancelled) {
  // OpenSSL's socket BIO writes with write(2), not send(MSG_NOSIGNAL): a TLS write to a server
  // that has gone away would raise SIGPIPE and kill the process. A probe must turn that into
  // data, so SIGPIPE is ignored process-wide (as network daemons do); EPIPE is handled.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });
  ssl_->ctx = SSL_CTX_new(TLS_client_method());
  if (ssl_->ctx == nullptr) {
    return;  // Connect() still works; StartTls() then reports the failure.
  }
  // Opportunistic TLS on port 25 (RFC 3207, RFC 7435): never verify, accept whatever the server
  // can speak, and record it. Security level 0 lets old servers negotiate so that we can report
  // their version and cipher instead of a handshake failure.
  SSL_CTX_set_verify(ssl_->ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_security_level(ssl_->ctx, 0);
  SSL_CTX_set_min_proto_version(ssl_->ctx, TLS1_VERSION);
  // Many SMTP servers close without a TLS close_notify: that is a closed connection, not a
  // TLS failure.
  SSL_CTX_set_options(ssl_->ctx, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ssl_->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
}

TcpTransportFactory::~TcpTransportFactory() = default;

Result<std::unique_ptr<Transport>> TcpTransportFactory::Connect(const IpAddress& ip,
                                                                std::uint16_t port,
                                                                Deadline deadline) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (ip.family() == IpFamily::kV4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip.bytes().data(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, ip.bytes().data(), 16);
    length = sizeof(sockaddr_in6);
  }
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return LocalConnectError(errno, "socket");
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    if (errno != EINPROGRESS) {
      const int saved = errno;
      close(fd);
      return LocalConnectError(saved, "connect");
    }
    if (Status s = WaitFor(fd, POLLOUT, deadline, "connecting", cancelled_); !s.ok()) {
      close(fd);
      return s.error();
    }
    int so_error = 0;
    socklen_t so_length = sizeof(so_error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_length) != 0) {
      so_error = errno;
    }
    if (so_error != 0) {
      close(fd);
      return ErrnoError(so_error, "connect");
    }
  }
  return std::unique_ptr<Transport>(std::make_unique<TcpTransport>(fd, ssl_->ctx, cancelled_));
}

}  // namespace smtp_exporter
