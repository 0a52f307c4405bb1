#!/usr/bin/env bash
# The folders are the architecture; this keeps them honest.
#  - plugins/sdk/ is all a plugin author sees: it includes only the C/C++ standard library and itself.
#  - sandbox-worker/ (untrusted side) never includes supervisor code.
#  - plugins/ never include Cap'n Proto or anything of Cordon's beyond the SDK. (One exception:
#    forge_capability.c includes forged_call.h, a byte array a host tool writes at build time,
#    tests/security/make_forged_call.cpp: the plugin itself links no Cap'n Proto.)
#  - only supervisor/gate/ makes call-time policy decisions (PluginPolicy::allows / ::grant).
#  - JSON is turned into text only by jsonText (supervisor/core/untrusted_text).
#  - Inside the supervisor, dependencies point one way (docs/architecture.md): worker/ knows no
#    engine, host or workflow; gate/ knows no worker, engine or host; engine/ knows no host or
#    cli; run/ (what a run produces) knows none of them; observe/ (metrics, traces, HTTP) knows
#    only run/, audit/ and core/, journal/ (the run journal) likewise; only host/ includes cli/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
status=0
fail() { echo "layering: $*" >&2; status=1; }

while IFS= read -r line; do fail "SDK includes something outside itself: $line"; done < <(
  grep -rn '#include' plugins/sdk | grep -v -E '#include <(cordon/[a-z_.]+|[a-z_]+\.h|[a-z_]+)>' || true)
while IFS= read -r line; do fail "plugin includes more than the SDK: $line"; done < <(
  grep -rn --include=*.c --include=*.cpp --include=*.h '#include' plugins tests/security/plugins tools/bench/noop_plugin.c |
    grep -v '^plugins/sdk/' | grep -v -E '^tests/security/plugins/forge_capability.c:[0-9]+:#include "forged_call.h"$' |
    grep -E 'capnp|kj/|"' || true)
supervisor_dirs=$(cd supervisor && ls -d */ | tr -d / | paste -sd'|')
while IFS= read -r line; do fail "worker includes supervisor code: $line"; done < <(
  grep -rn '#include "' sandbox-worker | grep -E "#include \"($supervisor_dirs)/" || true)
while IFS= read -r line; do fail "policy decision outside the gate: $line"; done < <(
  grep -rn -E '(\.|->)(allows|grant)\(' supervisor sandbox-worker |
    grep -v -E '^supervisor/(gate|policy)/' || true)
# JSON becomes text only through core/untrusted_text's jsonText, which cannot throw on the bytes
# a plugin or a file put into it (nlohmann's plain dump() throws on ill-formed UTF-8).
while IFS= read -r line; do fail "JSON written without jsonText: $line"; done < <(
  grep -rn -E '\.dump\(' supervisor tools --include=*.cpp --include=*.h |
    grep -v -E '^supervisor/core/untrusted_text\.cpp:' || true)

# DIR:FORBIDDEN...: no file under supervisor/DIR includes supervisor/FORBIDDEN/.
for rule in worker:engine,host,workflow,cli gate:worker,engine,host,cli engine:host,cli \
    run:engine,host,worker,gate,cli,workflow policy:engine,host,worker,gate,cli \
    observe:engine,host,worker,gate,cli,workflow,dashboard dashboard:engine,host,worker,gate,cli,workflow journal:engine,host,worker,gate,cli,workflow,observe receipt:engine,host,worker,gate,cli,workflow,observe,journal audit:engine,host,worker,gate,cli,run,observe trust:engine,host,worker,gate,cli,run \
    workflow:engine,host,worker,gate,cli,run core:engine,host,worker,gate,cli,run,workflow; do
  dir=${rule%%:*}
  forbidden=$(echo "${rule#*:}" | tr , '|')
  while IFS= read -r line; do fail "supervisor/$dir depends against the layering: $line"; done < <(
    grep -rn '#include "' "supervisor/$dir" | grep -E "#include \"($forbidden)/" || true)
done

[ "$status" -eq 0 ] && echo "layering: ok"
exit "$status"
