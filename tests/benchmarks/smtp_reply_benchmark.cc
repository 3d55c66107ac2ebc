// Throughput of the reply path every probe runs: bytes -> lines -> replies -> EHLO keywords.
// Run: build/tests/smtp_reply_benchmark
#include <benchmark/benchmark.h>

#include <string>

#include "probes/smtp_reply.h"

namespace smtp_exporter {
namespace {

const std::string kEhloReply =
    "250-mx1.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
    "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

void BM_ParseEhloReply(benchmark::State& state) {
  for (auto _ : state) {
    LineSplitter splitter(4096);
    splitter.Append(kEhloReply);
    ReplyAssembler assembler(100);
    RawLine line;
    Reply reply;
    while (splitter.Next(&line) == LineSplitter::Status::kLine) {
      if (assembler.Add(std::move(line.text)).value()) {
        reply = assembler.Take();
      }
    }
    ExtensionSet set = ExtensionSet::FromEhloReply(reply);
    benchmark::DoNotOptimize(set);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(kEhloReply.size()));
}
BENCHMARK(BM_ParseEhloReply);

// A hostile server's worst case within our bounds: one 4 KiB line arriving byte by byte.
void BM_SplitLineByteByByte(benchmark::State& state) {
  const std::string line = "250 " + std::string(4000, 'x') + "\r\n";
  for (auto _ : state) {
    LineSplitter splitter(4096);
    RawLine out;
    for (char c : line) {
      splitter.Append(std::string_view(&c, 1));
      if (splitter.Next(&out) == LineSplitter::Status::kLine) {
        benchmark::DoNotOptimize(out);
      }
    }
  }
}
BENCHMARK(BM_SplitLineByteByByte);

}  // namespace
}  // namespace smtp_exporter

BENCHMARK_MAIN();
