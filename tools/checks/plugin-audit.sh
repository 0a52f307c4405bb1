#!/usr/bin/env bash
# plugin-security-audit: `cordon plugins audit` (a static look at each shared object, never
# loaded; docs/trust.md) as a gate.
#  - Every plugin the project ships (plugins/) passes against policies/default.yaml: nothing at
#    or above medium.
#  - Every test plugin in tests/security/plugins is flagged (medium or above, against the policy
#    the suite runs it under) for what it does, or is listed below as an attack only the run
#    time can see, with why. A new test plugin must be put in one of the two lists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD="${BUILD:-build}"
cordon="$BUILD/supervisor/cordon"
status=0
fail() { echo "plugin-security-audit: $*" >&2; status=1; }

# What each one's finding must say (kind: detail's start).
declare -A flagged=(
  [bpf-load]="raw-syscall: imports syscall()"         [chroot]="import: imports chroot()"
  [constructor-socket]="import: imports socket()"     [dotdot-shadow]="file-access: imports open64()"
  [exec-shell]="import: imports execve()"             [exec-stack]="execstack: PT_GNU_STACK"
  [execveat]="raw-syscall: imports syscall()"         [file-reader]="file-access: imports open64()"
  [flaky]="file-access: imports open64()"             [fork-child]="import: imports fork()"
  [inet6-socket]="import: imports socket()"           [inode-flood]="file-access: imports open64()"
  [io-uring]="raw-syscall: imports syscall()"         [keyctl]="raw-syscall: imports syscall()"
  [kill-others]="import: imports kill()"              [memfd-exec]="raw-syscall: imports syscall()"
  [mount-tmpfs]="import: imports mount()"             [netlink-socket]="import: imports socket()"
  [open-by-handle]="raw-syscall: imports syscall()"   [open-socket]="import: imports socket()"
  [packet-socket]="import: imports socket()"          [perf-event]="raw-syscall: imports syscall()"
  [personality]="import: imports personality()"      [prctl-dumpable]="import: imports prctl()"
  [proc-one-root]="file-access: imports open64()"     [proc-self-mem]="file-access: imports open64()"
  [process-vm-read]="raw-syscall: imports syscall()"  [ptrace-attach]="raw-syscall: imports syscall()"
  [read-passwd]="file-access: imports open64()"       [scratch-fill]="file-access: imports open64()"
  [seccomp-escape]="raw-syscall: imports syscall()"   [setns]="import: imports setns()"
  [socket-probe]="raw-syscall: imports syscall()"     [socketpair]="import: imports socketpair()"
  [symlink]="import: imports symlink()"               [thread-bomb]="import: imports pthread_create()"
  [tiocsti]="import: imports ioctl()"                 [unix-socket]="import: imports socket()"
  [unshare-userns]="import: imports unshare()"        [userfaultfd]="raw-syscall: imports syscall()"
  [write-file]="file-access: imports open64()"
)
# What no import shows: the run time stops these (the suite proves it), the static audit cannot.
declare -A runtime_only=(
  [cpu-burn]="burns CPU: RLIMIT_CPU"                  [endless-loop]="loops: the call timeout"
  [memory-hog]="allocates: RLIMIT_AS / memory.max"    [segfault]="crashes"
  [fd-exhaustion]="dup()s: RLIMIT_NOFILE"             [mmap-exec]="maps executable memory: W^X"
  [mprotect-exec]="makes memory executable: W^X"      [wx-flip]="flips a mapping W to X: W^X"
  [wx-constructor]="W+X in a constructor: W^X"        [rpc-garbage]="writes garbage: the RPC layer"
  [oversized-message]="a huge RPC message: the RPC layer" [forged-report]="a forged report line"
  [forge-capability]="a forged capability: the RPC layer" [huge-output]="max_output_bytes"
  [log-flood]="host budgets"                          [ungranted-log]="the gate: an ungranted capability"
  [text-error]="hostile bytes in an error: forTerminal" [text-output]="hostile bytes in an output name"
  [text-path]="hostile bytes in a path"               [text-input-name]="hostile bytes in an input name"
  [wrong-abi]="another ABI: the worker's loader"      [no-descriptor]="no descriptor: the worker's loader"
  [fake-load-refusal]="a forged report: the classifier" [fake-memory-limit]="a forged report: the classifier"
  [fake-setup-failure]="a forged report: the classifier" [file-broker]="brokered file handles: the gate"
  [sdk-probe]="probes the SDK's own checks"
)

for package in "$BUILD"/plugins/*/; do
  [ -f "$package/plugin.yaml" ] || continue
  if ! out=$("$cordon" plugins audit "$package" --policy policies/default.yaml --fail-on medium 2>&1); then
    fail "shipped plugin $(basename "$package") has findings against policies/default.yaml:"
    echo "$out" >&2
  fi
done

seen=0
for package in "$BUILD"/tests/security/plugins/*/; do
  [ -f "$package/plugin.yaml" ] || continue
  name=$(basename "$package")
  seen=$((seen + 1))
  rc=0
  out=$("$cordon" plugins audit "$package" --policy tests/security/hostile-policy.yaml \
    --fail-on medium 2>&1) || rc=$?
  if [ -n "${flagged[$name]+x}" ]; then
    if [ "$rc" -ne 1 ] || ! grep -qF -- ": ${flagged[$name]}" <<<"$out"; then
      fail "$name is not flagged for what it does (expected '${flagged[$name]}', exit 1; got exit $rc):"
      echo "$out" >&2
    fi
  elif [ -n "${runtime_only[$name]+x}" ]; then
    [ "$rc" -le 1 ] || fail "$name: the audit failed (exit $rc): $out"
  else
    fail "test plugin $name is in neither list: say what its audit must flag, or why only the run time can see it"
  fi
done
for name in "${!flagged[@]}" "${!runtime_only[@]}"; do
  [ -f "$BUILD/tests/security/plugins/$name/plugin.yaml" ] || fail "listed plugin $name is not built"
done
[ "$seen" -gt 0 ] || fail "no test plugins under $BUILD/tests/security/plugins (build first)"

[ "$status" -eq 0 ] &&
  echo "plugin-security-audit: shipped plugins clean; ${#flagged[@]} test plugins flagged for what they do, ${#runtime_only[@]} stopped only at run time"
exit "$status"
