#include "probes/smtp_reply.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;

TEST(LineSplitterTest, SplitsCrlfAndFlagsBareLf) {
  LineSplitter splitter(100);
  splitter.Append("220 a\r\n250 b\n25");
  RawLine line;
  ASSERT_EQ(splitter.Next(&line), LineSplitter::Status::kLine);
  EXPECT_EQ(line.text, "220 a");
  EXPECT_FALSE(line.bare_lf);
  ASSERT_EQ(splitter.Next(&line), LineSplitter::Status::kLine);
  EXPECT_EQ(line.text, "250 b");
  EXPECT_TRUE(line.bare_lf);
  EXPECT_EQ(splitter.Next(&line), LineSplitter::Status::kNeedMore);
  splitter.Append("0 c\r\n");
  ASSERT_EQ(splitter.Next(&line), LineSplitter::Status::kLine);
  EXPECT_EQ(line.text, "250 c");
}

TEST(LineSplitterTest, OverlongLineIsReportedNotBuffered) {
  LineSplitter splitter(10);
  splitter.Append(std::string(11, 'x'));
  RawLine line;
  EXPECT_EQ(splitter.Next(&line), LineSplitter::Status::kTooLong);
  LineSplitter complete(10);
  complete.Append(std::string(20, 'x') + "\r\n");
  EXPECT_EQ(complete.Next(&line), LineSplitter::Status::kTooLong);
}

TEST(LineSplitterTest, LineAtTheBoundIsAccepted) {
  LineSplitter splitter(10);
  splitter.Append(std::string(10, 'x') + "\n");
  RawLine line;
  EXPECT_EQ(splitter.Next(&line), LineSplitter::Status::kLine);
}

TEST(ParseReplyLineTest, Forms) {
  auto last = ParseReplyLine("250 OK");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->code, 250);
  EXPECT_TRUE(last->is_last);
  EXPECT_EQ(last->text, "OK");

  auto more = ParseReplyLine("250-PIPELINING");
  ASSERT_TRUE(more);
  EXPECT_FALSE(more->is_last);
  EXPECT_EQ(more->text, "PIPELINING");

  auto bare = ParseReplyLine("354");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->is_last);
  EXPECT_EQ(bare->text, "");
}

TEST(ParseReplyLineTest, RejectsMalformed) {
  EXPECT_FALSE(ParseReplyLine(""));
  EXPECT_FALSE(ParseReplyLine("25"));
  EXPECT_FALSE(ParseReplyLine("2x0 hi"));
  EXPECT_FALSE(ParseReplyLine("250_hi"));
  EXPECT_FALSE(ParseReplyLine("HTTP/1.1 400 Bad Request"));
  EXPECT_FALSE(ParseReplyLine("650 out of range"));
  EXPECT_FALSE(ParseReplyLine("050 out of range"));
}

TEST(ReplyAssemblerTest, MultilineReply) {
  ReplyAssembler assembler(10);
  ASSERT_FALSE(assembler.Add("250-mx.example.org").value());
  ASSERT_FALSE(assembler.Add("250-PIPELINING").value());
  ASSERT_TRUE(assembler.Add("250 SIZE 1000").value());
  const Reply reply = assembler.Take();
  EXPECT_EQ(reply.code, 250);
  EXPECT_THAT(reply.lines, ElementsAre("250-mx.example.org", "250-PIPELINING", "250 SIZE 1000"));
  EXPECT_EQ(reply.Text(), "mx.example.org\nPIPELINING\nSIZE 1000");
  EXPECT_TRUE(assembler.violations().empty());
}

TEST(ReplyAssemblerTest, CodeChangeIsAViolationAndLastCodeWins) {
  ReplyAssembler assembler(10);
  ASSERT_FALSE(assembler.Add("250-first").value());
  ASSERT_TRUE(assembler.Add("550 second").value());
  EXPECT_EQ(assembler.Take().code, 550);
  ASSERT_EQ(assembler.violations().size(), 1u);
  EXPECT_THAT(assembler.violations()[0], ::testing::HasSubstr("RFC 5321 §4.2.1"));
}

TEST(ReplyAssemblerTest, MalformedLineIsAProtocolError) {
  ReplyAssembler assembler(10);
  const auto result = assembler.Add("garbage");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kProtocol);
}

TEST(ReplyAssemblerTest, TooManyLinesIsALimit) {
  ReplyAssembler assembler(3);
  ASSERT_FALSE(assembler.Add("250-a").value());
  ASSERT_FALSE(assembler.Add("250-b").value());
  ASSERT_FALSE(assembler.Add("250-c").value());
  const auto result = assembler.Add("250 d");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kLimitExceeded);
}

TEST(ReplyAssemblerTest, LineOver512OctetsIsAViolation) {
  ReplyAssembler assembler(3);
  ASSERT_TRUE(assembler.Add("250 " + std::string(600, 'x')).value());
  ASSERT_EQ(assembler.violations().size(), 1u);
  EXPECT_THAT(assembler.violations()[0], ::testing::HasSubstr("§4.5.3.1.5"));
}

TEST(ReplyTest, ClassesAndEnhancedStatus) {
  Reply reply{550, {"550 5.7.1 <x@y>: Relay access denied"}};
  EXPECT_TRUE(reply.IsPermanent());
  EXPECT_FALSE(reply.IsPositive());
  EXPECT_EQ(reply.EnhancedStatus(), "5.7.1");
  EXPECT_EQ((Reply{450, {"450 4.2.0 greylisted"}}).EnhancedStatus(), "4.2.0");
  EXPECT_TRUE((Reply{450, {"450 4.2.0 greylisted"}}).IsTransient());
  EXPECT_EQ((Reply{250, {"250 Ok"}}).EnhancedStatus(), "");
  EXPECT_EQ((Reply{250, {"250 2.1.0x Ok"}}).EnhancedStatus(), "");
  EXPECT_EQ((Reply{250, {"250 3.1.0 Ok"}}).EnhancedStatus(), "");
}

// Found by tests/fuzz/smtp_reply_fuzzer: a first line without text ("250-") lost its line
// break, so "250-", "250-a", "250 b" read as "a\nb".
TEST(ReplyTest, TextKeepsEmptyLines) {
  EXPECT_EQ((Reply{250, {"250-", "250-a", "250 b"}}).Text(), "\na\nb");
  EXPECT_EQ((Reply{250, {"250-a", "250-", "250 b"}}).Text(), "a\n\nb");
  EXPECT_EQ((Reply{250, {"250"}}).Text(), "");
}

TEST(ExtensionSetTest, ParsesEhloReply) {
  const Reply ehlo{250,
                   {"250-mx.example.org Hello", "250-PIPELINING", "250-SIZE 10240000",
                    "250-STARTTLS", "250-AUTH PLAIN LOGIN", "250-AUTH=LOGIN PLAIN",
                    "250-enhancedstatuscodes", "250-8BITMIME", "250-DSN", "250-SMTPUTF8",
                    "250 CHUNKING"}};
  const ExtensionSet set = ExtensionSet::FromEhloReply(ehlo);
  std::vector<std::string> keywords;
  for (const auto& item : set.items()) keywords.push_back(item.keyword);
  EXPECT_THAT(keywords, ElementsAre("PIPELINING", "SIZE", "STARTTLS", "AUTH",
                                    "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
                                    "CHUNKING"));
  EXPECT_EQ(set.SizeLimit(), 10240000u);
  EXPECT_THAT(set.AuthMechanisms(), ElementsAre("PLAIN", "LOGIN"));
  EXPECT_TRUE(set.Has("starttls"));
  EXPECT_FALSE(set.Has("mx.example.org"));
}

TEST(ExtensionSetTest, LegacyAuthEqualsForm) {
  const ExtensionSet set =
      ExtensionSet::FromEhloReply(Reply{250, {"250-mx", "250 AUTH=LOGIN PLAIN"}});
  EXPECT_THAT(set.AuthMechanisms(), ElementsAre("LOGIN", "PLAIN"));
}

// Found by tests/fuzz/ehlo_fuzzer: "250-=PLAIN" gave an extension with an empty keyword.
TEST(ExtensionSetTest, EqualsFormWithoutKeywordIsSkipped) {
  const ExtensionSet set = ExtensionSet::FromEhloReply(
      Reply{250, {"250-mx", "250-=PLAIN", "250- =LOGIN", "250 STARTTLS"}});
  std::vector<std::string> keywords;
  for (const auto& item : set.items()) keywords.push_back(item.keyword);
  EXPECT_THAT(keywords, ElementsAre("STARTTLS"));
  EXPECT_FALSE(set.Has(""));
}

TEST(ExtensionSetTest, SizeWithoutNumber) {
  EXPECT_EQ(ExtensionSet::FromEhloReply(Reply{250, {"250-mx", "250 SIZE"}}).SizeLimit(),
            std::nullopt);
  EXPECT_EQ(ExtensionSet::FromEhloReply(Reply{250, {"250-mx", "250 SIZE 12abc"}}).SizeLimit(),
            std::nullopt);
}

TEST(ExtensionSetTest, MergeKeepsOrderAndAddsNew) {
  ExtensionSet plain = ExtensionSet::FromEhloReply(Reply{250, {"250-mx", "250 STARTTLS"}});
  const ExtensionSet tls =
      ExtensionSet::FromEhloReply(Reply{250, {"250-mx", "250-AUTH PLAIN", "250 STARTTLS"}});
  plain.Merge(tls);
  ASSERT_EQ(plain.items().size(), 2u);
  EXPECT_EQ(plain.items()[0].keyword, "STARTTLS");
  EXPECT_EQ(plain.items()[1].keyword, "AUTH");
}

TEST(GreetingTest, HostnameAndEsmtp) {
  const Reply greeting{220, {"220-mx1.example.org ESMTP Postfix", "220 ready"}};
  EXPECT_EQ(AnnouncedHostname(greeting), "mx1.example.org");
  EXPECT_TRUE(GreetingMentionsEsmtp(greeting));
  const Reply old{220, {"220 old.lab.test SMTP Sendmail 8.6 ready"}};
  EXPECT_EQ(AnnouncedHostname(old), "old.lab.test");
  EXPECT_FALSE(GreetingMentionsEsmtp(old));
  EXPECT_FALSE(GreetingMentionsEsmtp(Reply{220, {"220 x NOESMTP"}}));
  EXPECT_EQ(AnnouncedHostname(Reply{220, {"220"}}), "");
}

// #15 item 6: the enhanced status code of a refusal is not the server's name, and free text
// after it is not a name either.
TEST(GreetingTest, AnnouncedHostnameSkipsEnhancedCodeAndFreeText) {
  EXPECT_EQ(AnnouncedHostname(Reply{554, {"554 5.7.1 Your address is blocked"}}), "");
  EXPECT_EQ(AnnouncedHostname(Reply{554, {"554 5.7.1 mx1.example.org access denied"}}),
            "mx1.example.org");
  EXPECT_EQ(AnnouncedHostname(Reply{421, {"421 4.3.2 Service shutting down"}}), "");
  EXPECT_EQ(AnnouncedHostname(Reply{554, {"554 [192.0.2.25] no service"}}), "[192.0.2.25]");
  EXPECT_EQ(AnnouncedHostname(Reply{554, {"554 No SMTP service here"}}), "");
  EXPECT_EQ(AnnouncedHostname(Reply{220, {"220 2.0.0 mx2.example.org ready"}}),
            "mx2.example.org");
  EXPECT_EQ(AnnouncedHostname(Reply{220, {"220 mx3 ESMTP"}}), "mx3");
}

}  // namespace
}  // namespace smtp_exporter
