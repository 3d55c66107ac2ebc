// Regression test for a hostile STARTTLS server that answers the ClientHello with an endless
// stream of TLS HelloRequest records: OpenSSL consumes those inside SSL_connect without
// returning, so only the socket BIO guard in TcpTransport can end the handshake at the
// deadline. Loopback only; the server thread is bounded in time and bytes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "probes/smtp_probe.h"
#include "probes/transport.h"

namespace smtp_exporter {
namespace {

void ReadLine(int fd) {
  char c = 0;
  for (int i = 0; i < 1024 && read(fd, &c, 1) == 1 && c != '\n'; ++i) {
  }
}

void SendText(int fd, const std::string& text) {
  (void)send(fd, text.data(), text.size(), MSG_NOSIGNAL);
}

TEST(TlsFloodTest, HelloRequestFloodEndsAtTheDeadline) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  std::atomic<bool> stop{false};
  std::thread server([&] {
    const int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) {
      return;
    }
    SendText(fd, "220 hostile.lab.test ESMTP\r\n");
    ReadLine(fd);
    SendText(fd, "250-hostile.lab.test\r\n250 STARTTLS\r\n");
    ReadLine(fd);
    SendText(fd, "220 go ahead\r\n");
    char buffer[4096];
    (void)recv(fd, buffer, sizeof(buffer), 0);  // the ClientHello
    std::string burst;
    for (int i = 0; i < 512; ++i) burst += std::string("\x16\x03\x01\x00\x04\x00\x00\x00\x00", 9);
    // Bounded: stops when told, when the client goes away, or after 30 s.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!stop && std::chrono::steady_clock::now() < end) {
      if (send(fd, burst.data(), burst.size(), MSG_NOSIGNAL) <= 0) {
        break;
      }
    }
    close(fd);
  });

  TcpTransportFactory factory;
  CheckOptions options;
  options.timeout = std::chrono::seconds(2);
  options.helo_name = "probe.lab.test";
  options.test_null_sender = options.test_postmaster = options.test_open_relay = false;
  const EndpointTarget target{"lab.test", "hostile.lab.test", *IpAddress::Parse("127.0.0.1"),
                              ntohs(address.sin_port)};
  const auto started = std::chrono::steady_clock::now();
  const EndpointObservation obs =
      ProbeEndpoint(factory, SystemClock::Instance(), target, options);
  const auto took = std::chrono::steady_clock::now() - started;
  stop = true;
  shutdown(listener, SHUT_RDWR);
  server.join();
  close(listener);

  EXPECT_FALSE(obs.starttls.ok);
  EXPECT_NE(obs.starttls.error.find("deadline passed"), std::string::npos) << obs.starttls.error;
  // The 2 s budget holds (generous bound for noisy machines; before the fix it never returned).
  EXPECT_LT(took, std::chrono::seconds(10));
}

}  // namespace
}  // namespace smtp_exporter
