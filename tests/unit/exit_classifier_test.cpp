// The one place that decides what happened to a worker: what the supervisor did and saw comes
// before anything the exit status claims, and a claim is believed only in the phase where the
// worker's own code alone could have made it.
#include <doctest/doctest.h>
#include <signal.h>

#include "policy/policy_parser.h"
#include "test_support.h"
#include "worker/exit_classifier.h"
#include "worker_protocol.h"

using namespace cordon;

namespace {

struct Classifier {
  Policy policy = parsePolicy(YamlDocument::parse(R"(version: 1
plugins:
  p:
    calls: [describe, execute]
    limits: { memory_mb: 64, cpu_seconds: 5 }
    timeout_ms: 1500
)",
                                                  "policy.yaml"));
  const PluginPolicy& section = *policy.forPlugin("p");

  static WorkerEnding killedBySignal(int signal, CallEnding call = CallEnding::kDisconnected) {
    WorkerEnding ending;
    ending.exit.signaled = true;
    ending.exit.code = signal;
    ending.call = call;
    return ending;
  }
  static WorkerEnding exitedWith(int code, WorkerPhase phase, std::string stderrTail = "") {
    WorkerEnding ending;
    ending.exit.code = code;
    ending.exit.stderrTail = std::move(stderrTail);
    ending.phase = phase;
    ending.call = CallEnding::kDisconnected;
    return ending;
  }
  WorkerFault classify(const WorkerEnding& ending) const {
    auto fault = classifyWorkerExit(ending, section);
    REQUIRE(fault.has_value());
    return *fault;
  }
};

}  // namespace

TEST_CASE_FIXTURE(Classifier, "a worker stopped between calls has no fault, whatever its exit") {
  WorkerEnding orderly = exitedWith(0, WorkerPhase::kServing);
  orderly.call = CallEnding::kNone;
  CHECK_FALSE(classifyWorkerExit(orderly, section).has_value());
  WorkerEnding crashedAfterShutdown = killedBySignal(SIGSEGV, CallEnding::kNone);
  CHECK_FALSE(classifyWorkerExit(crashedAfterShutdown, section).has_value());
  WorkerEnding killed = killedBySignal(SIGKILL, CallEnding::kNone);  // a cancelled run
  CHECK_FALSE(classifyWorkerExit(killed, section).has_value());
}

TEST_CASE_FIXTURE(Classifier, "the supervisor's own kill is believed before the exit status") {
  WorkerEnding timedOut = killedBySignal(SIGKILL);
  timedOut.killed = KilledForTimeout{};
  timedOut.exit.cpuSeconds = 9;  // past the CPU limit too: the timeout is why it was killed
  WorkerFault timeout = classify(timedOut);
  CHECK(timeout.kind == WorkerFault::Kind::kTimeout);
  CHECK(timeout.error.category == ErrorCategory::kTimeout);
  CHECK(timeout.error.message.find("1500 ms") != std::string::npos);

  WorkerEnding refused = killedBySignal(SIGKILL, CallEnding::kNone);
  refused.killed =
      KilledForSyscall{{42, "connect", {3, 0x7fff0000, 16, 0, 0, 0}, {"", "inet 10.0.0.1:443"}}};
  refused.oomKilled = true;  // even so: the refused syscall came first
  WorkerFault violation = classify(refused);
  CHECK(violation.kind == WorkerFault::Kind::kSandboxViolation);
  CHECK(violation.syscall == "connect");
  CHECK(violation.args == "0x3,0x7fff0000,0x10,0x0,0x0,0x0");
  CHECK(violation.address == "inet 10.0.0.1:443");  // what it tried, not only a pointer

  WorkerEnding code = killedBySignal(SIGKILL, CallEnding::kNone);
  code.killed = KilledForCode{"7f00-7f01 rwxp 00000000 00:00 0"};
  WorkerFault wx = classify(code);
  CHECK(wx.kind == WorkerFault::Kind::kSandboxViolation);
  CHECK(wx.mapping == "7f00-7f01 rwxp 00000000 00:00 0");
  CHECK(wx.error.message.find("W^X") != std::string::npos);
}

TEST_CASE_FIXTURE(Classifier, "the kernel's OOM kill, the rlimits and a foreign syscall") {
  WorkerEnding oom = killedBySignal(SIGKILL);
  oom.oomKilled = true;
  WorkerFault memoryMax = classify(oom);
  CHECK(memoryMax.kind == WorkerFault::Kind::kResourceLimit);
  CHECK(memoryMax.limit == "memory.max");
  CHECK(memoryMax.error.message.find("64 MiB") != std::string::npos);

  WorkerEnding cpu = killedBySignal(SIGXCPU);
  CHECK(classify(cpu).limit == "cpu");
  WorkerEnding hardCpu = killedBySignal(SIGKILL);
  hardCpu.exit.cpuSeconds = 5.0;
  CHECK(classify(hardCpu).limit == "cpu");
  CHECK(classify(killedBySignal(SIGXFSZ)).limit == "file_size");
  CHECK(classify(killedBySignal(SIGSYS)).kind == WorkerFault::Kind::kSandboxViolation);

  // The report line is the plugin process's: only a number is taken from it.
  std::string line = std::string(protocol::kReportPrefix) + "memory-limit requested=4096\n";
  WorkerFault memory =
      classify(exitedWith(protocol::kExitMemoryLimit, WorkerPhase::kServing, line));
  CHECK(memory.limit == "memory");
  CHECK(memory.error.message.find("4096 bytes") != std::string::npos);
  std::string forged =
      std::string(protocol::kReportPrefix) + "memory-limit requested=\x1b[2Jlies\n";
  CHECK(classify(exitedWith(protocol::kExitMemoryLimit, WorkerPhase::kServing, forged))
            .error.message.find("of ? bytes") != std::string::npos);
}

TEST_CASE_FIXTURE(Classifier, "setup and load failures are believed only in their phase") {
  CHECK(classify(exitedWith(protocol::kExitSetupFailed, WorkerPhase::kSettingUp)).kind ==
        WorkerFault::Kind::kSetupFailed);
  CHECK(classify(exitedWith(protocol::kExitPluginRejected, WorkerPhase::kLoading)).kind ==
        WorkerFault::Kind::kPluginRejected);
  // Plugin code that exits with those codes is a crash, not Cordon's failure nor a bad file.
  WorkerFault claimedSetup =
      classify(exitedWith(protocol::kExitSetupFailed, WorkerPhase::kLoading));
  CHECK(claimedSetup.kind == WorkerFault::Kind::kCrash);
  CHECK(claimedSetup.phase == "loading");
  CHECK(classify(exitedWith(protocol::kExitPluginRejected, WorkerPhase::kServing)).kind ==
        WorkerFault::Kind::kCrash);
  WorkerFault segv = classify(killedBySignal(SIGSEGV));
  CHECK(segv.kind == WorkerFault::Kind::kCrash);
  CHECK(segv.signal == "SIGSEGV");
  CHECK(segv.phase == "serving");
}

TEST_CASE_FIXTURE(Classifier, "a broken RPC contract is a protocol error, whatever the exit") {
  WorkerEnding rejected = killedBySignal(SIGKILL, CallEnding::kRejected);
  rejected.rpcCause = "message too large";
  WorkerFault fault = classify(rejected);
  CHECK(fault.kind == WorkerFault::Kind::kProtocolError);
  CHECK(fault.error.message.find("message too large") != std::string::npos);
  WorkerEnding lingered = killedBySignal(SIGKILL);
  lingered.lingered = true;
  lingered.oomKilled = true;
  CHECK(classify(lingered).kind == WorkerFault::Kind::kProtocolError);
  // Exiting cleanly in the middle of a call breaks the contract too.
  CHECK(classify(exitedWith(0, WorkerPhase::kServing)).kind == WorkerFault::Kind::kProtocolError);
}
