// Checks an OTLP/JSON trace file (or request body) against the official opentelemetry-proto
// schema with protobufjs: every key must be a field of its message, every value of its field's
// type (OTLP/JSON: hex trace and span ids, integer enums, 64-bit integers as decimal text), and
// the request must survive an encode/decode round trip. Then it checks what Cordon promises of
// its spans (one trace, one root, parents that exist, error spans with a category) and prints
// a summary as JSON for the caller to assert on. Exit 1 with the reasons on any failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(here, 'proto', target);
root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
root.resolveAll();
const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

const problems = [];
const fail = (where, why) => problems.push(`${where}: ${why}`);
const ID_BYTES = { traceId: 16, spanId: 8, parentSpanId: 8 };
const INT64 = new Set(['int64', 'uint64', 'fixed64', 'sfixed64', 'sint64']);

function checkScalar(where, field, value) {
  if (field.resolvedType instanceof protobuf.Enum) {
    if (!Number.isInteger(value) || !Object.values(field.resolvedType.values).includes(value))
      fail(where, `not a value of enum ${field.resolvedType.name}: ${JSON.stringify(value)}`);
  } else if (field.type === 'bytes') {
    const size = ID_BYTES[field.name];
    if (size === undefined) {
      if (typeof value !== 'string') fail(where, 'bytes must be text');
    } else if (typeof value !== 'string' || !new RegExp(`^[0-9a-f]{${size * 2}}$`).test(value) ||
               /^0+$/.test(value)) {
      fail(where, `not a valid ${size}-byte id in lower-case hex: ${JSON.stringify(value)}`);
    }
  } else if (INT64.has(field.type)) {
    if (typeof value !== 'string' || !/^-?[0-9]+$/.test(value))
      fail(where, `a ${field.type} must be decimal text: ${JSON.stringify(value)}`);
  } else if (field.type === 'string') {
    if (typeof value !== 'string') fail(where, 'not a string');
  } else if (field.type === 'bool') {
    if (typeof value !== 'boolean') fail(where, 'not a boolean');
  } else if (['double', 'float'].includes(field.type)) {
    if (typeof value !== 'number') fail(where, 'not a number');
  } else if (!Number.isInteger(value)) {
    fail(where, `not an integer (${field.type})`);
  }
}

function checkMessage(where, type, object) {
  if (object === null || typeof object !== 'object' || Array.isArray(object))
    return fail(where, `${type.name} must be an object`);
  for (const [key, value] of Object.entries(object)) {
    const field = type.fields[key];
    if (!field) {
      fail(`${where}.${key}`, `no such field in ${type.fullName}`);
      continue;
    }
    field.resolve();
    const values = field.repeated ? value : [value];
    if (field.repeated && !Array.isArray(value)) {
      fail(`${where}.${key}`, 'a repeated field must be an array');
      continue;
    }
    values.forEach((item, i) => {
      const at = field.repeated ? `${where}.${key}[${i}]` : `${where}.${key}`;
      if (field.resolvedType instanceof protobuf.Type) checkMessage(at, field.resolvedType, item);
      else checkScalar(at, field, item);
    });
  }
}

// OTLP/JSON's hex ids become bytes for protobufjs's own conversion and round trip.
function toProtoObject(value, key) {
  if (Array.isArray(value)) return value.map((v) => toProtoObject(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toProtoObject(v, k)]));
  }
  if (key in ID_BYTES && typeof value === 'string') return Buffer.from(value, 'hex');
  return value;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node check_otlp.mjs TRACE.json');
  process.exit(2);
}
const json = JSON.parse(fs.readFileSync(file, 'utf8'));
checkMessage('request', Request, json);
const message = Request.fromObject(toProtoObject(json));
const verified = Request.verify(message);
if (verified) fail('request', `protobufjs: ${verified}`);
const decoded = Request.toObject(Request.decode(Request.encode(message).finish()), { longs: String });

const spans = [];
for (const rs of json.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
const decodedSpans = decoded.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
if (decodedSpans.length !== spans.length) fail('request', 'the round trip lost spans');

const attr = (span, key) => {
  const found = (span.attributes ?? []).find((a) => a.key === key);
  return found ? Object.values(found.value)[0] : undefined;
};
const ids = new Set(spans.map((s) => s.spanId));
if (ids.size !== spans.length) fail('spans', 'span ids are not unique');
const traces = new Set(spans.map((s) => s.traceId));
if (traces.size !== 1) fail('spans', `${traces.size} trace ids, expected one`);
const roots = spans.filter((s) => !s.parentSpanId);
if (roots.length !== 1) fail('spans', `${roots.length} root spans, expected one`);
const runIds = new Set(spans.map((s) => attr(s, 'cordon.run_id')));
if (runIds.size !== 1 || runIds.has(undefined)) fail('spans', 'every span must carry the one cordon.run_id');
for (const s of spans) {
  if (s.parentSpanId && !ids.has(s.parentSpanId)) fail(`span ${s.name}`, 'its parent is not in the trace');
  if (BigInt(s.endTimeUnixNano) < BigInt(s.startTimeUnixNano)) fail(`span ${s.name}`, 'ends before it starts');
  if (s.status?.code === 2 && attr(s, 'cordon.error.category') === undefined)
    fail(`span ${s.name}`, 'a failed span without cordon.error.category');
}
if (problems.length) {
  console.error(problems.slice(0, 50).join('\n'));
  process.exit(1);
}
const kinds = {};
for (const s of spans) {
  const kind = s.name.split(' ')[0];
  kinds[kind] = (kinds[kind] ?? 0) + 1;
}
const failed = spans.filter((s) => s.status?.code === 2).map((s) => ({ name: s.name, category: attr(s, 'cordon.error.category') }));
console.log(JSON.stringify({ spans: spans.length, traceId: [...traces][0], runId: [...runIds][0], root: roots[0].name, kinds, failed,
  phases: spans.filter((s) => s.name.startsWith('worker.start ')).map((s) => attr(s, 'cordon.phase')) }));
