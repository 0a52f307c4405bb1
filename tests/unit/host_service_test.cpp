// A Host capability is judged as the call it was handed out for, never as whichever call is in
// flight when it is used; and a decision the run's record cannot keep is a refusal.
#include <doctest/doctest.h>

#include "cordon.capnp.h"
#include "gate/gate.h"
#include "policy/policy_parser.h"
#include "test_support.h"
#include "worker/host_service.h"

using namespace cordon;

namespace {

struct HostFixture {
  kj::AsyncIoContext& loop = test::eventLoop();  // capabilities need the loop to exist first
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(R"(version: 1
plugins:
  p:
    calls: [execute]
    host:
      log: { max_bytes: 100 }
)",
                                                  "policy.yaml"));
  std::unique_ptr<AuditLog> audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream{*audit};
  Gate gate{*policy.forPlugin("p"), stream.events};

  // The outcome of one log call on `host`: "" when it passed, else the exception's text.
  static std::string logThrough(ipc::Host::Client& host, const char* message) {
    auto request = host.logRequest();
    request.setLevel(ipc::LogLevel::INFO);
    request.setMessage(message);
    return request.send()
        .then([](auto&&) { return std::string(); },
              [](kj::Exception&& e) { return std::string(e.getDescription().cStr()); })
        .wait(test::eventLoop().waitScope);
  }
};

// Refuses to keep anything, as an audit log on a full disk does.
class FailingRecord final : public RunRecord {
 public:
  std::optional<Error> keep(const RunEvent&) override { return failure(); }
  std::optional<Error> flush() override { return failure(); }
  std::optional<Error> failure() const override {
    return makeError(ErrorCategory::kInternal, "audit log: No space left on device");
  }
};

}  // namespace

TEST_CASE_FIXTURE(HostFixture, "a Host kept from an ended call is refused as that call's") {
  auto first = std::make_shared<CallScope>("p", "first", PluginMethod::kExecute);
  auto second = std::make_shared<CallScope>("p", "second", PluginMethod::kExecute);
  ipc::Host::Client firstHost = kj::heap<HostService>(gate, first, ArtifactMap{}, stream.events);
  ipc::Host::Client secondHost = kj::heap<HostService>(gate, second, ArtifactMap{}, stream.events);
  CHECK(logThrough(firstHost, "during the first call") == "");
  gate.closeScope(*first);  // the first call ended; the second is in flight
  CHECK(logThrough(secondHost, "during the second call") == "");
  const std::string refused = logThrough(firstHost, "with the first call's Host");
  CHECK(refused.find("has ended") != std::string::npos);

  auto denials = test::withEvent(test::readAudit(dir.path("audit.jsonl")), "gate.deny");
  REQUIRE(denials.size() == 1);
  CHECK(denials[0]["step"] == "first");  // not "second", the call in flight
  CHECK(denials[0]["method"] == "log");
  CHECK(first->firstDenial.has_value());
  CHECK_FALSE(second->firstDenial.has_value());
}

TEST_CASE("a decision the record cannot keep is refused and goes no further") {
  Policy policy = parsePolicy(YamlDocument::parse(
      "version: 1\nplugins:\n  p:\n    calls: [execute]\n    host:\n      log: {}\n",
      "policy.yaml"));
  FailingRecord record;
  RunEvents events(record);
  test::RecordingListener listener;
  events.subscribe(listener);
  Gate gate(*policy.forPlugin("p"), events);
  CallScope scope("p", "s", PluginMethod::kExecute);
  // Granted, but unrecorded: refused with the record's reason.
  auto execute = gate.admitPluginCall(scope, PluginMethod::kExecute);
  REQUIRE(execute.has_value());
  CHECK(execute->message.find("No space left") != std::string::npos);
  CHECK(gate.admitHostCall(scope, HostCapability::kLog).has_value());
  CHECK(admitPlugin(policy, "p", "s", events).ok() == false);
  CHECK(listener.events.empty());
}
