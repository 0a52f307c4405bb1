// cordon-bench: what Cordon's isolation costs, against floors measured in the same run.
//
//   cold_start_us        spawn a sandboxed worker with a plugin loaded, until its first RPC reply
//   floor_exec_us        posix_spawn + wait of /bin/true
//   call_us              an empty execute() through the gate (membrane, policy check, audit
//                        record) into the sandboxed worker and back
//   floor_capnp_call_us  a bare Cap'n Proto call to another process (no sandbox, no gate)
//                        (these two in blocks of 50 calls to one peer; call_alternating_us and
//                        floor_capnp_call_alternating_us: the same, each call after one to the
//                        other peer, so each finds its peer idle)
//   call_loaded_us       call_us while one busy thread per core runs beside it (a loaded host),
//                        against floor_capnp_call_loaded_us, the bare call under the same load;
//                        floor_capnp_buffered_call_loaded_us likewise
//   floor_capnp_buffered_call_us  the bare call with both ends reading through Cordon's read
//                        buffer (ipc-schema/read_buffered_stream), the gated calls' transport: what
//                        the gate, membrane, Host capability, record and sandbox add alone;
//                        floor_capnp_buffered_pipelined_calls_per_s likewise
//   floor_capnp_execute_us  (attribution) execute() with a Host capability to the same bare
//                        peer: the shape of Cordon's call without sandbox, gate or membrane
//   floor_socketpair_us  a 1-byte ping-pong over a socketpair between two processes
//   floor_bwrap_us       bubblewrap --unshare-all (+ /usr, /dev, /proc) starting true
//   gate_decision_us     one gate decision (admitPluginCall) on a stream whose record keeps
//                        nothing: the policy lookup and the decision's event, no audit write;
//                        gate_decision_p99_us beside it
//   gate_decision_recorded_us  the same with its audit record (SHA-256, write) written by
//                        itself, as for a lone call in a run, whose log keeps its lock between
//                        quiet points; gate_decision_locked_us: the same record when it also
//                        takes the lock (flock, fstat, write, unlock), as the first one after a
//                        quiet point does; gate_decision_batched_us: the mean when 64 records go
//                        out in one write, as when 64 calls are sent in one turn
//   pipelined_calls_per_s  execute() calls through the gate with 64 in flight at once, against
//                        floor_capnp_pipelined_calls_per_s, 64 bare Cap'n Proto calls in flight
//   seccomp_overhead_pct a getpid() loop under the worker's seccomp filter against without
//                        (fastest of five interleaved rounds each)
//   floor_seccomp_pct    the same loop under the smallest filter there is (return ALLOW): what
//                        any seccomp filter costs on this kernel, before its first instruction
//   worker_rss_kib       resident memory of an idle worker (worker_private_kib: its anonymous part)
//
// Figures are medians in microseconds; only ratios carry between machines.
#include <capnp/rpc-twoparty.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "audit/audit_log.h"
#include "cordon.capnp.h"
#include "core/allocator.h"
#include "core/untrusted_text.h"
#include "gate/gate.h"
#include "host/quiet_points.h"
#include "observe/http_plane.h"
#include "observe/run_metrics.h"
#include "policy/policy_parser.h"
#include "policy/seccomp_compiler.h"
#include "read_buffered_stream.h"
#include "run/audit_subscriber.h"
#include "trust/plugin_verifier.h"
#include "worker/sandbox_spec_builder.h"
#include "worker/worker_handle.h"

namespace {

using Clock = std::chrono::steady_clock;
extern "C" char** environ;

struct Summary {
  double median = 0;
  double p10 = 0;
  double p90 = 0;
  double p99 = 0;
  size_t samples = 0;
};

Summary summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    return values[static_cast<size_t>(q * static_cast<double>(values.size() - 1))];
  };
  return {at(0.5), at(0.1), at(0.9), at(0.99), values.size()};
}

double microsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "cordon-bench: %s\n", what.c_str());
  std::exit(1);
}

void progress(const char* what) {
  std::fprintf(stderr, "cordon-bench: measuring %s...\n", what);
}

// Starts `argv` with one end of a socketpair as its fd 3; returns the other end.
pid_t spawnWithSocket(std::vector<std::string> args, int& parentEnd) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) fail("socketpair");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pair[1], 3);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0)
    fail("spawn " + args[0]);
  posix_spawn_file_actions_destroy(&actions);
  close(pair[1]);
  parentEnd = pair[0];
  return pid;
}

// Median time to spawn `args` and wait for it; nullopt when it cannot run here.
std::optional<Summary> spawnAndWait(std::vector<std::string> args, int runs) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    pid_t pid = -1;
    if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return {};
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
    samples.push_back(microsSince(start));
  }
  return summarize(samples);
}

Summary floorExec(int runs) {
  auto summary = spawnAndWait({"/bin/true"}, runs);
  if (!summary) fail("cannot run /bin/true");
  return *summary;
}

// bubblewrap with every namespace it offers, starting `true`: the reference sandbox floor.
std::optional<Summary> floorBwrap(int runs) {
  return spawnAndWait({"bwrap",     "--unshare-all", "--die-with-parent",
                       "--ro-bind", "/usr",          "/usr",
                       "--symlink", "usr/lib",       "/lib",
                       "--symlink", "usr/lib64",     "/lib64",
                       "--symlink", "usr/bin",       "/bin",
                       "--dev",     "/dev",          "--proc",
                       "/proc",     "/usr/bin/true"},
                      runs);
}

// Nanoseconds per getpid() over `count` calls in a forked child, under the worker's seccomp
// filter or not. Forked before the event loop exists; the child only computes and writes.
double nanosPerSyscall(const std::vector<unsigned char>* filter, int count) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0) fail("pipe");
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    if (filter != nullptr) {
      sock_fprog prog{static_cast<unsigned short>(filter->size() / sizeof(sock_filter)),
                      reinterpret_cast<sock_filter*>(const_cast<unsigned char*>(filter->data()))};
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
          syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        _exit(1);
      }
    }
    auto start = Clock::now();
    for (int i = 0; i < count; ++i) syscall(SYS_getpid);
    double nanos = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / count;
    _exit(write(pipeFds[1], &nanos, sizeof nanos) == sizeof nanos ? 0 : 1);
  }
  close(pipeFds[1]);
  double nanos = 0;
  bool ok = read(pipeFds[0], &nanos, sizeof nanos) == sizeof nanos;
  close(pipeFds[0]);
  waitpid(pid, nullptr, 0);
  if (!ok) fail("syscall loop child failed");
  return nanos;
}

struct SeccompOverhead {
  double plainNs = 0;
  double filteredNs = 0;
  double allowAllNs = 0;    // under a one-instruction filter that allows everything
  double percent = 0;       // the worker's filter against no filter
  double floorPercent = 0;  // the allow-all filter against no filter
};

// A filter of one instruction, `return SECCOMP_RET_ALLOW`: the kernel's fixed cost of being
// under seccomp at all, which no filter can go below.
std::vector<unsigned char> allowAllFilter() {
  sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  const auto* bytes = reinterpret_cast<const unsigned char*>(&allow);
  return std::vector<unsigned char>(bytes, bytes + sizeof allow);
}

SeccompOverhead seccompOverhead(const std::vector<unsigned char>& filter, int calls) {
  const std::vector<unsigned char> allowAll = allowAllFilter();
  std::vector<double> plain, filtered, floor;
  for (int round = 0; round < 5; ++round) {  // interleaved, so drift hits all alike
    plain.push_back(nanosPerSyscall(nullptr, calls));
    filtered.push_back(nanosPerSyscall(&filter, calls));
    floor.push_back(nanosPerSyscall(&allowAll, calls));
  }
  // The fastest round of each: interference (other tenants of this VM, the scheduler) only ever
  // adds time, and a syscall loop has no other source of variance.
  SeccompOverhead result;
  result.plainNs = *std::min_element(plain.begin(), plain.end());
  result.filteredNs = *std::min_element(filtered.begin(), filtered.end());
  result.allowAllNs = *std::min_element(floor.begin(), floor.end());
  result.percent = 100.0 * (result.filteredNs - result.plainNs) / result.plainNs;
  result.floorPercent = 100.0 * (result.allowAllNs - result.plainNs) / result.plainNs;
  return result;
}

Summary floorSocketpair(const std::string& peer, int runs) {
  int fd = -1;
  pid_t pid = spawnWithSocket({peer, "echo"}, fd);
  std::vector<double> samples;
  char byte = 'x';
  for (int i = 0; i < runs + runs / 10; ++i) {
    auto start = Clock::now();
    if (write(fd, &byte, 1) != 1 || read(fd, &byte, 1) != 1) fail("echo peer");
    if (i >= runs / 10) samples.push_back(microsSince(start));  // the first tenth warms up
  }
  close(fd);
  waitpid(pid, nullptr, 0);
  return summarize(samples);
}

constexpr int kInFlight = 64;

// Calls per second over `total` calls, `kInFlight` of them outstanding at any time.
double pipelinedRate(kj::WaitScope& waitScope, int total,
                     const std::function<kj::Promise<void>()>& send) {
  auto start = Clock::now();
  for (int done = 0; done < total;) {
    const int batch = std::min(kInFlight, total - done);
    auto calls = kj::heapArrayBuilder<kj::Promise<void>>(static_cast<size_t>(batch));
    for (int i = 0; i < batch; ++i) calls.add(send());
    kj::joinPromises(calls.finish()).wait(waitScope);
    done += batch;
  }
  return total / std::chrono::duration<double>(Clock::now() - start).count();
}

// A bare Cap'n Proto peer in another process: the floor the gated calls are held against. It
// stays up while the worker is measured, so the two are measured in alternating rounds and a
// change in the machine's load falls on both alike.
class CapnpPeer {
  class IdleHost final : public cordon::ipc::Host::Server {};

 public:
  // `buffered`: both ends read through Cordon's read buffer (ipc-schema/read_buffered_stream),
  // the transport of the gated calls, so the two differ by Cordon's path alone.
  CapnpPeer(kj::AsyncIoContext& io, const std::string& peer, bool buffered = false) : io_(io) {
    int fd = -1;
    pid_ = spawnWithSocket({peer, buffered ? "capnp-buffered" : "capnp"}, fd);
    stream_ = io.lowLevelProvider->wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    if (buffered) stream_ = kj::heap<cordon::protocol::ReadBufferedStream>(kj::mv(stream_));
    client_ = kj::heap<capnp::TwoPartyClient>(*stream_);
    plugin_ =
        kj::heap<cordon::ipc::Plugin::Client>(client_->bootstrap().castAs<cordon::ipc::Plugin>());
  }
  ~CapnpPeer() {
    plugin_ = nullptr;
    client_ = nullptr;
    stream_ = nullptr;
    waitpid(pid_, nullptr, 0);
  }
  CapnpPeer(const CapnpPeer&) = delete;
  CapnpPeer& operator=(const CapnpPeer&) = delete;

  void call() { plugin_->describeRequest().send().wait(io_.waitScope); }
  kj::Promise<void> send() { return plugin_->describeRequest().send().ignoreResult(); }
  // execute() with a Host capability, as Cordon sends it, to a peer that answers at once.
  void callExecute() {
    auto request = plugin_->executeRequest();
    request.setHost(kj::heap<IdleHost>());
    request.send().wait(io_.waitScope);
  }

 private:
  kj::AsyncIoContext& io_;
  pid_t pid_ = -1;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> client_;
  kj::Own<cordon::ipc::Plugin::Client> plugin_;
};

// One call's latency and the pipelined rate, for the gated worker and its floor, measured in
// `kRounds` alternating rounds: latencies pooled, rates the best round of each (load only ever
// takes throughput away).
struct CallComparison {
  Summary call, floorCall;
  Summary floorExecute;  // attribution only: the call's shape on a bare peer
  Summary callAlternating, floorCallAlternating;  // each call after one to the other peer
  // The floor on the gated calls' transport (both ends read through the read buffer).
  Summary floorBufferedCall;
  double floorBufferedPipelinedPerSecond = 0;
  double pipelinedPerSecond = 0, floorPipelinedPerSecond = 0;
  // The same blocks of calls while every core also runs a busy thread (a loaded host).
  Summary callLoaded, floorCallLoaded, floorBufferedCallLoaded;
  unsigned loadThreads = 0;
};

constexpr int kRounds = 5;
constexpr int kCallBlock = 50;

// `count` calls of `one`, one after another, each timed on its own.
void timeCalls(std::vector<double>& samples, int count, const std::function<void()>& one) {
  for (int i = 0; i < count; ++i) {
    auto start = Clock::now();
    one();
    samples.push_back(microsSince(start));
  }
}

// Blocks of kCallBlock calls of each kind in turn, `perRound` calls of each kind in all.
using CallKind = std::pair<std::vector<double>*, std::function<void()>>;
void timeBlocks(int perRound, const std::vector<CallKind>& kinds) {
  for (int done = 0; done < perRound; done += kCallBlock) {
    const int count = std::min(kCallBlock, perRound - done);
    for (const auto& [samples, one] : kinds) timeCalls(*samples, count, one);
  }
}

CallComparison compareCalls(kj::WaitScope& waitScope, int calls, CapnpPeer& floor,
                            CapnpPeer& bufferedFloor, const std::function<void()>& gatedCall,
                            const std::function<kj::Promise<void>()>& gatedSend) {
  std::vector<double> gated, bare, bareExecute, bareBuffered, gatedAlternating, bareAlternating;
  CallComparison result;
  const int perRound = std::max(kInFlight, calls / kRounds);
  for (int i = 0; i < perRound / 10; ++i) {  // warm them up
    floor.call();
    bufferedFloor.call();
    gatedCall();
  }
  // call_us against its floor: in blocks of kCallBlock calls of one kind, each call following
  // one to the same peer, as a busy worker's next call does. (Until 2026-12-06 the three kinds
  // went call by call: the gated call always came after two to the floor's peer, with its own
  // worker idle since, while the floor's describe came right after the floor's execute. That
  // charged the gated call alone for waking its peer.) The alternating figures are the other
  // case, for both alike: each call after one to the other peer.
  for (int round = 0; round < kRounds; ++round) {
    timeBlocks(perRound, {{&bare, [&floor] { floor.call(); }},
                          {&gated, gatedCall},
                          {&bareExecute, [&floor] { floor.callExecute(); }},
                          {&bareBuffered, [&bufferedFloor] { bufferedFloor.call(); }}});
    for (int i = 0; i < perRound / 2; ++i) {
      timeCalls(bareAlternating, 1, [&floor] { floor.call(); });
      timeCalls(gatedAlternating, 1, gatedCall);
    }
    result.floorPipelinedPerSecond =
        std::max(result.floorPipelinedPerSecond,
                 pipelinedRate(waitScope, perRound, [&floor] { return floor.send(); }));
    result.pipelinedPerSecond =
        std::max(result.pipelinedPerSecond, pipelinedRate(waitScope, perRound, gatedSend));
    result.floorBufferedPipelinedPerSecond = std::max(
        result.floorBufferedPipelinedPerSecond,
        pipelinedRate(waitScope, perRound, [&bufferedFloor] { return bufferedFloor.send(); }));
  }
  // The host loaded: one thread per core spins at the same priority for the whole measurement,
  // so every call competes for a CPU with it, at both ends, the floor's alike.
  {
    std::vector<double> gatedLoaded, bareLoaded, bufferedLoaded;
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    result.loadThreads = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < result.loadThreads; ++i) {
      load.emplace_back([&stop] {
        volatile uint64_t spins = 0;
        while (!stop.load(std::memory_order_relaxed)) spins = spins + 1;
      });
    }
    for (int round = 0; round < kRounds; ++round) {
      timeBlocks(perRound, {{&bareLoaded, [&floor] { floor.call(); }},
                            {&gatedLoaded, gatedCall},
                            {&bufferedLoaded, [&bufferedFloor] { bufferedFloor.call(); }}});
    }
    stop.store(true);
    for (std::thread& thread : load) thread.join();
    result.callLoaded = summarize(gatedLoaded);
    result.floorCallLoaded = summarize(bareLoaded);
    result.floorBufferedCallLoaded = summarize(bufferedLoaded);
  }
  result.call = summarize(gated);
  result.floorCall = summarize(bare);
  result.floorExecute = summarize(bareExecute);
  result.floorBufferedCall = summarize(bareBuffered);
  result.callAlternating = summarize(gatedAlternating);
  result.floorCallAlternating = summarize(bareAlternating);
  return result;
}

struct WorkerFigures {
  Summary coldStart;
  CallComparison calls;
  Summary gateDecision;                  // the decision, its event kept nowhere
  Summary gateDecisionRecorded;          // the decision and its audit record, written by itself
  Summary gateDecisionLocked;            // ... and the log's lock taken for it
  double gateDecisionBatchedMeanUs = 0;  // the same, 64 records to a write
  uint64_t rssKib = 0;
  uint64_t privateKib = 0;
  // #18: the same calls, alternating in blocks, on a worker whose events also feed metrics
  // served by the HTTP plane and scraped every 100 ms, and on one whose events do not.
  Summary callPlain;
  Summary callScraped;
  uint64_t scrapes = 0;
};

// GET /metrics on 127.0.0.1:PORT every `period` until `stop`, as a Prometheus would.
void scrapeEvery(uint16_t port, std::chrono::milliseconds period, const std::atomic<bool>& stop,
                 std::atomic<uint64_t>& scrapes) {
  while (!stop.load()) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      const char request[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
      if (write(fd, request, sizeof request - 1) > 0) {
        char buffer[65536];
        while (read(fd, buffer, sizeof buffer) > 0) {
        }
        scrapes.fetch_add(1);
      }
    }
    if (fd >= 0) close(fd);
    std::this_thread::sleep_for(period);
  }
}

uint64_t statusField(pid_t pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  }
  return 0;
}

// A record that keeps nothing: what the gate costs before its audit write.
class KeepNothing final : public cordon::RunRecord {
 public:
  std::optional<cordon::Error> keep(const cordon::RunEvent&) override { return std::nullopt; }
  std::optional<cordon::Error> flush() override { return std::nullopt; }
  std::optional<cordon::Error> failure() const override { return std::nullopt; }
};

cordon::Policy benchPolicy() {
  return cordon::parsePolicy(cordon::YamlDocument::parse(R"(version: 1
plugins:
  noop:
    calls: [describe, init, execute, shutdown]
    limits: { memory_mb: 256, cpu_seconds: 600 }
    timeout_ms: 10000
)",
                                                         "(benchmark policy)"));
}

WorkerFigures measureWorker(kj::AsyncIoContext& io, const std::string& workerBinary,
                            const std::string& pluginPath, int spawnRuns, int callRuns,
                            CapnpPeer& floor, CapnpPeer& bufferedFloor) {
  cordon::Policy policy = benchPolicy();
  const cordon::PluginPolicy& section = *policy.forPlugin("noop");
  auto spec = cordon::buildSandboxSpec("noop", pluginPath, section);
  if (!spec.ok()) fail(spec.error().describe());
  // The worker gets the plugin as the supervisor hands over verified bytes: a sealed memfd.
  auto sealed = cordon::SealedFile::readOnce(pluginPath, cordon::kMaxPluginBytes);
  if (!sealed.ok()) fail(sealed.error().describe());
  cordon::WorkerLaunch launch{"noop",       pluginPath, sealed.value()->fd(), "",      "",
                              workerBinary, &section,   spec.value(),         nullptr, ""};

  auto directory =
      std::filesystem::temp_directory_path() / ("cordon-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(directory);
  auto audit = cordon::AuditLog::open((directory / "audit.jsonl").string());
  if (!audit.ok()) fail(audit.error().describe());
  // The audit log is the stream's record, as in a run: the figures include writing it.
  cordon::AuditSubscriber record(*audit.value());
  cordon::RunEvents events(record);
  // Quiet points and the audit log's lock kept between them, as CordonHost runs a run.
  audit.value()->keepLockBetweenWrites(true);
  auto quietPoints = std::make_unique<cordon::QuietPoints>(io.provider->getTimer(), events);
  WorkerFigures figures;

  progress("cold start of a sandboxed worker");
  std::vector<double> starts;
  for (int i = 0; i < spawnRuns; ++i) {
    auto start = Clock::now();
    auto worker = cordon::WorkerHandle::start(io, events, launch).wait(io.waitScope);
    starts.push_back(microsSince(start));
    if (!worker.ok()) fail(worker.error().describe());
    worker.value()->stop().wait(io.waitScope);
  }
  figures.coldStart = summarize(starts);

  progress(
      "calls through the gate against bare Cap'n Proto calls, alternating, one and 64 in flight");
  auto worker = cordon::WorkerHandle::start(io, events, launch).wait(io.waitScope);
  if (!worker.ok()) fail(worker.error().describe());
  auto& handle = *worker.value();
  if (!handle.init({}).wait(io.waitScope).ok()) fail("init failed");
  figures.calls = compareCalls(
      io.waitScope, callRuns, floor, bufferedFloor,
      [&] {
        auto result = handle.execute("bench", {}, {}).wait(io.waitScope);
        if (!result.ok()) fail(result.error().describe());
      },
      [&handle] {
        return handle.execute("bench", {}, {})
            .then([](cordon::Outcome<cordon::ArtifactMap> result) {
              if (!result.ok()) fail(result.error().describe());
            });
      });

  // The gate's own share of a call, in this process: the decision alone (its event goes to a
  // record that keeps nothing), then with its audit record as in a run.
  progress("gate decisions in-process");
  // `writeEvery`: the record is written (flushRecord, as the worker's stream does before it
  // sends) after every decision, or after each 64, as when 64 calls go out in one turn.
  auto decide = [&](const cordon::RunEvents& stream, int writeEvery, double* meanUs) {
    cordon::Gate gate(section, stream);
    cordon::CallScope scope{"noop", "bench", cordon::PluginMethod::kExecute};
    std::vector<double> decisions;
    const auto began = Clock::now();
    for (int i = 0; i < callRuns + callRuns / 10; ++i) {
      if (i == callRuns / 10 && meanUs != nullptr) *meanUs = -microsSince(began);
      auto start = Clock::now();
      if (gate.admitPluginCall(scope, cordon::PluginMethod::kExecute)) fail("gate denied execute");
      if ((i + 1) % writeEvery == 0 && stream.flushRecord()) fail("audit write failed");
      if (i >= callRuns / 10) decisions.push_back(microsSince(start));
    }
    if (meanUs != nullptr) *meanUs = (*meanUs + microsSince(began)) / callRuns;
    return summarize(decisions);
  };
  KeepNothing nowhere;
  cordon::RunEvents unrecorded(nowhere);
  figures.gateDecision = decide(unrecorded, 1, nullptr);
  // No quiet point comes while this loop runs: the lock stays held, as between two of a run.
  figures.gateDecisionRecorded = decide(events, 1, nullptr);
  decide(events, kInFlight, &figures.gateDecisionBatchedMeanUs);
  audit.value()->keepLockBetweenWrites(false);
  figures.gateDecisionLocked = decide(events, 1, nullptr);
  audit.value()->keepLockBetweenWrites(true);
  {
    progress("calls with the HTTP plane on and scraped every 100 ms, against calls without");
    cordon::MetricsQueue queue;
    cordon::RunMetrics metrics(queue);
    cordon::RunEvents observed(record);
    observed.subscribe(metrics);
    cordon::QuietPoints observedQuietPoints(io.provider->getTimer(), observed);
    auto plane = cordon::HttpPlane::start({"127.0.0.1", 0, true}, queue);
    if (!plane.ok()) fail(plane.error().describe());
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> scrapes{0};
    std::thread scraper(scrapeEvery, plane.value()->port(), std::chrono::milliseconds(100),
                        std::cref(stop), std::ref(scrapes));
    auto seen = cordon::WorkerHandle::start(io, observed, launch).wait(io.waitScope);
    if (!seen.ok()) fail(seen.error().describe());
    auto& scrapedHandle = *seen.value();
    if (!scrapedHandle.init({}).wait(io.waitScope).ok()) fail("init failed");
    std::vector<double> plain, scraped;
    for (int done = 0; done < callRuns; done += kCallBlock) {
      timeCalls(plain, kCallBlock, [&handle, &io] {
        if (!handle.execute("bench", {}, {}).wait(io.waitScope).ok()) fail("execute failed");
      });
      timeCalls(scraped, kCallBlock, [&scrapedHandle, &io] {
        if (!scrapedHandle.execute("bench", {}, {}).wait(io.waitScope).ok()) fail("execute failed");
      });
    }
    stop = true;
    scraper.join();
    figures.callPlain = summarize(plain);
    figures.callScraped = summarize(scraped);
    figures.scrapes = scrapes.load();
    scrapedHandle.stop().wait(io.waitScope);
    plane.value()->stop();
  }
  figures.rssKib = statusField(handle.pid(), "VmRSS");
  figures.privateKib = statusField(handle.pid(), "RssAnon");
  handle.stop().wait(io.waitScope);
  worker.value().reset();
  quietPoints.reset();
  audit.value().reset();
  std::filesystem::remove_all(directory);
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "cordon-bench: the cost of Cordon's sandbox and gate, against floors measured in the same "
      "run"};
  int spawnRuns = 40;
  int callRuns = 2000;
  int syscallRuns = 2'000'000;
  bool json = false;
  std::string workerBinary = CORDON_BENCH_WORKER;
  std::string pluginPath = CORDON_BENCH_PLUGIN;
  std::string peer = CORDON_BENCH_PEER;
  app.add_option("--spawns", spawnRuns, "Process starts per spawn figure")
      ->check(CLI::Range(3, 10000))
      ->capture_default_str();
  app.add_option("--calls", callRuns, "Calls per call figure")
      ->check(CLI::Range(10, 10000000))
      ->capture_default_str();
  app.add_option("--syscalls", syscallRuns, "getpid() calls per seccomp overhead sample")
      ->check(CLI::Range(1000, 1000000000))
      ->capture_default_str();
  app.add_flag("--json", json, "Print one JSON object instead of the table");
  app.add_option("--worker", workerBinary, "cordon-worker binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  // The floors that spawn children run before the event loop exists (see ../shared/STACK.md).
  progress("floor: spawn of /bin/true");
  Summary exec = floorExec(spawnRuns);
  progress("floor: bubblewrap --unshare-all starting true");
  std::optional<Summary> bwrap = floorBwrap(spawnRuns);
  progress("seccomp overhead on a syscall loop");
  cordon::Policy noopPolicy = benchPolicy();
  auto programs = cordon::compileSeccompPrograms(*noopPolicy.forPlugin("noop"));
  if (!programs.ok()) fail(programs.error().describe());
  SeccompOverhead seccomp = seccompOverhead(programs.value().filter, syscallRuns);
  progress("floor: socketpair ping-pong");
  Summary socketpair = floorSocketpair(peer, callRuns);
  auto io = kj::setupAsyncIo();
  CapnpPeer floorPeer(io, peer);
  CapnpPeer bufferedFloorPeer(io, peer, /*buffered=*/true);
  WorkerFigures worker = measureWorker(io, workerBinary, pluginPath, spawnRuns, callRuns, floorPeer,
                                       bufferedFloorPeer);
  const Summary& capnpCall = worker.calls.floorCall;
  const double pipelined = worker.calls.pipelinedPerSecond;
  const double floorPipelined = worker.calls.floorPipelinedPerSecond;

  if (json) {
    nlohmann::json out = {
        {"cold_start_us", worker.coldStart.median},
        {"floor_exec_us", exec.median},
        {"call_us", worker.calls.call.median},
        {"call_plain_us", worker.callPlain.median},
        {"call_scraped_us", worker.callScraped.median},
        {"call_scraped_vs_plain", worker.callScraped.median / worker.callPlain.median},
        {"scrapes", worker.scrapes},
        {"call_p99_us", worker.calls.call.p99},
        {"floor_capnp_call_us", capnpCall.median},
        {"floor_capnp_call_p99_us", capnpCall.p99},
        {"floor_capnp_execute_us", worker.calls.floorExecute.median},
        {"floor_capnp_buffered_call_us", worker.calls.floorBufferedCall.median},
        {"call_vs_buffered_capnp_call",
         worker.calls.call.median / worker.calls.floorBufferedCall.median},
        {"floor_capnp_buffered_pipelined_calls_per_s",
         worker.calls.floorBufferedPipelinedPerSecond},
        {"call_loaded_us", worker.calls.callLoaded.median},
        {"call_loaded_p99_us", worker.calls.callLoaded.p99},
        {"floor_capnp_call_loaded_us", worker.calls.floorCallLoaded.median},
        {"floor_capnp_call_loaded_p99_us", worker.calls.floorCallLoaded.p99},
        {"floor_capnp_buffered_call_loaded_us", worker.calls.floorBufferedCallLoaded.median},
        {"call_loaded_vs_capnp_call",
         worker.calls.callLoaded.median / worker.calls.floorCallLoaded.median},
        {"load_threads", worker.calls.loadThreads},
        {"call_alternating_us", worker.calls.callAlternating.median},
        {"floor_capnp_call_alternating_us", worker.calls.floorCallAlternating.median},
        {"floor_socketpair_us", socketpair.median},
        {"pipelined_calls_per_s", pipelined},
        {"floor_capnp_pipelined_calls_per_s", floorPipelined},
        {"pipelined_vs_capnp", pipelined / floorPipelined},
        {"gate_decision_us", worker.gateDecision.median},
        {"gate_decision_p99_us", worker.gateDecision.p99},
        {"gate_decision_recorded_us", worker.gateDecisionRecorded.median},
        {"gate_decision_recorded_p99_us", worker.gateDecisionRecorded.p99},
        {"gate_decision_locked_us", worker.gateDecisionLocked.median},
        {"gate_decision_locked_p99_us", worker.gateDecisionLocked.p99},
        {"gate_decision_batched_us", worker.gateDecisionBatchedMeanUs},
        {"worker_rss_kib", worker.rssKib},
        {"allocator", cordon::allocatorName()},
        {"worker_private_kib", worker.privateKib},
        {"cold_start_vs_exec", worker.coldStart.median / exec.median},
        {"call_vs_capnp_call", worker.calls.call.median / capnpCall.median},
        {"floor_bwrap_us", bwrap ? nlohmann::json(bwrap->median) : nlohmann::json()},
        {"cold_start_vs_bwrap",
         bwrap ? nlohmann::json(worker.coldStart.median / bwrap->median) : nlohmann::json()},
        {"syscall_ns", seccomp.plainNs},
        {"syscall_filtered_ns", seccomp.filteredNs},
        {"seccomp_overhead_pct", seccomp.percent},
        {"syscall_allow_all_ns", seccomp.allowAllNs},
        {"floor_seccomp_pct", seccomp.floorPercent},
        {"spawns", spawnRuns},
        {"calls", callRuns},
    };
    std::printf("%s\n", cordon::jsonText(out, 2).c_str());
    return 0;
  }
  std::printf("supervisor's malloc: %s\n", cordon::allocatorName().c_str());
  std::printf("%-26s %12s %12s %12s %12s %8s  %s\n", "figure", "median", "p10", "p90", "p99", "n",
              "ratio to its floor");
  auto row = [](const char* name, const Summary& s, const char* versus, double floor) {
    const bool small = s.p99 < 10;  // sub-microsecond figures need their decimals
    std::printf(small ? "%-26s %10.3fus %10.3fus %10.3fus %10.3fus %8zu"
                      : "%-26s %10.1fus %10.1fus %10.1fus %10.1fus %8zu",
                name, s.median, s.p10, s.p90, s.p99, s.samples);
    if (versus != nullptr) std::printf("  %.2fx %s", s.median / floor, versus);
    std::printf("\n");
  };
  row("cold_start_us", worker.coldStart, "floor_exec_us", exec.median);
  if (bwrap) {
    std::printf("%-26s %12s %12s %12s %12s %8s  %.2fx floor_bwrap_us\n", "", "", "", "", "", "",
                worker.coldStart.median / bwrap->median);
  }
  row("floor_exec_us", exec, nullptr, 0);
  if (bwrap) {
    row("floor_bwrap_us", *bwrap, "floor_exec_us", exec.median);
  } else {
    std::printf("%-26s %12s  (bwrap missing or not permitted here)\n", "floor_bwrap_us", "n/a");
  }
  row("call_us", worker.calls.call, "floor_capnp_call_us", capnpCall.median);
  row("floor_capnp_call_us", capnpCall, "floor_socketpair_us", socketpair.median);
  row("floor_capnp_execute_us", worker.calls.floorExecute, "floor_capnp_call_us", capnpCall.median);
  row("floor_socketpair_us", socketpair, nullptr, 0);
  row("floor_capnp_buffered_call_us", worker.calls.floorBufferedCall, "floor_capnp_call_us",
      capnpCall.median);
  std::printf("%-26s %12s %12s %12s %12s %8s  %.2fx floor_capnp_buffered_call_us\n", "call_us", "",
              "", "", "", "", worker.calls.call.median / worker.calls.floorBufferedCall.median);
  row("call_loaded_us", worker.calls.callLoaded, "floor_capnp_call_loaded_us",
      worker.calls.floorCallLoaded.median);
  row("floor_capnp_call_loaded_us", worker.calls.floorCallLoaded, nullptr, 0);
  row("floor_capnp_buffered_call_loaded_us", worker.calls.floorBufferedCallLoaded,
      "floor_capnp_call_loaded_us", worker.calls.floorCallLoaded.median);
  std::printf("  (the loaded figures: %u busy threads, one per core, ran beside the calls)\n",
              worker.calls.loadThreads);
  row("call_alternating_us", worker.calls.callAlternating, "floor_capnp_call_alternating_us",
      worker.calls.floorCallAlternating.median);
  row("floor_capnp_call_alternating_us", worker.calls.floorCallAlternating, nullptr, 0);
  std::printf("%-26s %10.0f/s %58s  %.2fx floor_capnp_pipelined_calls_per_s\n",
              "pipelined_calls_per_s", pipelined, "", pipelined / floorPipelined);
  std::printf("%-26s %10.0f/s   (%d bare Cap'n Proto calls in flight)\n",
              "floor_capnp_pipelined_calls_per_s", floorPipelined, kInFlight);
  std::printf("%-26s %10.0f/s   (the same, on the read buffer; pipelined_calls_per_s %.2fx it)\n",
              "floor_capnp_buffered_pipelined_calls_per_s",
              worker.calls.floorBufferedPipelinedPerSecond,
              pipelined / worker.calls.floorBufferedPipelinedPerSecond);
  row("gate_decision_us", worker.gateDecision, "call_us", worker.calls.call.median);
  row("call_scraped_us", worker.callScraped, "call_plain_us", worker.callPlain.median);
  std::printf("  (%llu scrapes of /metrics during call_scraped_us; target: at most 1.05x)\n",
              static_cast<unsigned long long>(worker.scrapes));
  row("gate_decision_recorded_us", worker.gateDecisionRecorded, "gate_decision_us",
      worker.gateDecision.median);
  row("gate_decision_locked_us", worker.gateDecisionLocked, "gate_decision_us",
      worker.gateDecision.median);
  std::printf("%-26s %10.3fus   (mean; 64 records to a write, as 64 calls sent in one turn)\n",
              "gate_decision_batched_us", worker.gateDecisionBatchedMeanUs);
  std::printf(
      "%-26s %10.1f%%     (getpid: %.0f ns plain, %.0f ns under the worker's filter; "
      "%+.0f ns against floor_seccomp_pct)\n",
      "seccomp_overhead_pct", seccomp.percent, seccomp.plainNs, seccomp.filteredNs,
      seccomp.filteredNs - seccomp.allowAllNs);
  std::printf("%-26s %10.1f%%     (getpid: %.0f ns under a filter that only returns ALLOW)\n",
              "floor_seccomp_pct", seccomp.floorPercent, seccomp.allowAllNs);
  std::printf("%-26s %10llu KiB (private %llu KiB)\n", "worker_rss_kib",
              static_cast<unsigned long long>(worker.rssKib),
              static_cast<unsigned long long>(worker.privateKib));
  return 0;
}
