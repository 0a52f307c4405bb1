#!/usr/bin/env python3
"""The observability plane end to end, with the ecosystem's own tools (docs/metrics.md).

A real `cordon run --listen --metrics-file --trace --otlp-endpoint` of a workflow that lasts
several seconds, with a step whose plugin makes a forbidden syscall (on_error: continue). While
it runs: hostile HTTP clients (idle connections past the cap, an oversized header, garbage)
must not stall it; /healthz and /metrics answer in both formats; a real Prometheus server
scrapes it and its own query API returns the series. Afterwards: `promtool check metrics`
passes on the exposition, and the trace (file and OTLP/HTTP body) parses against the official
opentelemetry-proto schema (check_otlp.mjs, protobufjs) with the run's id and the violation's
error category. Exit 0 when every check holds; otherwise each failure is printed.
"""
import argparse
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, accept=None, method="GET", timeout=5):
    request = urllib.request.Request(url, method=method)
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


POLICY = """version: 1
plugins:
  mix:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 16777216 }
    limits: { memory_mb: 128, cpu_seconds: 120 }
    timeout_ms: 30000
    max_workers: 2
"""

WORKFLOW = """name: observed
inputs:
  text: { value: hello }
steps:
  - { name: s1, plugin: mix, config: { label: s1, spin_ms: "1500" }, inputs: { a: inputs.text } }
  - { name: bad, plugin: mix, config: { violate: "true" }, inputs: { a: inputs.text }, on_error: continue }
  - { name: s2, plugin: mix, config: { label: s2, spin_ms: "1500" }, inputs: { a: s1.out } }
  - { name: s3, plugin: mix, config: { label: s3, spin_ms: "1500" }, inputs: { a: s2.out } }
  - { name: s4, plugin: mix, config: { label: s4, spin_ms: "1500" }, inputs: { a: s3.out } }
  - { name: s5, plugin: mix, config: { label: s5, spin_ms: "1500" }, inputs: { a: s4.out } }
  - { name: s6, plugin: mix, config: { label: s6, spin_ms: "1500" }, inputs: { a: s5.out } }
  - { name: s7, plugin: mix, config: { label: s7, spin_ms: "1500" }, inputs: { a: s6.out } }
  - { name: s8, plugin: mix, config: { label: s8, spin_ms: "1500" }, inputs: { a: s7.out } }
outputs:
  result: s8.out
"""


class Collector(http.server.BaseHTTPRequestHandler):
    bodies = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        Collector.bodies.append((self.path, self.headers.get("Content-Type"), self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def hostile_clients(port):
    """Connections a hostile local client might make; returns the sockets to close later."""
    held = []
    for _ in range(40):  # past the plane's cap of 32 connections, and silent
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            pass
    return held


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cordon", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--plugin-path", required=True)
    parser.add_argument("--trust-store", required=True)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    for tool in ("promtool", "prometheus", "node"):
        if not shutil.which(tool):
            print(f"{tool} is not installed (tools/dev test installs it)")
            return 1
    if not os.path.isdir(os.path.join(here, "node_modules", "protobufjs")):
        print("protobufjs is not installed in tests/observe (tools/dev test runs npm ci there)")
        return 1

    work = tempfile.mkdtemp(prefix="cordon-observe-")
    policy = os.path.join(work, "policy.yaml")
    workflow = os.path.join(work, "flow.yaml")
    open(policy, "w").write(POLICY)
    open(workflow, "w").write(WORKFLOW)
    metrics_file = os.path.join(work, "metrics.prom")
    trace_file = os.path.join(work, "trace.json")

    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    env = dict(os.environ, CORDON_PLUGIN_PATH=args.plugin_path, CORDON_WORKER=args.worker,
               CORDON_TRUST_STORE=args.trust_store, CORDON_STATE_DIR=os.path.join(work, "state"))
    started = time.monotonic()
    run = subprocess.Popen(
        [args.cordon, "run", workflow, "--policy", policy, "--audit-log", os.path.join(work, "audit.jsonl"),
         "--listen", "127.0.0.1:0", "--metrics-file", metrics_file, "--trace", trace_file,
         "--otlp-endpoint", f"http://127.0.0.1:{collector.server_address[1]}/v1/traces", "--jobs", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = None
    stderr_lines = []
    while port is None:
        line = run.stderr.readline()
        if not line:
            break
        stderr_lines.append(line)
        found = re.search(r"serving /metrics and /healthz on http://127\.0\.0\.1:(\d+)", line)
        if found:
            port = int(found.group(1))
    if not check(port is not None, "cordon printed the port it serves on"):
        print("".join(stderr_lines) + run.stderr.read())
        return 1
    drain = threading.Thread(target=lambda: stderr_lines.extend(run.stderr), daemon=True)
    drain.start()
    base = f"http://127.0.0.1:{port}"

    # Hostile clients first: they must cost the run nothing.
    held = hostile_clients(port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as big:
        try:
            big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 65536 + b"\r\n\r\n")
            answer = big.recv(200)
        except OSError:
            answer = b""
    # Past the cap the plane closes new connections at once.
    check(answer == b"", f"a connection past the cap is closed: {answer[:60]!r}")
    # Half of them stay open and silent while the run goes (the plane's timeout ends them).
    for s in held[20:]:
        s.close()
    time.sleep(0.3)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as junk:
        junk.sendall(b"\x00\xff\x16\x03 not http at all\r\n\r\n")
        answer = junk.recv(200)
    check(answer.startswith(b"HTTP/1.1 400"), f"garbage gets 400: {answer[:60]!r}")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as big:
        big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 65536 + b"\r\n\r\n")
        answer = big.recv(200)
    check(answer.startswith(b"HTTP/1.1 400"), f"an oversized header gets 400: {answer[:60]!r}")

    status, _, body = get(base + "/healthz")
    check(status == 200 and body == "ok\n", f"/healthz answers ok: {status} {body!r}")
    status, _, _ = get(base + "/nothing")
    check(status == 404, f"an unknown path is 404: {status}")
    status, _, _ = get(base + "/metrics", method="POST")
    check(status == 405, f"POST is 405: {status}")
    status, ctype, text = get(base + "/metrics")
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4"), f"text format: {status} {ctype}")
    check("cordon_worker_starts_total{plugin=\"mix\"}" in text, "a started worker is counted while the run goes")
    status, ctype, om = get(base + "/metrics", accept="application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    check(ctype.startswith("application/openmetrics-text"), f"OpenMetrics when asked: {ctype}")
    check(om.endswith("# EOF\n") and "# TYPE cordon_worker_starts counter" in om, "OpenMetrics framing")

    # A real Prometheus scrapes the run (it asks for OpenMetrics) and answers through its API.
    prom_port = free_port()
    prom_dir = os.path.join(work, "prometheus")
    os.makedirs(prom_dir)
    config = os.path.join(prom_dir, "prometheus.yml")
    open(config, "w").write(
        "global: { scrape_interval: 1s, evaluation_interval: 1s }\n"
        f"scrape_configs:\n  - job_name: cordon\n    static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n")
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={prom_dir}/data",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(prom_dir, "log"), "w"))
    series = None
    health = None
    try:
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.5)
            try:
                query = "cordon_calls_total{method=\"execute\",plugin=\"mix\",result=\"ok\"}"
                _, _, answer = get(f"http://127.0.0.1:{prom_port}/api/v1/query?query=" + urllib.parse.quote(query))
                result = json.loads(answer)["data"]["result"]
                _, _, targets = get(f"http://127.0.0.1:{prom_port}/api/v1/targets")
                active = json.loads(targets)["data"]["activeTargets"]
                health = active[0] if active else None
                if result:
                    series = result
                    break
            except (OSError, ValueError, KeyError):
                continue
    finally:
        prometheus.terminate()
        prometheus.wait(10)
    check(series is not None, "Prometheus scraped a known series and its query API returned it")
    if health is not None:
        check(health.get("health") == "up" and health.get("lastError") == "",
              f"Prometheus parsed the scrape without error: {health.get('lastError')!r}")
    else:
        check(False, "Prometheus listed the target")

    try:
        run.wait(timeout=60)
    except subprocess.TimeoutExpired:
        run.kill()
        run.wait()
    run.stdout.read()
    drain.join(5)
    took = time.monotonic() - started
    check(run.returncode == 0, f"the run succeeded (its bad step continues): exit {run.returncode}\n{''.join(stderr_lines)}")
    for s in held[:20]:
        s.close()
    # 8 steps of 1.5 s in a chain: about 12 s when nothing stalls the event loop.
    check(took < 30, f"the hostile clients did not stall the run ({took:.1f} s)")
    run_id = None
    for line in stderr_lines:
        found = re.search(r"workflow succeeded.*run ([0-9a-f]{16})", line)
        if found:
            run_id = found.group(1)
    check(run_id is not None, "the run printed its id")

    checked = subprocess.run(["promtool", "check", "metrics"], stdin=open(metrics_file), capture_output=True, text=True)
    check(checked.returncode == 0, f"promtool check metrics passes: {checked.stdout}{checked.stderr}")
    exposition = open(metrics_file).read()
    for expected in ['cordon_seccomp_violations_total{plugin="mix",syscall="socket"} 1',
                     'cordon_steps_finished_total{plugin="mix",step="bad",status="continued"} 1',
                     'cordon_steps_finished_total{plugin="mix",step="s8",status="succeeded"} 1',
                     'cordon_errors_total{plugin="mix",step="bad",category="sandbox_violation"} 1',
                     'cordon_worker_faults_total{plugin="mix",kind="sandbox_violation"} 1',
                     'cordon_runs_finished_total{outcome="succeeded"} 1',
                     'cordon_steps_running 0', 'cordon_steps_waiting 0']:
        check(expected in exposition, f"the exposition holds {expected}")
    for phase in ("spawn", "namespaces", "root_filesystem", "seccomp", "load", "first_reply", "total"):
        check(f'cordon_worker_start_duration_seconds_count{{plugin="mix",phase="{phase}"}}' in exposition,
              f"worker start phase {phase} is measured")
    audit_records = re.search(r"^cordon_audit_records_total (\d+)$", exposition, re.M)
    check(audit_records is not None and int(audit_records.group(1)) > 20, "audit records are counted")

    node = ["node", os.path.join(here, "check_otlp.mjs")]
    parsed = subprocess.run(node + [trace_file], capture_output=True, text=True)
    if check(parsed.returncode == 0, f"the trace parses against opentelemetry-proto: {parsed.stderr}"):
        summary = json.loads(parsed.stdout)
        check(summary["runId"] == run_id, f"the trace carries the run id {run_id}: {summary['runId']}")
        check(summary["root"] == "run observed", f"the root span is the run: {summary['root']}")
        for kind in ("run", "step", "attempt", "call", "worker.start"):
            check(summary["kinds"].get(kind, 0) > 0, f"the trace has {kind} spans")
        check(summary["kinds"].get("step") == 9, f"one span per step: {summary['kinds']}")
        check({"name": "step bad", "category": "sandbox_violation"} in summary["failed"],
              f"the failed step's span has its category: {summary['failed']}")
        check(set(summary["phases"]) == {"spawn", "namespaces", "root_filesystem", "seccomp", "load", "first_reply"},
              f"worker start phases are spans: {sorted(set(summary['phases']))}")
    check(len(Collector.bodies) == 1, f"one OTLP/HTTP export: {len(Collector.bodies)}")
    if Collector.bodies:
        path, ctype, body = Collector.bodies[0]
        check(path == "/v1/traces" and ctype == "application/json", f"OTLP/HTTP JSON to /v1/traces: {path} {ctype}")
        check(json.loads(body) == json.load(open(trace_file)), "the export sends the spans the file holds")

    # The checker itself rejects what the schema does not allow.
    broken = json.load(open(trace_file))
    broken["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTime"] = "1"
    broken_file = os.path.join(work, "broken.json")
    json.dump(broken, open(broken_file, "w"))
    rejected = subprocess.run(node + [broken_file], capture_output=True, text=True)
    check(rejected.returncode == 1 and "no such field" in rejected.stderr, "a key outside the schema is refused")

    collector.shutdown()
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
        print("observe: every check passed")
        return 0
    print(f"observe: {len(failures)} check(s) failed; files in {work}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
