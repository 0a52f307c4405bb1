# The contract between the trusted supervisor (`cordon`) and an untrusted worker
# (`cordon-worker` with one plugin loaded). Everything that crosses the process boundary is
# described here; nothing else does. Evolve compatibly only: add fields and methods at new
# ordinals, never renumber, retype or remove.
@0x8d3c96d3c786bb08;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cordon::ipc");

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

struct PluginInfo {
  name @0 :Text;
  version @1 :Text;
  description @2 :Text;
  abiVersion @3 :UInt32;
}

struct InputInfo {
  # An input artifact the plugin may pull with Host.readInput. Data is not sent up front so that
  # the policy can meter every byte the plugin reads.
  name @0 :Text;
  size @1 :UInt64;
}

struct Artifact {
  name @0 :Text;
  data @1 :Data;
  inPlace @2 :Bool;  # the bytes are in the memfd Host.createOutput gave for `name`; `data` empty
}

enum Status {
  ok @0;
  pluginError @1;     # the plugin reported a failure of its own
  denied @2;          # the plugin gave up after a host call was denied
  resourceLimit @3;   # the plugin ran out of memory or another budget
  badInput @4;        # the plugin rejected its config or inputs
}

struct CallResult {
  status @0 :Status;
  message @1 :Text;   # empty when status is ok
}

interface Plugin {
  # Served by the worker, called by the supervisor. Every call passes the supervisor's gate.

  describe @0 () -> (info :PluginInfo);

  init @1 (config :List(KeyValue), host :Host) -> (result :CallResult);
  # Once per worker, before the first execute. `host` is valid for this call only.

  execute @2 (config :List(KeyValue), inputs :List(InputInfo), host :Host)
      -> (result :CallResult, outputs :List(Artifact));
  # One workflow step. `host` may read only this step's inputs and is revoked when the call ends.

  shutdown @3 () -> ();
}

enum LogLevel {
  debug @0;
  info @1;
  warn @2;
  error @3;
}

interface Host {
  # Served by the supervisor, called by the plugin (through the worker's SDK). Every call passes
  # the gate, which checks the plugin's policy grants and budgets.

  log @0 (level :LogLevel, message :Text) -> ();

  readInput @1 (name :Text, offset :UInt64, maxBytes :UInt32) -> (data :Data, totalSize :UInt64);
  # Reads up to maxBytes of a named input artifact from offset. An empty `data` at an offset
  # below totalSize never happens; an empty `data` means end of artifact.

  readFile @2 (path :Text, offset :UInt64, maxBytes :UInt32) -> (data :Data, totalSize :UInt64);
  # Reads up to maxBytes of a host file the policy's read_file grant covers (path prefixes),
  # opened by the supervisor without following a symlink out of the granted directory.

  mapInput @3 (name :Text) -> (size :UInt64, token :UInt64);
  # A named input as a sealed memfd (no write, grow or shrink; seals sealed), opened read-only
  # and sent on the control socket (worker_protocol.h: SCM_RIGHTS with this `token`) before this
  # reply. The worker maps it privately and read-only. Gated and budgeted as map_input
  # (max_bytes: the bytes mapped in one call).

  createOutput @4 (name :Text, size :UInt64) -> (token :UInt64);
  # A memfd of exactly `size` bytes (grow and shrink sealed), sent like mapInput's, for the
  # plugin to write output `name` in place. When execute returns it (Artifact.inPlace), the
  # supervisor seals it against writes before anyone sees it, and refuses it while the worker
  # still holds a writable mapping. Budgeted by the policy's max_output_bytes.
}

struct SandboxSpec {
  # Handed to a new worker on fd 4 before it reads anything else; built by the supervisor from
  # the policy. Not an RPC message: the worker applies it before any plugin byte is mapped.
  pluginPath @0 :Text;          # host path the plugin was read from (messages only: the verified
                                # bytes arrive as a sealed memfd on fd 6, worker_protocol.h)
  pluginName @1 :Text;

  limits @2 :Limits;
  struct Limits {
    addressSpaceBytes @0 :UInt64;
    cpuSeconds @1 :UInt64;
    openFiles @2 :UInt64;
    processes @3 :UInt64;
    fileSizeBytes @4 :UInt64;
  }

  loaderFilter @3 :Data;        # the seccomp BPF program (struct sock_filter[]), installed with a
                                # user-notification listener before dlopen; in force for good
  runtimeFilter @4 :Data;       # unused since the supervisor answers notifications (kept: the
                                # contract only grows); must be empty
  maxRpcMessageWords @5 :UInt64;
  readOnlyPaths @6 :List(Text);  # host paths bind-mounted read-only at the same place (policy
                                 # filesystem.read_only)
  readWritePaths @7 :List(Text); # host paths bind-mounted read-write (filesystem.read_write)
  scratchBytes @8 :UInt64;       # size of a private tmpfs at /scratch; 0 = none
  mountProc @9 :Bool;            # /proc of the worker's own PID namespace, read-only
  devices @10 :Bool;             # /dev/null, /dev/zero, /dev/urandom
}
