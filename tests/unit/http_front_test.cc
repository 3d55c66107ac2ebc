// HttpFront (exporter/http/http_front.h): our accept loop in front of httplib's router, under
// the clients that took httplib 0.11's own listen() down (issue #18 items 2 and 3): slow
// clients holding its 8 workers, SIGTERM waiting for them. Loopback only.
#include "exporter/http/http_front.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "exporter/http/http_policies.h"

namespace smtp_exporter {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A raw loopback client socket; closed when destroyed.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads until the server closes or `within` passes: what arrived, and whether it closed.
  std::pair<std::string, bool> ReadUntilClosed(milliseconds within) {
    std::string received;
    const auto deadline = steady_clock::now() + within;
    while (steady_clock::now() < deadline) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 50) != 1) {
        continue;
      }
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        return {received, true};
      }
      received.append(buffer, static_cast<std::size_t>(n));
    }
    return {received, false};
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class HttpFrontTest : public ::testing::Test {
 protected:
  void Serve(HttpFrontLimits limits) {
    InstallCommonPolicies(routes_);
    routes_.Get("/fast", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("fast\n", "text/plain");
    });
    routes_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(32 * 1024 * 1024, 'x'), "text/plain");
    });
    front_ = std::make_unique<HttpFront>(routes_, limits);
    const auto bound = front_->Bind("127.0.0.1:0", "--test");
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    port_ = bound.value();
    front_->Start();
  }

  // Time for a fresh client to GET /fast, or nullopt when it was not answered within 5 s.
  std::optional<milliseconds> TimeFastRequest() {
    const auto start = steady_clock::now();
    RawClient client(port_);
    if (!client.connected() ||
        !client.Send("GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) {
      return std::nullopt;
    }
    const auto [reply, closed] = client.ReadUntilClosed(milliseconds(5000));
    if (reply.find("200 OK") == std::string::npos || reply.find("fast") == std::string::npos) {
      return std::nullopt;
    }
    return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  }

  HttpRoutes routes_;
  std::unique_ptr<HttpFront> front_;
  int port_ = 0;
};

// Issue #18 item 2: with httplib's listen(), 8 clients sending a header byte per second held
// all 8 workers and /metrics went unanswered. Here 64 such clients hold 64 connections, and a
// new request is still answered at once.
TEST_F(HttpFrontTest, SlowClientsDoNotStarveOtherRequests) {
  Serve(HttpFrontLimits{});
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 64; ++i) {
    slow.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send("G"));  // the start of a request that never comes
  }
  for (int round = 0; round < 3; ++round) {
    for (auto& client : slow) {
      client->Send("E");
    }
    const auto took = TimeFastRequest();
    ASSERT_TRUE(took.has_value()) << "round " << round << ": /fast not answered within 5 s";
    EXPECT_LT(took->count(), 2000) << "round " << round;
  }
  EXPECT_GE(front_->Stats().open_connections, 64u);
}

// A request must arrive whole within request_timeout, however steadily its bytes trickle in:
// httplib's per-read timeout alone served a byte-a-second client for ever.
TEST_F(HttpFrontTest, ARequestTricklingInIsCutOffAtItsDeadline) {
  HttpFrontLimits limits;
  limits.request_timeout = milliseconds(600);
  Serve(limits);
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  const std::string request = "GET /fast HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  const auto start = steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < request.size() && !closed; ++i) {
    if (!client.Send(request.substr(i, 1))) {
      closed = true;
      break;
    }
    const auto [reply, ended] = client.ReadUntilClosed(milliseconds(100));
    EXPECT_EQ(reply.find("fast"), std::string::npos) << "served a request that came too slowly";
    closed = ended;
  }
  const auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  EXPECT_TRUE(closed) << "still open after " << took.count() << " ms";
  EXPECT_LT(took.count(), 3000);
}

TEST_F(HttpFrontTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Serve(HttpFrontLimits{});
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const auto [reply, closed] = client.ReadUntilClosed(milliseconds(5000));
  EXPECT_TRUE(closed);
  std::size_t answers = 0;
  for (auto at = reply.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = reply.find("HTTP/1.1 200 OK", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2u) << reply;
  EXPECT_NE(reply.find("X-Content-Type-Options: nosniff"), std::string::npos);
}

TEST_F(HttpFrontTest, AnIdleKeepAliveConnectionIsClosed) {
  HttpFrontLimits limits;
  limits.keep_alive_idle = milliseconds(300);
  Serve(limits);
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto [reply, closed] = client.ReadUntilClosed(milliseconds(3000));
  EXPECT_NE(reply.find("200 OK"), std::string::npos);
  EXPECT_TRUE(closed) << "an idle keep-alive connection stayed open for 3 s";
}

TEST_F(HttpFrontTest, ConnectionsOverTheCapAreAnswered503AndClosed) {
  HttpFrontLimits limits;
  limits.max_connections = 4;
  Serve(limits);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(held.back()->connected());
    ASSERT_TRUE(held.back()->Send("G"));
  }
  // The accept thread counts a connection once it accepted it; wait (bounded) until all 4 are.
  for (int i = 0; i < 200 && front_->Stats().open_connections < 4; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(front_->Stats().open_connections, 4u);
  RawClient over(port_);
  ASSERT_TRUE(over.connected());
  const auto [reply, closed] = over.ReadUntilClosed(milliseconds(3000));
  EXPECT_NE(reply.find("HTTP/1.1 503"), std::string::npos) << reply;
  EXPECT_TRUE(closed);
  EXPECT_EQ(front_->Stats().refused_total, 1u);
  held.clear();  // once they close, new connections are served again
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = TimeFastRequest().has_value();
  }
  EXPECT_TRUE(served);
}

// Issue #18 item 3: one byte-a-second client delayed httplib's stop() by 47 s. Stop() closes
// every connection that waits for its client at once.
TEST_F(HttpFrontTest, StopDoesNotWaitForSlowClients) {
  Serve(HttpFrontLimits{});
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send("GET /fast HTTP/1.1\r\nHost"));
  }
  RawClient idle(port_);  // a keep-alive connection between requests
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 200 && front_->Stats().open_connections < 21; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const auto start = steady_clock::now();
  front_->Stop();
  front_->Wait();
  const auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  EXPECT_LT(took.count(), 2000);
  EXPECT_EQ(front_->Stats().open_connections, 0u);
  // The port is closed, not left with a backlog nobody accepts from.
  RawClient late(port_);
  EXPECT_FALSE(late.connected());
}

// A client that asked for a large reply and stopped reading holds a write; after Stop() it
// gets stop_drain, not the whole write_timeout.
TEST_F(HttpFrontTest, StopCutsAReplyItsClientDoesNotRead) {
  HttpFrontLimits limits;
  limits.write_timeout = milliseconds(60'000);
  limits.stop_drain = milliseconds(300);
  Serve(limits);
  RawClient stalled(port_);
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(milliseconds(300));  // the handler runs and the write blocks
  const auto start = steady_clock::now();
  front_->Stop();
  front_->Wait();
  const auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  EXPECT_LT(took.count(), 3000);
}

TEST_F(HttpFrontTest, BindRejectsWhatIsNotAListenAddress) {
  HttpFront front(routes_, HttpFrontLimits{});
  const auto bad = front.Bind("no-port", "--web.listen-address");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--web.listen-address"), std::string::npos);
}

TEST_F(HttpFrontTest, BindRefusesAPortInUse) {
  Serve(HttpFrontLimits{});
  HttpFront second(routes_, HttpFrontLimits{});
  const auto bound = second.Bind("127.0.0.1:" + std::to_string(port_), "-listen");
  ASSERT_FALSE(bound.ok()) << "a second server bound port " << port_;
  EXPECT_NE(bound.error().message.find("cannot listen"), std::string::npos);
}

// RFC 9110 §12.5.3: a coding named with q=0 is refused, "*" stands for any coding not named.
TEST(AcceptsGzipTest, ReadsAcceptEncodingAsRfc9110Says) {
  const auto accepts = [](const char* header) {
    httplib::Request req;
    if (header != nullptr) {
      req.headers.emplace("Accept-Encoding", header);
    }
    return AcceptsGzip(req);
  };
  EXPECT_FALSE(accepts(nullptr));
  EXPECT_TRUE(accepts("gzip"));
  EXPECT_TRUE(accepts("GZip"));
  EXPECT_TRUE(accepts("x-gzip"));
  EXPECT_TRUE(accepts("gzip, deflate, br"));
  EXPECT_TRUE(accepts(" br ;q=1.0 ,  gzip ; q=0.5"));
  EXPECT_TRUE(accepts("*"));
  EXPECT_TRUE(accepts("gzip;q=0.001"));
  EXPECT_FALSE(accepts("gzip;q=0"));
  EXPECT_FALSE(accepts("gzip; q=0.000"));
  EXPECT_FALSE(accepts("gzip;q=0, *"));
  EXPECT_FALSE(accepts("*;q=0"));
  EXPECT_FALSE(accepts("identity"));
  EXPECT_FALSE(accepts("br, deflate"));
  EXPECT_FALSE(accepts("gzipx"));
  EXPECT_FALSE(accepts(""));
  EXPECT_FALSE(accepts(",,,;;;q=0"));
}

}  // namespace
}  // namespace smtp_exporter
