// Transport: a byte stream to one SMTP server that can be upgraded to TLS in place (RFC 3207).
// TransportFactory opens them. The SMTP client speaks through this interface only, so tests
// substitute a scripted transport and never open sockets.
//
// Thread safety: a Transport is used by one thread at a time. TcpTransportFactory is
// thread-safe (its shared SSL_CTX is only read after construction).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/clock.h"
#include "config/base/ip_address.h"
#include "config/base/result.h"

namespace smtp_exporter {

// What the TLS handshake negotiated. The certificate is recorded for context only: the seed
// leaves certificate posture to a dedicated TLS checker, so it is never verified here.
struct TlsDetails {
  std::string version;                              // "TLSv1.3"
  std::string cipher;                               // "TLS_AES_256_GCM_SHA384"
  std::string peer_subject;                         // RFC 2253 form, e.g. "CN=mx1.example.org"
  std::vector<std::string> peer_dns_names;          // subjectAltName dNSName entries
  std::optional<std::int64_t> peer_not_after_unix;  // certificate notAfter, Unix seconds
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Waits until some bytes arrive or `deadline` passes and returns at most `max_bytes` of them.
  // kConnectionClosed when the peer closed the stream; kTimeout at the deadline.
  virtual Result<std::string> Read(std::size_t max_bytes, Deadline deadline) = 0;

  // Sends all of `data` before `deadline`.
  virtual Status Write(std::string_view data, Deadline deadline) = 0;

  // Runs a TLS client handshake on the same connection. `server_name` is sent as SNI unless it
  // is empty or an IP literal. The certificate is not verified.
  virtual Result<TlsDetails> StartTls(const std::string& server_name, Deadline deadline) = 0;

  // Ends the connection politely, after QUIT: on a TLS session sends close_notify and waits
  // (until `deadline`) for the server's (RFC 8446 §6.1), then reads to end of stream before
  // closing, so the kernel sends a FIN rather than a RST for unread bytes (servers log a
  // reset as an error). Best effort: errors end it quietly. Nothing may be sent afterwards.
  virtual void Close(Deadline deadline) = 0;
};

class TransportFactory {
 public:
  virtual ~TransportFactory() = default;
  // Opens a TCP connection to `ip`:`port` before `deadline`. kConnectionRefused, kUnreachable
  // and kTimeout tell the usual failures apart.
  virtual Result<std::unique_ptr<Transport>> Connect(const IpAddress& ip, std::uint16_t port,
                                                     Deadline deadline) = 0;
};

// Real sockets (non-blocking, poll(2) against the deadline) and OpenSSL for STARTTLS.
class TcpTransportFactory final : public TransportFactory {
 public:
  // `cancelled` (optional, must outlive the factory and its transports): once true, every wait
  // in Connect/Read/Write/StartTls ends within ~200 ms with kCancelled (shutdown).
  explicit TcpTransportFactory(const std::atomic<bool>* cancelled = nullptr);
  ~TcpTransportFactory() override;
  TcpTransportFactory(const TcpTransportFactory&) = delete;
  TcpTransportFactory& operator=(const TcpTransportFactory&) = delete;

  Result<std::unique_ptr<Transport>> Connect(const IpAddress& ip, std::uint16_t port,
                                             Deadline deadline) override;

 private:
  struct SslContext;
  std::unique_ptr<SslContext> ssl_;
  const std::atomic<bool>* cancelled_;
};

}  // namespace smtp_exporter
