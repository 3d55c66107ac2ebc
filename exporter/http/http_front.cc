#include "exporter/http/http_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "config/base/listen_address.h"

namespace smtp_exporter {
namespace {

using Clock = std::chrono::steady_clock;

// What waiting for a socket came to.
enum class Readiness { kReady, kTimedOut, kStopped, kFailed };

// Waits until `fd` has `events` or `deadline` passes; when `stop_fd` becomes readable first,
// kStopped. poll(2), not select(2): descriptors above FD_SETSIZE are fine.
Readiness WaitFor(int fd, short events, Clock::time_point deadline, int stop_fd) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            Clock::now());
    if (left.count() <= 0) {
      return Readiness::kTimedOut;
    }
    std::array<pollfd, 2> fds{};
    fds[0] = {fd, events, 0};
    fds[1] = {stop_fd, POLLIN, 0};
    const nfds_t count = stop_fd >= 0 ? 2 : 1;
    const int ready = ::poll(fds.data(), count,
                             static_cast<int>(std::min<long long>(left.count() + 1, 60'000)));
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Readiness::kFailed;
    }
    if (ready == 0) {
      continue;  // re-checks the deadline
    }
    if (count == 2 && (fds[1].revents & POLLIN) != 0) {
      return Readiness::kStopped;
    }
    if ((fds[0].revents & (events | POLLHUP | POLLERR)) != 0) {
      return Readiness::kReady;  // a hang-up or error shows in the next read or write
    }
  }
}

void DescribePeer(const sockaddr_storage& address, std::string& ip, int& port) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &v4.sin_addr, text.data(), text.size());
    port = ntohs(v4.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text.data(), text.size());
    port = ntohs(v6.sin6_port);
  } else {
    port = 0;
  }
  ip = text.data();
}

// One connection as httplib reads and writes it: buffered reads and whole writes on a
// non-blocking socket, optionally through TLS, each bounded by the current request's
// deadlines (a read fails once the request deadline passed, or once Stop() ran; a write once
// the write deadline passed, or stop_drain after Stop()).
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, SSL* ssl, int stop_fd, const HttpFrontLimits& limits)
      : fd_(fd), ssl_(ssl), stop_fd_(stop_fd), limits_(limits) {}

  // A new request starts: reads must end by `read_deadline`; the write deadline starts at the
  // reply's first write.
  void StartRequest(Clock::time_point read_deadline) {
    read_deadline_ = read_deadline;
    write_deadline_.reset();
  }

  // Waits (until `deadline`, or Stop()) for the first byte of something to read.
  bool AwaitData(Clock::time_point deadline) {
    if (Buffered()) {
      return true;
    }
    return WaitFor(fd_, POLLIN, deadline, stop_fd_) == Readiness::kReady;
  }

  bool Handshake() {
    for (;;) {
      ERR_clear_error();
      const int result = SSL_accept(ssl_);
      if (result == 1) {
        return true;
      }
      if (!AwaitSsl(SSL_get_error(ssl_, result), /*writing=*/false)) {
        return false;
      }
    }
  }

  // Sends close_notify once, without waiting for the client's (RFC 8446 §6.1 lets the closer
  // leave without it); skipped when the connection already failed.
  void CloseTls() {
    if (ssl_ != nullptr && !failed_) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
    }
  }

  bool is_readable() const override {
    return Buffered() || WaitFor(fd_, POLLIN, read_deadline_, stop_fd_) == Readiness::kReady;
  }

  bool is_writable() const override { return AwaitWritable(); }

  ssize_t read(char* ptr, std::size_t size) override {
    if (size == 0) {
      return 0;
    }
    if (begin_ == end_) {
      const ssize_t filled = Fill();
      if (filled <= 0) {
        return filled;
      }
    }
    const std::size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (!write_deadline_) {
      write_deadline_ = Clock::now() + limits_.write_timeout;
    }
    std::size_t written = 0;
    while (written < size) {
      const ssize_t n = WriteSome(ptr + written, size - written);
      if (n < 0) {
        failed_ = true;
        return -1;
      }
      written += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(written);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      DescribePeer(address, ip, port);
    }
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      DescribePeer(address, ip, port);
    }
  }

  socket_t socket() const override { return fd_; }

 private:
  bool Buffered() const {
    return begin_ != end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0);
  }

  // Whether Stop() ran; remembers when this connection first saw it.
  bool StopSeen() const {
    if (!stop_seen_ && stop_fd_ >= 0) {
      pollfd stop{stop_fd_, POLLIN, 0};
      if (::poll(&stop, 1, 0) == 1) {
        stop_seen_ = Clock::now();
      }
    }
    return stop_seen_.has_value();
  }

  // Waits until the socket takes more bytes, until the write deadline; once Stop() ran, at
  // most stop_drain more, whatever the write deadline.
  bool AwaitWritable() const {
    const auto deadline = write_deadline_.value_or(Clock::now() + limits_.write_timeout);
    if (!StopSeen()) {
      const Readiness ready = WaitFor(fd_, POLLOUT, deadline, stop_fd_);
      if (ready != Readiness::kStopped) {
        return ready == Readiness::kReady;
      }
      StopSeen();
    }
    return WaitFor(fd_, POLLOUT, std::min(deadline, *stop_seen_ + limits_.stop_drain), -1) ==
           Readiness::kReady;
  }

  // Waits for what OpenSSL asked for: while reading (or handshaking), until the request
  // deadline or Stop(); while writing, as AwaitWritable.
  bool AwaitSsl(int error, bool writing) {
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      failed_ = true;  // a protocol error or the peer closed: no close_notify either
      return false;
    }
    if (writing) {
      // TLS 1.3 may want to read while writing (a key update); waiting for that is rare and
      // short, and bounded by the same deadline.
      return error == SSL_ERROR_WANT_WRITE
                 ? AwaitWritable()
                 : WaitFor(fd_, POLLIN, write_deadline_.value_or(Clock::now()), -1) ==
                       Readiness::kReady;
    }
    const short events = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    return WaitFor(fd_, events, read_deadline_, stop_fd_) == Readiness::kReady;
  }

  // Refills the buffer: >0 bytes read, 0 at end of stream, -1 on error, deadline or Stop().
  ssize_t Fill() {
    begin_ = end_ = 0;
    for (;;) {
      if (ssl_ != nullptr) {
        std::size_t n = 0;
        ERR_clear_error();
        if (SSL_read_ex(ssl_, buffer_.data(), buffer_.size(), &n) == 1) {
          end_ = n;
          return static_cast<ssize_t>(n);
        }
        const int error = SSL_get_error(ssl_, 0);
        if (error == SSL_ERROR_ZERO_RETURN) {
          return 0;
        }
        if (!AwaitSsl(error, /*writing=*/false)) {
          return -1;
        }
        continue;
      }
      const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (n >= 0) {
        end_ = static_cast<std::size_t>(n);
        return n;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        failed_ = true;
        return -1;
      }
      if (WaitFor(fd_, POLLIN, read_deadline_, stop_fd_) != Readiness::kReady) {
        return -1;
      }
    }
  }

  ssize_t WriteSome(const char* ptr, std::size_t size) {
    for (;;) {
      if (ssl_ != nullptr) {
        std::size_t n = 0;
        ERR_clear_error();
        if (SSL_write_ex(ssl_, ptr, size, &n) == 1) {
          return static_cast<ssize_t>(n);
        }
        if (!AwaitSsl(SSL_get_error(ssl_, 0), /*writing=*/true)) {
          return -1;
        }
        continue;
      }
      const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0) {
        return n;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return -1;
      }
      if (!AwaitWritable()) {
        return -1;
      }
    }
  }

  const int fd_;
  SSL* const ssl_;
  const int stop_fd_;
  const HttpFrontLimits& limits_;
  Clock::time_point read_deadline_ = Clock::now();
  std::optional<Clock::time_point> write_deadline_;
  mutable std::optional<Clock::time_point> stop_seen_;
  bool failed_ = false;
  std::array<char, 4096> buffer_{};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// Closes a socket whatever path a connection leaves by.
struct SocketCloser {
  int fd;
  ~SocketCloser() {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
};

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

}  // namespace

HttpRoutes::HttpRoutes() {
  // httplib 0.11 writes a content provider's body (Response::set_content_provider: /metrics
  // streams its fleet text that way) only while the server "listens", which it reads from
  // svr_sock_; never listening itself, this one would send the headers of such a reply and no
  // body. Marked as listening for good: HttpFront's deadlines and Stop() bound every write,
  // and httplib's own stop(), which would close svr_sock_, does nothing for a server that never
  // ran listen().
  svr_sock_ = 0;
}

bool HttpRoutes::ServeOne(httplib::Stream& stream, bool close_connection,
                          bool& connection_closed) {
  // Range is ignored (RFC 9110 §14.2): no route serves partial content, and cpp-httplib
  // 0.11.4 answers N overlapping ranges with the body N times (yhirose/cpp-httplib#1766: 8 KB
  // of "0-," turned a 9 KB /metrics into a 25 MB 206). httplib parses Range before this hook
  // and applies it after the handler; emptied here, it is never applied.
  return process_request(stream, close_connection, connection_closed,
                         [](httplib::Request& request) { request.ranges.clear(); });
}

HttpFront::HttpFront(HttpRoutes& routes, HttpFrontLimits limits, SSL_CTX* tls)
    : routes_(routes), limits_(limits), tls_(tls) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

HttpFront::~HttpFront() {
  Stop();
  Wait();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
  }
  if (stop_fd_ >= 0) {
    ::close(stop_fd_);
  }
}

Result<int> HttpFront::Bind(const std::string& listen_address, std::string_view flag) {
  const auto listen = ParseListenAddress(listen_address);
  if (!listen) {
    return Error::InvalidArgument(std::string(flag) + " \"" + listen_address +
                                  "\" is not host:port, :port or [ipv6]:port");
  }
  if (stop_fd_ < 0) {
    return Error::Io(std::string("cannot create an eventfd: ") + std::strerror(errno));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(listen->second);
  const char* host = listen->first.empty() ? nullptr : listen->first.c_str();
  if (::getaddrinfo(host, port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Error::Io("cannot listen on " + listen_address + " (not an address here)");
  }
  std::string why = "in use, or not an address here";
  for (const addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    const int fd = ::socket(candidate->ai_family,
                            candidate->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            candidate->ai_protocol);
    if (fd < 0) {
      continue;
    }
    // SO_REUSEADDR so a restart binds while old connections sit in TIME_WAIT; not
    // SO_REUSEPORT (httplib sets it), which would let a second exporter bind the same port
    // silently and take half the scrapes.
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 &&
        ::listen(fd, SOMAXCONN) == 0) {
      listen_fd_ = fd;
      break;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) {
    return Error::Io("cannot listen on " + listen_address + " (" + why + ")");
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  std::string ip;
  int bound_port = 0;
  DescribePeer(bound, ip, bound_port);
  return bound_port;
}

void HttpFront::Start() {
  if (listen_fd_ >= 0 && !accept_thread_.joinable()) {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
}

void HttpFront::Stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  if (stop_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(stop_fd_, &one, sizeof(one));
  }
}

void HttpFront::Wait() {
  if (accept_thread_.joinable()) {
    accept_thread_.join();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  all_closed_.wait(lock, [this] { return open_connections_ == 0; });
}

HttpFrontStats HttpFront::Stats() const {
  HttpFrontStats stats;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stats.open_connections = open_connections_;
  }
  stats.accepted_total = accepted_total_.load();
  stats.refused_total = refused_total_.load();
  return stats;
}

void HttpFront::AcceptLoop() {
  while (!stopping_.load()) {
    const Readiness ready = WaitFor(listen_fd_, POLLIN, Clock::now() + std::chrono::seconds(1),
                               stop_fd_);
    if (ready == Readiness::kStopped) {
      break;
    }
    if (ready != Readiness::kReady) {
      continue;  // a timeout re-checks stopping_; a poll failure (EINTR aside) is transient
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // EAGAIN (another wake-up took it), ECONNABORTED, or EMFILE/ENFILE: out of
      // descriptors; wait a little rather than spin on a listening socket that stays ready.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    accepted_total_.fetch_add(1);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (open_connections_ >= limits_.max_connections) {
        refused_total_.fetch_add(1);
        Refuse(fd);
        continue;
      }
      ++open_connections_;
    }
    try {
      std::thread([this, fd] { ServeConnection(fd); }).detach();
    } catch (const std::system_error&) {
      // No thread could be started: this connection is refused, the next may fare better.
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        --open_connections_;
      }
      all_closed_.notify_all();
      refused_total_.fetch_add(1);
      Refuse(fd);
    }
  }
  // Closed here, by the only thread that polls it: new clients are refused by the kernel at
  // once instead of waiting in the backlog of a server that stopped accepting.
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void HttpFront::Refuse(int fd) {
  // One non-blocking write of a complete reply: if the client's buffer is full it gets a
  // bare close, which is what it asked for by holding connections open.
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 21\r\nConnection: close\r\nRetry-After: 1\r\n\r\ntoo many connections\n";
  [[maybe_unused]] const ssize_t sent =
      ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

void HttpFront::ServeConnection(int fd) {
  {
    const SocketCloser closer{fd};
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    std::unique_ptr<SSL, SslDeleter> ssl;
    bool usable = true;
    if (tls_ != nullptr) {
      ssl.reset(SSL_new(tls_));
      usable = ssl != nullptr && SSL_set_fd(ssl.get(), fd) == 1;
    }
    ConnectionStream stream(fd, ssl.get(), stop_fd_, limits_);
    stream.StartRequest(Clock::now() + limits_.request_timeout);
    if (usable && ssl != nullptr) {
      usable = stream.Handshake();
    }
    for (std::size_t served = 0; usable && served < limits_.max_requests_per_connection;
         ++served) {
      const auto now = Clock::now();
      // The first request's deadline started at accept; later ones wait idle first.
      if (served > 0) {
        if (!stream.AwaitData(now + limits_.keep_alive_idle)) {
          break;
        }
        stream.StartRequest(Clock::now() + limits_.request_timeout);
      }
      const bool last = served + 1 == limits_.max_requests_per_connection || stopping_.load();
      bool connection_closed = false;
      if (!routes_.ServeOne(stream, last, connection_closed) || connection_closed ||
          stopping_.load()) {
        break;
      }
    }
    stream.CloseTls();
  }
  // The last thing this thread does with `this`: Wait() may return (and the front be
  // destroyed) as soon as the lock is released.
  const std::lock_guard<std::mutex> lock(mutex_);
  --open_connections_;
  all_closed_.notify_all();
}

}  // namespace smtp_exporter
