// The daemon's log formats keep one valid line per message, whatever the message holds: a config
// error quoting `key "foo"` once produced invalid JSON logs (REVIEW.md W5).
#include "exporter/cmd/log_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// A message as hostile as a config error or a server's text can make it.
constexpr char kHostile[] =
    "config error at smtp.yml:3:5: unknown key \"foo\"\\ next\nline\ttab\r\x01 \x7f end";

std::string LogOneLine(LogFormat format, const std::string& message) {
  std::ostringstream stream;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
  spdlog::logger logger("test", sink);
  logger.set_formatter(MakeLogFormatter(format));
  logger.error("{}", message);
  logger.flush();
  return stream.str();
}

TEST(LogFormatTest, JsonLineStaysValidJson) {
  const std::string line = LogOneLine(LogFormat::kJson, kHostile);
  ASSERT_EQ(line.find('\n'), line.size() - 1) << line;  // one line, newline-terminated
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(parsed["msg"], kHostile);
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_THAT(parsed["ts"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z"));
}

TEST(LogFormatTest, JsonReplacesInvalidUtf8) {
  const std::string line = LogOneLine(LogFormat::kJson, "bad \xff\xfe byte");
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(parsed["msg"], "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
}

// Reverses EscapeLogfmtValue, to show that nothing was lost.
std::string UnescapeLogfmt(const std::string& value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\' || i + 1 == value.size()) {
      out += value[i];
      continue;
    }
    const char next = value[++i];
    if (next == 'n') {
      out += '\n';
    } else if (next == 'r') {
      out += '\r';
    } else if (next == 't') {
      out += '\t';
    } else if (next == 'x' && i + 2 < value.size()) {
      out += static_cast<char>(std::stoi(value.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += next;
    }
  }
  return out;
}

TEST(LogFormatTest, LogfmtLineKeepsTheMessageInOneQuotedValue) {
  const std::string line = LogOneLine(LogFormat::kLogfmt, kHostile);
  ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_THAT(line, MatchesRegex("ts=[0-9T:.-]+Z level=error msg=\".*\"\n"));
  const std::size_t start = line.find("msg=\"") + 5;
  const std::string value = line.substr(start, line.size() - 2 - start);
  // No unescaped quote inside the value: a logfmt parser sees one msg key.
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '"') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(value[i - 1], '\\') << value;
    }
  }
  EXPECT_EQ(UnescapeLogfmt(value), kHostile);
  EXPECT_THAT(value, HasSubstr("\\\"foo\\\""));
}

TEST(LogFormatTest, ParseLogFormat) {
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("logfmt"), LogFormat::kLogfmt);
  EXPECT_EQ(ParseLogFormat("JSON"), std::nullopt);
  EXPECT_EQ(ParseLogFormat(""), std::nullopt);
}

}  // namespace
}  // namespace smtp_exporter
