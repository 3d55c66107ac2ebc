// ParseCnameRecords on byte fixtures: well-formed answers with compression, and every kind of
// truncation a hostile or broken server could send.
#include "probes/dns_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;

// Encodes "a.b.c" as DNS labels.
void Name(std::vector<unsigned char>* out, const std::string& name) {
  std::size_t start = 0;
  while (start < name.size()) {
    const auto dot = name.find('.', start);
    const std::string label = name.substr(start, dot == std::string::npos ? std::string::npos
                                                                           : dot - start);
    out->push_back(static_cast<unsigned char>(label.size()));
    out->insert(out->end(), label.begin(), label.end());
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  out->push_back(0);
}

void U16(std::vector<unsigned char>* out, unsigned value) {
  out->push_back(static_cast<unsigned char>(value >> 8));
  out->push_back(static_cast<unsigned char>(value & 0xff));
}

// Answer to "alias2.lab.test A": CNAME alias2 -> alias, CNAME alias -> mx.lab.test (written
// with a compression pointer to "lab.test" in the question), A 127.0.0.2.
std::vector<unsigned char> ChainAnswer() {
  std::vector<unsigned char> m = {0x12, 0x34, 0x81, 0x80};
  U16(&m, 1);  // QDCOUNT
  U16(&m, 3);  // ANCOUNT
  U16(&m, 0);
  U16(&m, 0);
  Name(&m, "ALIAS2.lab.test");  // offset 12; "lab.test" starts at 12 + 7 = 19
  U16(&m, 1);
  U16(&m, 1);
  auto rr = [&](const std::vector<unsigned char>& owner, unsigned type,
                const std::vector<unsigned char>& rdata) {
    m.insert(m.end(), owner.begin(), owner.end());
    U16(&m, type);
    U16(&m, 1);
    U16(&m, 0);
    U16(&m, 60);
    U16(&m, static_cast<unsigned>(rdata.size()));
    m.insert(m.end(), rdata.begin(), rdata.end());
  };
  const std::vector<unsigned char> question_ptr = {0xc0, 12};
  std::vector<unsigned char> alias;
  Name(&alias, "alias.lab.test");
  rr(question_ptr, 5, alias);
  // "mx" + pointer to "lab.test" (offset 19).
  const std::vector<unsigned char> mx = {2, 'm', 'x', 0xc0, 19};
  rr(alias, 5, mx);
  rr(mx, 1, {127, 0, 0, 2});
  return m;
}

TEST(DnsMessageTest, ReadsACompressedCnameChain) {
  const auto message = ChainAnswer();
  const auto records = ParseCnameRecords(message.data(), message.size());
  ASSERT_TRUE(records.ok()) << records.error().ToString();
  ASSERT_EQ(records.value().size(), 2u);
  EXPECT_EQ(records.value()[0].owner, "alias2.lab.test");
  EXPECT_EQ(records.value()[0].target, "alias.lab.test");
  EXPECT_EQ(records.value()[1].target, "mx.lab.test");
  EXPECT_THAT(FollowCnameChain("alias2.lab.test.", records.value()),
              ElementsAre("alias2.lab.test", "alias.lab.test", "mx.lab.test"));
  EXPECT_TRUE(FollowCnameChain("mx.lab.test", records.value()).empty());
}

TEST(DnsMessageTest, EveryTruncationIsAnErrorNotACrash) {
  const auto message = ChainAnswer();
  for (std::size_t length = 0; length < message.size(); ++length) {
    const auto records = ParseCnameRecords(message.data(), length);
    EXPECT_FALSE(records.ok()) << "accepted a message cut at " << length;
  }
}

TEST(DnsMessageTest, CountsLargerThanTheMessageAreErrors) {
  auto message = ChainAnswer();
  message[7] = 200;  // ANCOUNT
  EXPECT_FALSE(ParseCnameRecords(message.data(), message.size()).ok());
}

TEST(DnsMessageTest, CompressionLoopIsAnError) {
  std::vector<unsigned char> m = {0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
  m.push_back(0xc0);  // a pointer to itself
  m.push_back(12);
  U16(&m, 1);
  U16(&m, 1);
  EXPECT_FALSE(ParseCnameRecords(m.data(), m.size()).ok());
}

TEST(DnsMessageTest, CnameLoopStopsFollowing) {
  const std::vector<CnameRecord> loop = {{"a.test", "b.test"}, {"b.test", "a.test"}};
  EXPECT_THAT(FollowCnameChain("a.test", loop), ElementsAre("a.test", "b.test"));
  std::vector<CnameRecord> long_chain;
  for (int i = 0; i < 40; ++i) {
    long_chain.push_back({"n" + std::to_string(i) + ".test", "n" + std::to_string(i + 1) + ".test"});
  }
  EXPECT_EQ(FollowCnameChain("n0.test", long_chain).size(), 17u);
}

}  // namespace
}  // namespace smtp_exporter
