#include "tests/support/scripted_transport.h"

#include <utility>

namespace smtp_exporter::testing {

Script& Script::Send(std::string bytes) {
  steps_.push_back({Step::Kind::kSend, std::move(bytes), {}});
  return *this;
}

Script& Script::Reply(std::initializer_list<std::string> lines) {
  std::string bytes;
  for (const auto& line : lines) {
    bytes += line;
    bytes += "\r\n";
  }
  return Send(std::move(bytes));
}

Script& Script::Expect(std::string line) {
  steps_.push_back({Step::Kind::kExpect, std::move(line), {}});
  return *this;
}

Script& Script::Close() {
  steps_.push_back({Step::Kind::kClose, "", {}});
  return *this;
}

Script& Script::Silence() {
  steps_.push_back({Step::Kind::kSilence, "", {}});
  return *this;
}

Script& Script::Elapse(std::chrono::milliseconds duration, FakeClock* clock) {
  Step step{Step::Kind::kElapse, "", {}};
  step.elapse = duration;
  step.clock = clock;
  steps_.push_back(std::move(step));
  return *this;
}

Script& Script::TlsOk(TlsDetails details) {
  steps_.push_back({Step::Kind::kTlsOk, "", std::move(details)});
  return *this;
}

Script& Script::TlsFail(std::string message) {
  steps_.push_back({Step::Kind::kTlsFail, std::move(message), {}});
  return *this;
}

ScriptedTransport::ScriptedTransport(Script script) : script_(std::move(script)) {}

const Script::Step* ScriptedTransport::Peek() const {
  return next_ < script_.steps().size() ? &script_.steps()[next_] : nullptr;
}

Result<std::string> ScriptedTransport::Read(std::size_t max_bytes, Deadline deadline) {
  read_deadlines_.push_back(deadline);
  if (pending_send_.empty()) {
    const Script::Step* step = Peek();
    while (step != nullptr && step->kind == Script::Step::Kind::kElapse) {
      step->clock->Advance(step->elapse);
      ++next_;
      step = Peek();
    }
    if (closed_ || step == nullptr) {
      return Error{ErrorCode::kConnectionClosed, "script: connection closed"};
    }
    switch (step->kind) {
      case Script::Step::Kind::kSend:
        pending_send_ = step->data;
        ++next_;
        break;
      case Script::Step::Kind::kClose:
        closed_ = true;
        ++next_;
        return Error{ErrorCode::kConnectionClosed, "server closed the connection"};
      case Script::Step::Kind::kSilence:
        ++next_;
        return Error{ErrorCode::kTimeout, "deadline passed while waiting for the server"};
      case Script::Step::Kind::kExpect:
        failures_.push_back("client read while the server expected \"" + step->data + "\"");
        return Error{ErrorCode::kTimeout, "script: server waits for a command"};
      case Script::Step::Kind::kTlsOk:
      case Script::Step::Kind::kTlsFail:
        failures_.push_back("client read while the server expected a TLS handshake");
        return Error{ErrorCode::kTimeout, "script: server waits for a TLS handshake"};
      case Script::Step::Kind::kElapse:
        break;  // consumed above
    }
  }
  std::string chunk = pending_send_.substr(0, max_bytes);
  pending_send_.erase(0, chunk.size());
  return chunk;
}

Status ScriptedTransport::Write(std::string_view data, Deadline /*deadline*/) {
  if (closed_) {
    return Error{ErrorCode::kConnectionClosed, "script: write after close"};
  }
  partial_write_.append(data);
  std::size_t end;
  while ((end = partial_write_.find("\r\n")) != std::string::npos) {
    std::string line = partial_write_.substr(0, end);
    partial_write_.erase(0, end + 2);
    client_lines_.push_back(line);
    const Script::Step* step = Peek();
    if (step == nullptr || step->kind != Script::Step::Kind::kExpect) {
      failures_.push_back("unexpected client line \"" + line + "\"");
      continue;
    }
    if (step->data != line) {
      failures_.push_back("expected \"" + step->data + "\", client sent \"" + line + "\"");
    }
    ++next_;
  }
  return Status::Ok();
}

Result<TlsDetails> ScriptedTransport::StartTls(const std::string& server_name,
                                               Deadline /*deadline*/) {
  sni_ = server_name;
  const Script::Step* step = Peek();
  if (step == nullptr ||
      (step->kind != Script::Step::Kind::kTlsOk && step->kind != Script::Step::Kind::kTlsFail)) {
    failures_.push_back("unexpected TLS handshake");
    return Error{ErrorCode::kTls, "script: no handshake expected"};
  }
  ++next_;
  if (step->kind == Script::Step::Kind::kTlsFail) {
    closed_ = true;
    return Error{ErrorCode::kTls, step->data};
  }
  return step->tls;
}

namespace {

// Hands ownership to the prober while the factory keeps a shared observer for inspection.
class SharedTransport final : public Transport {
 public:
  explicit SharedTransport(std::shared_ptr<ScriptedTransport> inner) : inner_(std::move(inner)) {}
  Result<std::string> Read(std::size_t max_bytes, Deadline deadline) override {
    return inner_->Read(max_bytes, deadline);
  }
  Status Write(std::string_view data, Deadline deadline) override {
    return inner_->Write(data, deadline);
  }
  Result<TlsDetails> StartTls(const std::string& server_name, Deadline deadline) override {
    return inner_->StartTls(server_name, deadline);
  }
  void Close(Deadline deadline) override { inner_->Close(deadline); }

 private:
  std::shared_ptr<ScriptedTransport> inner_;
};

}  // namespace

Result<std::unique_ptr<Transport>> ScriptedTransportFactory::Connect(const IpAddress& /*ip*/,
                                                                     std::uint16_t /*port*/,
                                                                     Deadline /*deadline*/) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++connects_;
  if (queue_.empty()) {
    return Error{ErrorCode::kConnectionRefused, "script: no more connections"};
  }
  Entry entry = std::move(queue_.front());
  queue_.pop_front();
  if (entry.error) {
    return *entry.error;
  }
  auto transport = std::make_shared<ScriptedTransport>(std::move(entry.script));
  made_.push_back(transport);
  return std::unique_ptr<Transport>(std::make_unique<SharedTransport>(transport));
}

void ScriptedTransport::Close(Deadline /*deadline*/) { closed_by_client_ = true; }

}  // namespace smtp_exporter::testing
