#include "probes/observation_json.h"

#include <gtest/gtest.h>

namespace smtp_exporter {
namespace {

TEST(ObservationJsonTest, CarriesTheFieldsReadersNeed) {
  EndpointObservation e;
  e.domain = "example.org";
  e.mx_name = "mx.example.org";
  e.ip = *IpAddress::Parse("192.0.2.25");
  e.connect_status = ConnectStatus::kConnected;
  e.greeting = Reply{220, {"220 mx.example.org ESMTP"}};
  e.extensions_plain.Add({"STARTTLS", ""});
  e.extensions_tls.Add({"AUTH", "PLAIN"});
  e.starttls.offered = e.starttls.attempted = e.starttls.ok = true;
  e.starttls.tls.version = "TLSv1.3";
  e.open_relay.outcome = ProbeOutcome::kAccepted;
  e.transcript.push_back({0.5, TranscriptEntry::Direction::kServer, "220 mx.example.org ESMTP"});

  const nlohmann::json j = ToJson(e);
  EXPECT_EQ(j["connect"]["status"], "connected");
  EXPECT_EQ(j["greeting"]["reply"]["code"], 220);
  EXPECT_EQ(j["extensions"]["union"].size(), 2u);
  EXPECT_EQ(j["starttls"]["tls"]["version"], "TLSv1.3");
  EXPECT_EQ(j["transactions"]["open_relay"]["outcome"], "accepted");
  EXPECT_EQ(j["transactions"]["null_sender"]["outcome"], "not_tested");
  EXPECT_EQ(j["transcript"][0]["dir"], "server");
  EXPECT_EQ(j["family"], "ipv4");
}

TEST(ObservationJsonTest, InvalidUtf8FromTheNetworkDoesNotThrow) {
  EndpointObservation e;
  e.greeting = Reply{220, {"220 \xff\xfe broken \xc3"}};
  std::string text;
  EXPECT_NO_THROW(text = DumpJson(ToJson(e)));
  EXPECT_NE(text.find("broken"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(text));
}

}  // namespace
}  // namespace smtp_exporter
