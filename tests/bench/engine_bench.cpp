// engine-bench: what the engine costs and gains, against figures measured in the same run.
//
//   call_us              one execute() of the no-op mix plugin on a started worker (the floor
//                        a step cannot go below)
//   dag10k_per_node_us   a 10,000-step graph of no-op mix steps (a chain, a wide layer and a
//                        diamond lattice), wall time per step, at --jobs 2 with max_workers 2
//   dag10k_journal_per_node_us  the same graph journaled, as cordon run with a state directory
//                        (SQLite journal, every output in the store); against call_us. The two
//                        run in --rounds interleaved pairs (3); each figure is the median, and
//                        the journaled ratio's lowest and highest are printed beside it
//   journal_step_us      what the journal and the store add per step: the median of the pairs'
//                        differences
//   journal_replay_step_us  the journal's own cost per step: the events of another journaled
//                        run, quiet points included, written again into a fresh journal by this
//                        thread alone (no workers, no scheduler beside it)
//   journal_close_ms     what cordon run does after a journaled run's report, before it exits:
//                        the WAL's last sync and checkpoint (not in the figures above)
//   dag10k_cpu_per_node_us  the supervisor's CPU time (user and system, every thread) per step
//                        of the graph, not journaled
//   journal_cpu_step_us  what journaling adds to that; against journal_replay_step_us, what the
//                        run beside the journal's statements makes them cost (2.3 to 2.6 times
//                        on the 2-core VM of 2026-12-07 with a 64 MiB page cache, 0.8 to 1.6
//                        times with SQLite's 2 MiB)
//   parallel_speedup     16 CPU-bound steps (50 ms each) at --jobs 2 against --jobs 1
//   cold_start_us        starting a worker and initialising it, until it can take a step
//   pool_start_us        taking a prestarted worker from its pool
//   pipeline3_wall_ms    the example pipeline, with and without prestart
//   blob64m_ms           handing a 64 MiB output from one step to the next (written in place,
//                        mapped by the reader, which touches every page): a 2-step run of the
//                        blob plugin with 64 MiB less the same run with 0 bytes; against
//                        floor_memfd64m_ms (create, map and touch a 64 MiB memfd) and
//                        floor_memcpy64m_ms (copy 64 MiB into fresh memory), same run
//   input512m_rss_mib    the supervisor's peak RSS (this process, VmHWM reset first) while a
//                        512 MiB input file is copied in place by one step and read by the next;
//                        against 64 MiB plus a tenth of the input
//
// Every run goes through the composition root (host/) as `cordon run` does, audit log included.
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/allocator.h"
#include "core/untrusted_text.h"
#include "host/cordon_host.h"
#include "host/quiet_points.h"
#include "journal/run_journal.h"
#include "run/audit_subscriber.h"
#include "worker/worker_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "engine-bench: %s\n", what.c_str());
  std::exit(1);
}

void progress(const char* what) {
  std::fprintf(stderr, "engine-bench: measuring %s...\n", what);
}

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Every event of one run and its quiet points, in order. Played again into a fresh journal they
// time the journal by itself, without the run's workers and scheduler competing for the CPU.
class EventTape final : public cordon::RunListener {
 public:
  void onEvent(const cordon::RunEvent& event) override { tape_.emplace_back(event); }
  void onQuiet() override { tape_.emplace_back(std::nullopt); }
  void keepReport(cordon::RunReport report) { report_ = std::move(report); }
  size_t events() const { return tape_.size(); }

  // Milliseconds to write the tape into a fresh journal at `path`, as the run wrote it.
  double replay(const std::string& path) const {
    auto opened = cordon::openJournal(path);
    if (!opened.ok()) fail(opened.error().describe());
    auto start = Clock::now();
    {
      cordon::RunJournal journal(*opened.value(), nlohmann::json::object());
      for (const std::optional<cordon::RunEvent>& entry : tape_) {
        if (!entry) {
          journal.onQuiet();
        } else if (std::holds_alternative<cordon::RunFinished>(*entry)) {
          journal.onEvent(cordon::RunFinished{&report_});  // the run's own report is gone
        } else {
          journal.onEvent(*entry);
        }
      }
      if (journal.failure()) fail(journal.failure()->describe());
    }
    return msSince(start);
  }

 private:
  std::vector<std::optional<cordon::RunEvent>> tape_;  // nullopt: a quiet point
  cordon::RunReport report_;
};

// User and system time of every thread of this process (the supervisor's), in ms.
double cpuMs(const rusage& usage) {
  auto ms = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) * 1e3 + static_cast<double>(time.tv_usec) / 1e3;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

struct Bench {
  fs::path dir;
  double lastCpuMs = 0;    // the supervisor's CPU time in the last run()
  double lastCloseMs = 0;  // the last journaled run()'s journal finish()
  cordon::CordonHost host{{CORDON_BENCH_WORKER, false, false}};

  Bench() : dir(fs::temp_directory_path() / ("cordon-engine-bench-" + std::to_string(getpid()))) {
    fs::create_directories(dir);
  }
  ~Bench() { fs::remove_all(dir); }

  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }

  std::string policy(unsigned maxWorkers) const {
    return write("policy.yaml",
                 "version: 1\nplugins:\n  mix:\n"
                 "    calls: [describe, init, execute, shutdown]\n"
                 "    host:\n      read_input: { max_bytes: 16777216 }\n"
                 "    limits: { memory_mb: 256, cpu_seconds: 600 }\n"
                 "    timeout_ms: 60000\n    max_workers: " +
                     std::to_string(maxWorkers) + "\n");
  }

  cordon::TrustOptions trust() const {
    return {{CORDON_BENCH_ENGINE_PLUGINS, CORDON_BENCH_EXAMPLE_PLUGINS},
            CORDON_BENCH_SOURCE "/tests/fixtures/trust",
            ""};
  }

  // The run's wall time in ms (preflight excluded: that is validation, not the engine).
  // `journaled`: as cordon run with a state directory: a fresh journal (STATE/journal.sqlite)
  // written on the event stream, and every output kept in STATE/artifacts.
  // `tape`: records the run's events (for EventTape::replay).
  double run(const std::string& workflow, const std::string& policyPath, unsigned jobs,
             bool prestart = true, bool journaled = false, EventTape* tape = nullptr) {
    const std::string audit = (dir / "audit.jsonl").string();
    fs::remove(audit);
    fs::remove(audit + ".checkpoint");  // a fresh log per run: only the engine is measured
    auto log = cordon::AuditLog::open(audit);
    if (!log.ok()) fail(log.error().describe());
    auto checked = cordon::preflight(workflow, policyPath, trust(),
                                     cordon::RunAudit(log.value().get(), cordon::newRunId()));
    if (!checked.ok()) fail(checked.error().describe());
    cordon::RunRequest request;
    request.preflight = checked.value().get();
    request.inputs = cordon::loadWorkflowInputs(*checked.value()->workflow, {});
    request.audit = log.value().get();
    request.options.jobs = jobs;
    request.options.prestart = prestart;
    std::unique_ptr<cordon::SqliteDb> db;
    std::optional<cordon::RunJournal> journal;
    if (journaled) {
      fs::remove_all(dir / "state");
      fs::create_directories(dir / "state");
      auto opened = cordon::openJournal((dir / "state" / "journal.sqlite").string());
      if (!opened.ok()) fail(opened.error().describe());
      db = std::move(opened.value());
      journal.emplace(*db, nlohmann::json::object());
      request.listeners.push_back(&*journal);
      request.options.spillDirectory = (dir / "state" / "artifacts").string();
      request.options.durableOutputs = true;
    }
    if (tape != nullptr) request.listeners.push_back(tape);
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    auto start = Clock::now();
    auto report = host.run(std::move(request));
    double ms = msSince(start);
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    lastCpuMs = cpuMs(after) - cpuMs(before);
    if (!report.ok()) fail(report.error->describe());
    // What cordon run does next, before it exits: the last sync of the WAL and checkpoint.
    // Timed apart (journal_close_ms), after the run's report as for a user.
    if (journal) {
      auto closing = Clock::now();
      journal->finish();
      lastCloseMs = msSince(closing);
    }
    if (journal && journal->failure()) fail(journal->failure()->describe());
    if (tape != nullptr) tape->keepReport(std::move(report));
    return ms;
  }
};

std::string blobPolicy(const Bench& bench) {
  return bench.write("blob-policy.yaml",
                     "version: 1\nplugins:\n  blob:\n"
                     "    calls: [describe, init, execute, shutdown]\n"
                     "    host:\n      map_input: { max_bytes: 1073741824 }\n"
                     "    limits: { memory_mb: 2048, cpu_seconds: 600 }\n"
                     "    timeout_ms: 60000\n    max_output_bytes: 1073741824\n");
}

uint64_t statusKib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::string(field).size()));
  }
  return 0;
}

double floorMemfdMs(size_t bytes) {
  auto start = Clock::now();
  int fd = memfd_create("floor", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0) fail("memfd floor");
  void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) fail("memfd floor mmap");
  std::memset(map, 0x5a, bytes);
  munmap(map, bytes);
  close(fd);
  return msSince(start);
}

double floorMemcpyMs(const std::vector<char>& source) {
  auto start = Clock::now();
  char* copy = static_cast<char*>(std::malloc(source.size()));
  if (copy == nullptr) fail("memcpy floor");
  std::memcpy(copy, source.data(), source.size());
  volatile char keep = copy[source.size() / 2];
  (void)keep;
  std::free(copy);
  return msSince(start);
}

std::string header(const std::string& name) {
  return "name: " + name + "\ninputs:\n  text: { value: \"x\" }\nsteps:\n";
}

std::string step(const std::string& name, const std::string& inputs,
                 const std::string& config = "") {
  return "  - { name: " + name + ", plugin: mix" +
         (config.empty() ? "" : ", config: { " + config + " }") + ", inputs: { " + inputs +
         " } }\n";
}

// A chain, a wide layer and a diamond lattice: `nodes` steps in all.
std::string dagWorkflow(int nodes) {
  std::string text = header("dag");
  const int chain = nodes * 3 / 10;
  const int wide = nodes * 4 / 10;
  const int latticeWidth = 10;
  const int lattice = nodes - chain - wide;
  for (int i = 0; i < chain; ++i)
    text +=
        step("c" + std::to_string(i),
             "a: " + (i == 0 ? std::string("inputs.text") : "c" + std::to_string(i - 1) + ".out"),
             "label: c");
  for (int i = 0; i < wide; ++i)
    text += step("w" + std::to_string(i), "a: inputs.text", "label: w");
  // Each lattice row reads two steps of the row above: outputs stay small (labels only).
  for (int i = 0; i < lattice; ++i) {
    const int row = i / latticeWidth;
    const int column = i % latticeWidth;
    std::string inputs = "a: inputs.text";
    if (row > 0) {
      const int above = (row - 1) * latticeWidth;
      inputs = "a: l" + std::to_string(above + column) + ".out, b: l" +
               std::to_string(above + (column + 1) % latticeWidth) + ".out";
    }
    text += step("l" + std::to_string(i), inputs, "label: l, label_only: \"1\"");
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "engine-bench: the workflow engine's cost and speed-up, against floors measured in "
      "the same run"};
  int nodes = 10000;
  int calls = 2000;
  int starts = 20;
  bool json = false;
  app.add_option("--nodes", nodes, "Steps in the big graph")
      ->check(CLI::Range(50, 1000000))
      ->capture_default_str();
  app.add_option("--calls", calls, "Calls for call_us")
      ->check(CLI::Range(10, 1000000))
      ->capture_default_str();
  app.add_option("--starts", starts, "Worker starts per start figure")
      ->check(CLI::Range(3, 1000))
      ->capture_default_str();
  int rounds = 3;
  app.add_option("--rounds", rounds, "Interleaved pairs of the graph, plain and journaled")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  bool graphOnly = false;
  app.add_flag("--json", json, "Print one JSON object instead of the table");
  app.add_flag("--graph-only", graphOnly,
               "Measure call_us and the two graph figures only (for profiling the engine and "
               "the journal); the other figures print as 0");
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  Bench bench;
  const std::string policy2 = bench.policy(2);

  double blobMs = 0, floorMemfdMsValue = 0, floorMemcpyMsValue = 0, inputRssMib = 0;
  const uint64_t inputBytes = 512ull << 20;
  const double inputRssTargetMib = 64 + static_cast<double>(inputBytes >> 20) / 10;
  if (!graphOnly) {
    // First, while this process is small: its peak RSS is the supervisor's.
    progress("the data plane (64 MiB handed over, a 512 MiB input)");
    const size_t blobBytes = 64u << 20;
    const std::string blobPolicyPath = blobPolicy(bench);
    auto blobFlow = [&](const std::string& name, size_t bytes) {
      return bench.write(name,
                         "name: blob\nsteps:\n"
                         "  - { name: make, plugin: blob, config: { mode: produce, fast: \"1\","
                         " bytes: \"" +
                             std::to_string(bytes) +
                             "\" } }\n"
                             "  - { name: read, plugin: blob, config: { mode: touch },"
                             " inputs: { in: make.out } }\n");
    };
    const std::string blob64 = blobFlow("blob64.yaml", blobBytes);
    const std::string blob0 = blobFlow("blob0.yaml", 0);
    std::vector<double> withBlob, withoutBlob, memfdFloor, memcpyFloor;
    const std::vector<char> source(blobBytes, 'x');
    for (int round = 0; round < 7; ++round) {  // interleaved, so drift hits all alike
      withBlob.push_back(bench.run(blob64, blobPolicyPath, 2));
      withoutBlob.push_back(bench.run(blob0, blobPolicyPath, 2));
      memfdFloor.push_back(floorMemfdMs(blobBytes));
      memcpyFloor.push_back(floorMemcpyMs(source));
    }
    blobMs = std::max(0.0, median(withBlob) - median(withoutBlob));
    floorMemfdMsValue = median(memfdFloor);
    floorMemcpyMsValue = median(memcpyFloor);

    {
      std::ofstream big(bench.dir / "big.bin", std::ios::binary);
      const std::vector<char> chunk(1 << 20, 'y');
      for (uint64_t i = 0; i < inputBytes; i += chunk.size())
        big.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    const std::string bigFlow = bench.write(
        "big.yaml",
        "name: big\ninputs:\n  big: { file: big.bin }\nsteps:\n"
        "  - { name: copy, plugin: blob, config: { mode: copy }, inputs: { in: inputs.big } }\n"
        "  - { name: read, plugin: blob, config: { mode: touch }, inputs: { in: copy.out } }\n");
    std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := VmRSS
    bench.run(bigFlow, blobPolicyPath, 2);
    inputRssMib = static_cast<double>(statusKib("VmHWM:")) / 1024;
    fs::remove(bench.dir / "big.bin");
  }

  // The floor: a no-op mix step's call on one started worker.
  progress("call_us (execute on a started worker)");
  double callUs = 0;
  double coldStartUs = 0;
  double poolStartUs = 0;
  {
    const std::string flow = bench.write("one.yaml", header("one") + step("s", "a: inputs.text"));
    auto log = cordon::AuditLog::open((bench.dir / "floor-audit.jsonl").string());
    if (!log.ok()) fail(log.error().describe());
    auto checked = cordon::preflight(flow, policy2, bench.trust(),
                                     cordon::RunAudit(log.value().get(), cordon::newRunId()));
    if (!checked.ok()) fail(checked.error().describe());
    cordon::PlanSources sources;
    sources.graph = &checked.value()->graph;
    sources.policy = &checked.value()->policy;
    sources.plugins = &checked.value()->plugins;
    sources.seccomp = &checked.value()->seccomp;
    sources.workerBinary = CORDON_BENCH_WORKER;
    const cordon::RunPlan plan = cordon::buildRunPlan(sources, cordon::ArtifactMap{});
    const cordon::PlannedPlugin& mix = plan.plugins.at(0);
    cordon::AuditSubscriber record(*log.value());
    cordon::RunEvents events(record);
    auto& io = bench.host.io();
    // As in a run: quiet points, and the audit log's lock kept between them.
    log.value()->keepLockBetweenWrites(true);
    cordon::QuietPoints quietPoints(io.provider->getTimer(), events);
    cordon::WorkerLaunch launch{mix.name,
                                mix.verified->package.objectPath(),
                                mix.verified->object->fd(),
                                mix.verified->digest,
                                mix.verified->package.manifest.version.text(),
                                CORDON_BENCH_WORKER,
                                mix.section,
                                mix.sandboxSpec,
                                bench.host.cgroups(),
                                bench.host.noCgroupReason()};
    auto start = [&]() {
      return cordon::WorkerHandle::start(io, events, launch)
          .then([](cordon::Outcome<std::unique_ptr<cordon::WorkerHandle>> started)
                    -> kj::Promise<cordon::Outcome<std::unique_ptr<cordon::WorkerHandle>>> {
            if (!started.ok()) return kj::mv(started);
            auto& worker = *started.value();
            return worker.init({}).then(
                [worker = std::move(started.value())](cordon::Outcome<cordon::Done> done) mutable
                -> cordon::Outcome<std::unique_ptr<cordon::WorkerHandle>> {
                  if (!done.ok()) return done.error();
                  return std::move(worker);
                });
          });
    };
    std::vector<double> cold, pooled;
    for (int i = 0; i < starts; ++i) {
      auto begin = Clock::now();
      auto worker = start().wait(io.waitScope);
      cold.push_back(msSince(begin) * 1000);
      if (!worker.ok()) fail(worker.error().describe());
      worker.value()->stop().wait(io.waitScope);

      cordon::WorkerPool pool(1, start);
      pool.prestart();
      io.provider->getTimer().afterDelay(100 * kj::MILLISECONDS).wait(io.waitScope);  // started
      begin = Clock::now();
      auto taken = pool.acquire().wait(io.waitScope);
      pooled.push_back(msSince(begin) * 1000);
      if (!taken.ok()) fail(taken.error().describe());
      pool.release(taken.value());
      pool.stopAll(false).wait(io.waitScope);
    }
    coldStartUs = median(cold);
    poolStartUs = median(pooled);

    auto worker = start().wait(io.waitScope);
    if (!worker.ok()) fail(worker.error().describe());
    cordon::ArtifactMap inputs = {{"a", cordon::makeArtifact("x")}};
    std::vector<double> samples;
    for (int i = 0; i < calls + calls / 10; ++i) {
      auto begin = Clock::now();
      auto result = worker.value()->execute("bench", {}, inputs).wait(io.waitScope);
      if (i >= calls / 10) samples.push_back(msSince(begin) * 1000);
      if (!result.ok()) fail(result.error().describe());
    }
    callUs = median(samples);
    worker.value()->stop().wait(io.waitScope);
  }

  // The graph plain and journaled, in `rounds` interleaved pairs: the figures are medians, and
  // what the journal adds is the median of the pairs' differences, so a noisy stretch of the host
  // moves one pair, not the verdict.
  const std::string dag = bench.write("dag.yaml", dagWorkflow(nodes));
  std::vector<double> plainMs, plainCpuMs, journaledMs, stepUs, cpuStepUs, closeMs;
  for (int round = 1; round <= rounds; ++round) {
    std::fprintf(
        stderr,
        "engine-bench: measuring a %d-step graph, plain and journaled (round %d of %d)...\n", nodes,
        round, rounds);
    plainMs.push_back(bench.run(dag, policy2, 2));
    plainCpuMs.push_back(bench.lastCpuMs);
    journaledMs.push_back(bench.run(dag, policy2, 2, true, true));
    stepUs.push_back((journaledMs.back() - plainMs.back()) * 1000 / nodes);
    cpuStepUs.push_back((bench.lastCpuMs - plainCpuMs.back()) * 1000 / nodes);
    closeMs.push_back(bench.lastCloseMs);
  }
  const double dagMs = median(plainMs);
  const double perNodeUs = dagMs * 1000 / nodes;
  const double cpuPerNodeUs = median(plainCpuMs) * 1000 / nodes;
  const double journaledPerNodeUs = median(journaledMs) * 1000 / nodes;
  const double journaledMinUs =
      *std::min_element(journaledMs.begin(), journaledMs.end()) * 1000 / nodes;
  const double journaledMaxUs =
      *std::max_element(journaledMs.begin(), journaledMs.end()) * 1000 / nodes;
  auto perNode = [nodes](const std::vector<double>& ms) {
    std::vector<double> us;
    us.reserve(ms.size());
    for (double each : ms) us.push_back(each * 1000 / nodes);
    return us;
  };
  const double journalStepUs = median(stepUs);
  const double journalCpuStepUs = median(cpuStepUs);
  // Recorded in a run of its own: keeping every event costs the run's thread, which the
  // journaled figure above must not pay.
  progress("the journal alone (a journaled run's events written again into a fresh journal)");
  EventTape tape;
  bench.run(dag, policy2, 2, true, true, &tape);
  const double replayStepUs = tape.replay((bench.dir / "replay.sqlite").string()) * 1000 / nodes;

  double speedup = 0, serialMs = 0, parallelMs = 0, pipelineMs = 0, pipelineColdMs = 0;
  if (!graphOnly) {
    progress("16 CPU-bound steps at --jobs 1 and --jobs 2");
    std::string wide = header("cpu");
    for (int i = 0; i < 16; ++i)
      wide += step("s" + std::to_string(i), "a: inputs.text", "spin_ms: \"50\"");
    const std::string wideFlow = bench.write("cpu.yaml", wide);
    std::vector<double> serial, parallel;
    for (int round = 0; round < 3; ++round) {  // interleaved, so drift hits both alike
      serial.push_back(bench.run(wideFlow, policy2, 1));
      parallel.push_back(bench.run(wideFlow, policy2, 2));
    }
    serialMs = median(serial);
    parallelMs = median(parallel);
    speedup = serialMs / parallelMs;

    progress("the example pipeline with and without prestart");
    const std::string pipeline = CORDON_BENCH_SOURCE "/examples/text-pipeline/workflow.yaml";
    const std::string pipelinePolicy = CORDON_BENCH_SOURCE "/policies/default.yaml";
    std::vector<double> withPrestart, withoutPrestart;
    for (int round = 0; round < 10; ++round) {
      withPrestart.push_back(bench.run(pipeline, pipelinePolicy, 2, true));
      withoutPrestart.push_back(bench.run(pipeline, pipelinePolicy, 2, false));
    }

    pipelineMs = median(withPrestart);
    pipelineColdMs = median(withoutPrestart);
  }

  nlohmann::json out = {
      {"call_us", callUs},
      {"dag10k_nodes", nodes},
      {"dag10k_wall_ms", dagMs},
      {"dag10k_per_node_us", perNodeUs},
      {"dag10k_vs_call", perNodeUs / callUs},
      {"dag10k_journal_per_node_us", journaledPerNodeUs},
      {"dag10k_journal_vs_call", journaledPerNodeUs / callUs},
      {"dag10k_journal_vs_call_min", journaledMinUs / callUs},
      {"dag10k_journal_vs_call_max", journaledMaxUs / callUs},
      {"dag10k_rounds", rounds},
      {"dag10k_round_per_node_us", perNode(plainMs)},
      {"dag10k_journal_round_per_node_us", perNode(journaledMs)},
      {"journal_step_us", journalStepUs},
      {"journal_replay_step_us", replayStepUs},
      {"journal_close_ms", median(closeMs)},
      {"dag10k_cpu_per_node_us", cpuPerNodeUs},
      {"journal_cpu_step_us", journalCpuStepUs},
      {"parallel_jobs1_ms", serialMs},
      {"parallel_jobs2_ms", parallelMs},
      {"parallel_speedup", speedup},
      {"cold_start_us", coldStartUs},
      {"pool_start_us", poolStartUs},
      {"pool_vs_cold_start", poolStartUs / coldStartUs},
      {"pipeline3_wall_ms", pipelineMs},
      {"pipeline3_no_prestart_wall_ms", pipelineColdMs},
      {"blob64m_ms", blobMs},
      {"floor_memfd64m_ms", floorMemfdMsValue},
      {"floor_memcpy64m_ms", floorMemcpyMsValue},
      {"blob64m_vs_memfd", blobMs / floorMemfdMsValue},
      {"input512m_rss_mib", inputRssMib},
      {"input512m_rss_target_mib", inputRssTargetMib},
      {"allocator", cordon::allocatorName()},
  };
  if (json) {
    std::printf("%s\n", cordon::jsonText(out, 2).c_str());
    return 0;
  }
  std::printf("supervisor's malloc: %s\n", cordon::allocatorName().c_str());
  std::printf("%-30s %14s  %s\n", "figure", "value", "against");
  std::printf("%-30s %12.1fus\n", "call_us", callUs);
  std::printf("%-30s %12.1fus  %.2fx call_us (%d steps in %.0f ms, --jobs 2; median of %d)\n",
              "dag10k_per_node_us", perNodeUs, perNodeUs / callUs, nodes, dagMs, rounds);
  std::printf(
      "%-30s %12.1fus  %.2fx call_us (target <= 1.5x; journal and store on; %.2f-%.2fx in %d "
      "rounds)\n",
      "dag10k_journal_per_node_us", journaledPerNodeUs, journaledPerNodeUs / callUs,
      journaledMinUs / callUs, journaledMaxUs / callUs, rounds);
  std::printf("%-30s %12.1fus  (journaled less plain, median of the %d pairs)\n", "journal_step_us",
              journalStepUs, rounds);
  std::printf("%-30s %12.1fus  (a journaled run's %zu events into a fresh journal, alone)\n",
              "journal_replay_step_us", replayStepUs, tape.events());
  std::printf("%-30s %12.1fms  (after the run: the WAL's last sync and checkpoint, median)\n",
              "journal_close_ms", median(closeMs));
  std::printf("%-30s %12.1fus  (the supervisor's CPU per step, all threads, not journaled)\n",
              "dag10k_cpu_per_node_us", cpuPerNodeUs);
  std::printf("%-30s %12.1fus  (%.2fx journal_replay_step_us: what the journaled run's CPU adds)\n",
              "journal_cpu_step_us", journalCpuStepUs, journalCpuStepUs / replayStepUs);
  std::printf("%-30s %13.2fx  (%.0f ms at --jobs 1, %.0f ms at --jobs 2)\n", "parallel_speedup",
              speedup, serialMs, parallelMs);
  std::printf("%-30s %12.1fus\n", "cold_start_us", coldStartUs);
  std::printf("%-30s %12.1fus  %.3fx cold_start_us\n", "pool_start_us", poolStartUs,
              poolStartUs / coldStartUs);
  std::printf("%-30s %12.1fms  (%.1f ms without prestart)\n", "pipeline3_wall_ms", pipelineMs,
              pipelineColdMs);
  std::printf("%-30s %12.1fms  %.2fx floor_memfd64m_ms (%.1f ms; memcpy %.1f ms; target 2x)\n",
              "blob64m_ms", blobMs, blobMs / floorMemfdMsValue, floorMemfdMsValue,
              floorMemcpyMsValue);
  std::printf("%-30s %11.1fMiB  target %.1f MiB (64 MiB + a tenth of the input)\n",
              "input512m_rss_mib", inputRssMib, inputRssTargetMib);
  return 0;
}
