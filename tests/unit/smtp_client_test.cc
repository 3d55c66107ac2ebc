#include "probes/smtp_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using testing::FakeClock;
using testing::Script;
using testing::ScriptedTransport;

class SmtpClientTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  std::vector<TranscriptEntry> transcript_;
  Deadline deadline_ = clock_.Now() + std::chrono::seconds(10);
};

TEST_F(SmtpClientTest, WaitsForTheWholeMultilineGreeting) {
  // A postscreen-style greeting in two pieces: nothing may be sent before the final line.
  ScriptedTransport transport(Script()
                                  .Send("220-mx.example.org ESMTP\r\n")
                                  .Send("220-please wait\r\n")
                                  .Send("220 mx.example.org ready\r\n")
                                  .Expect("EHLO probe.test")
                                  .Reply({"250 mx.example.org"}));
  SmtpClient client(transport, clock_, clock_.Now(), {}, &transcript_);
  const auto greeting = client.ReadGreeting(deadline_);
  ASSERT_TRUE(greeting.ok());
  EXPECT_EQ(greeting.value().lines.size(), 3u);
  EXPECT_TRUE(transport.client_lines().empty());
  ASSERT_TRUE(client.Command("EHLO probe.test", deadline_).ok());
  EXPECT_TRUE(transport.failures().empty()) << transport.failures().front();
  EXPECT_TRUE(transport.finished());
  ASSERT_EQ(transcript_.size(), 5u);
  EXPECT_EQ(transcript_[3].direction, TranscriptEntry::Direction::kClient);
  EXPECT_EQ(transcript_[3].text, "EHLO probe.test");
}

TEST_F(SmtpClientTest, RejectsCrLfInCommands) {
  ScriptedTransport transport(Script{});
  SmtpClient client(transport, clock_, clock_.Now(), {}, &transcript_);
  for (const char* bad : {"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>", "EHLO x\n", "RCPT TO:<a\r@b>"}) {
    const auto reply = client.Command(bad, deadline_);
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(transport.client_lines().empty());
}

TEST_F(SmtpClientTest, ConnectionClosedMidReply) {
  ScriptedTransport transport(Script().Send("250-first line\r\n250-sec").Close());
  SmtpClient client(transport, clock_, clock_.Now(), {}, &transcript_);
  const auto reply = client.ReadGreeting(deadline_);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kConnectionClosed);
  EXPECT_THAT(reply.error().message, ::testing::HasSubstr("mid-reply"));
}

TEST_F(SmtpClientTest, EndlessReplyHitsTheLineBound) {
  Script script;
  for (int i = 0; i < 20; ++i) script.Send("250-more\r\n");
  ScriptedTransport transport(std::move(script));
  SmtpLimits limits;
  limits.max_reply_lines = 10;
  SmtpClient client(transport, clock_, clock_.Now(), limits, &transcript_);
  const auto reply = client.ReadGreeting(deadline_);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kLimitExceeded);
}

TEST_F(SmtpClientTest, OverlongLineHitsTheByteBound) {
  ScriptedTransport transport(Script().Send("220 " + std::string(10000, 'a')));
  SmtpLimits limits;
  limits.max_line_bytes = 1000;
  SmtpClient client(transport, clock_, clock_.Now(), limits, &transcript_);
  const auto reply = client.ReadGreeting(deadline_);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kLimitExceeded);
}

TEST_F(SmtpClientTest, SessionByteBound) {
  Script script;
  for (int i = 0; i < 100; ++i) script.Send("220-" + std::string(100, 'b') + "\r\n");
  ScriptedTransport transport(std::move(script));
  SmtpLimits limits;
  limits.max_reply_lines = 1000;
  limits.max_session_bytes = 2000;
  SmtpClient client(transport, clock_, clock_.Now(), limits, &transcript_);
  const auto reply = client.ReadGreeting(deadline_);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kLimitExceeded);
}

TEST_F(SmtpClientTest, BareLfIsRecordedNotFatal) {
  ScriptedTransport transport(Script().Send("220 mx ESMTP\n"));
  SmtpClient client(transport, clock_, clock_.Now(), {}, &transcript_);
  ASSERT_TRUE(client.ReadGreeting(deadline_).ok());
  ASSERT_EQ(client.violations().size(), 1u);
  EXPECT_THAT(client.violations()[0], ::testing::HasSubstr("bare LF"));
}

TEST_F(SmtpClientTest, PlaintextAfterStartTlsReplyIsDiscarded) {
  // CVE-2011-0411 class: bytes after "220 go ahead" must never be read as a TLS-era reply.
  ScriptedTransport transport(Script()
                                  .Expect("STARTTLS")
                                  .Send("220 go ahead\r\n250 injected\r\n")
                                  .TlsOk(TlsDetails{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "", {}, {}})
                                  .Expect("EHLO probe.test")
                                  .Reply({"250 real"}));
  SmtpClient client(transport, clock_, clock_.Now(), {}, &transcript_);
  ASSERT_EQ(client.Command("STARTTLS", deadline_).value().code, 220);
  std::size_t discarded = 0;
  ASSERT_TRUE(client.UpgradeToTls("mx.example.org", deadline_, &discarded).ok());
  EXPECT_EQ(discarded, std::string("250 injected\r\n").size());
  const auto ehlo = client.Command("EHLO probe.test", deadline_);
  ASSERT_TRUE(ehlo.ok());
  EXPECT_EQ(ehlo.value().lines.front(), "250 real");
  EXPECT_EQ(transport.sni(), "mx.example.org");
  EXPECT_TRUE(transport.failures().empty());
}

TEST_F(SmtpClientTest, GarbageReplyIsAProtocolError) {
  ScriptedTransport transport(Script().Send("HTTP/1.1 400 Bad Request\r\n"));
  SmtpClient client(transport, clock_, clock_.Now(), {}, &transcript_);
  const auto reply = client.ReadGreeting(deadline_);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kProtocol);
  // The offending line is still in the transcript, verbatim.
  ASSERT_FALSE(transcript_.empty());
  EXPECT_EQ(transcript_.back().text, "HTTP/1.1 400 Bad Request");
}

}  // namespace
}  // namespace smtp_exporter
