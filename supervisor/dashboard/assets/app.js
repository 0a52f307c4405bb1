// Cordon's dashboard. Every text shown here came from the journal or the audit log, and much of it
// from plugins: it is set with createTextNode/textContent only, never as markup, and no
// attribute is set from it but data-step (read back with dataset) and links whose target is
// checked to be a run id. The Content-Security-Policy allows no inline script besides.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const RUN_ID = /^[0-9a-f]{4,64}$/;
let stream = null;   // the EventSource of the run on screen
let current = null;  // {id, data, selected}
// Which route() the page is showing. A page's fetch may end after the address moved on (a slow
// runs list, then a click on a run): what it would draw then is stale, and is dropped.
let routed = 0;

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === 'string' || typeof child === 'number'
      ? document.createTextNode(String(child)) : child);
  }
  return node;
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  return node;
}

function runLink(id, text) {
  if (typeof id !== 'string' || !RUN_ID.test(id)) return el('span', null, text);
  const link = el('a', null, text);
  link.href = '#/run/' + id;
  return link;
}

function stateBadge(state) {
  const safe = /^[a-z]+$/.test(state || '') ? state : 'pending';
  return el('span', 'state s-' + safe, state || 'pending');
}

async function fetchJson(url) {
  const response = await fetch(url, {credentials: 'same-origin', cache: 'no-store'});
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function durationOf(start, end) {
  if (!start) return '';
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : Date.now();
  if (Number.isNaN(from) || Number.isNaN(to)) return '';
  const ms = Math.max(0, to - from);
  return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s';
}

function show(...nodes) {
  const main = document.getElementById('main');
  main.replaceChildren(...nodes);
}

function closeStream() {
  if (stream) stream.close();
  stream = null;
  document.getElementById('live').textContent = '';
}

// The runs page: every run, filtered by outcome and workflow.
async function showRuns(route) {
  closeStream();
  current = null;
  document.getElementById('panel').hidden = true;
  document.getElementById('where').textContent = 'runs';
  const {runs} = await fetchJson('/api/runs');
  if (route !== routed) return;
  const outcome = el('select', null, el('option', null, 'every outcome'));
  const workflow = el('select', null, el('option', null, 'every workflow'));
  outcome.id = 'filter-outcome';
  workflow.id = 'filter-workflow';
  outcome.firstChild.value = '';
  workflow.firstChild.value = '';
  for (const [select, key] of [[outcome, 'state'], [workflow, 'workflow']]) {
    for (const value of [...new Set(runs.map((run) => run[key]))].sort()) {
      const option = el('option', null, value);
      option.value = value;
      select.appendChild(option);
    }
  }
  const body = el('tbody');
  const render = () => {
    body.replaceChildren(...runs
      .filter((run) => !outcome.value || run.state === outcome.value)
      .filter((run) => !workflow.value || run.workflow === workflow.value)
      .map((run) => {
        const row = el('tr', null,
          el('td', 'mono', runLink(run.id, run.id)), el('td', null, run.workflow),
          el('td', null, run.started_at), el('td', null, durationOf(run.started_at, run.ended_at)),
          el('td', null, stateBadge(run.state)), el('td', null, run.denials),
          el('td', null, run.violations));
        row.dataset.run = run.id;
        return row;
      }));
  };
  outcome.addEventListener('change', render);
  workflow.addEventListener('change', render);
  render();
  const table = el('table', 'runs',
    el('thead', null, el('tr', null, ...['run', 'workflow', 'started', 'duration', 'outcome',
      'denials', 'violations'].map((name) => el('th', null, name)))), body);
  show(el('h2', null, 'Runs'), el('div', 'filters', outcome, workflow),
    runs.length ? table : el('p', 'quiet', 'No runs in this journal yet.'));
}

// A step's state as the graph shows it: the journal's, cached when it reused a result, pending
// when it has not started.
function stepStates(data) {
  const states = {};
  for (const step of data.steps) states[step.name] = step.cached_from ? 'cached' : step.state;
  return states;
}

// The run's steps, attempt counts and tallies by step name, built once per render: a run of
// 10,000 steps redrawn on every update must not search its lists once per step.
function indexRun(data) {
  const steps = new Map();
  for (const step of data.steps) steps.set(step.name, step);
  const attempts = new Map();
  for (const attempt of data.attempts) attempts.set(attempt.step, (attempts.get(attempt.step) || 0) + 1);
  const tallies = new Map();
  for (const tally of data.tallies) {
    if (!tallies.has(tally.step)) tallies.set(tally.step, {denial: 0, violation: 0});
    tallies.get(tally.step)[tally.kind] = tally.count;
  }
  return {
    step: (name) => steps.get(name) || {},
    attempts: (name) => attempts.get(name) || 0,
    tally: (name) => tallies.get(name) || {denial: 0, violation: 0},
  };
}

// Rows of a list as the journal orders them: by these keys, a missing one (null) first.
function orderBy(...keys) {
  return (a, b) => {
    for (const key of keys) {
      const x = a[key] ?? '';
      const y = b[key] ?? '';
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
}

// A run's changes (the event stream's `changes`) into the run the page holds: the run's row,
// the changed rows of steps, attempts and artifacts in place of their old ones, and the lists that
// change whole when they came along.
function mergeChanges(data, changes) {
  data.run = changes.run;
  data.stamp = changes.stamp;
  const merge = (key, keyOf, order) => {
    const rows = data[key];
    const at = new Map(rows.map((row, i) => [keyOf(row), i]));
    for (const row of changes[key]) {
      const i = at.get(keyOf(row));
      if (i === undefined) rows.push(row); else rows[i] = row;
    }
    rows.sort(order);
  };
  merge('steps', (s) => s.name, orderBy('started_at', 'name'));
  merge('attempts', (a) => a.step + '\u0000' + a.number, orderBy('started_at', 'step', 'number'));
  merge('artifacts', (a) => a.step + '\u0000' + a.name, orderBy('step', 'name'));
  for (const key of ['plugins', 'tallies', 'workers', 'inputs']) {
    if (changes[key]) data[key] = changes[key];
  }
}

function drawGraph(data) {
  const layout = data.layout;
  if (!layout || layout.too_large) {
    return el('p', 'quiet', 'This graph has ' + (layout ? layout.too_large : '?') +
      ' steps, too many to lay out; the steps are listed below.');
  }
  const margin = 8;
  const graph = svg('svg', {class: 'graph', width: layout.width + 2 * margin,
    height: layout.height + 2 * margin, viewBox: `${-margin} ${-margin} ${layout.width + 2 * margin} ${layout.height + 2 * margin}`});
  for (const edge of layout.edges) {
    const points = edge.points;
    if (!points.length) continue;
    let d = `M${points[0][0]},${points[0][1]}`;
    for (let i = 1; i + 2 < points.length; i += 3) {
      d += ` C${points[i][0]},${points[i][1]} ${points[i + 1][0]},${points[i + 1][1]} ${points[i + 2][0]},${points[i + 2][1]}`;
    }
    if (edge.arrow) d += ` L${edge.arrow[0]},${edge.arrow[1]}`;
    graph.appendChild(svg('path', {class: 'edge', d}));
    if (edge.arrow) {
      const [x, y] = edge.arrow;
      const last = points[points.length - 1];
      const angle = Math.atan2(y - last[1], x - last[0]);
      const side = (a) => `${x - 8 * Math.cos(angle + a)},${y - 8 * Math.sin(angle + a)}`;
      graph.appendChild(svg('polygon', {class: 'arrow', points: `${x},${y} ${side(0.4)} ${side(-0.4)}`}));
    }
  }
  const states = stepStates(data);
  const plugins = {};
  for (const node of data.graph) plugins[node.step] = node.plugin;
  const index = indexRun(data);
  for (const node of layout.nodes) {
    const state = states[node.step] || 'pending';
    const safe = /^[a-z]+$/.test(state) ? state : 'pending';
    const group = svg('g', {class: 'node ' + safe, transform: `translate(${node.x},${node.y})`});
    group.dataset.step = node.step;
    group.dataset.state = state;
    if (current && current.selected === node.step) group.classList.add('selected');
    group.appendChild(svg('rect', {class: 'box', width: node.w, height: node.h}));
    const name = svg('text', {x: 8, y: 17});
    name.textContent = node.step;
    group.appendChild(name);
    const step = index.step(node.step);
    const attempts = index.attempts(node.step);
    const sub = svg('text', {class: 'sub', x: 8, y: 33});
    sub.textContent = [plugins[node.step] || '', step.milliseconds != null
      ? Math.round(step.milliseconds) + ' ms' : '', attempts > 1 ? attempts + ' attempts' : '']
      .filter(Boolean).join(' · ');
    group.appendChild(sub);
    const tally = index.tally(node.step);
    if (tally.denial + tally.violation > 0) {
      const badge = svg('g', {class: 'badge', transform: `translate(${node.w - 2},2)`});
      badge.appendChild(svg('circle', {r: 9}));
      const count = svg('text', {x: -3, y: 4});
      count.textContent = String(tally.denial + tally.violation);
      badge.appendChild(count);
      const title = svg('title');
      title.textContent = `${tally.denial} denials, ${tally.violation} violations`;
      badge.appendChild(title);
      group.appendChild(badge);
    }
    const title = svg('title');
    title.textContent = `${node.step}: ${state}`;
    group.appendChild(title);
    group.addEventListener('click', () => selectStep(node.step));
    graph.appendChild(group);
  }
  return graph;
}

function renderRun() {
  const data = current.data;
  const run = data.run;
  const states = stepStates(data);
  const index = indexRun(data);
  const list = el('tbody', null, ...data.graph.map((node) => {
    const step = index.step(node.step);
    const row = el('tr', null, el('td', 'mono', node.step), el('td', null, node.plugin),
      el('td', null, stateBadge(states[node.step] || 'pending')),
      el('td', null, step.error_category || ''), el('td', 'wrap', step.error_message || ''));
    row.dataset.step = node.step;
    return row;
  }));
  show(
    el('h2', null, run.workflow + ' ', stateBadge(run.state)),
    el('dl', null, el('dt', null, 'run'), el('dd', 'mono', run.id),
      el('dt', null, 'started'), el('dd', null, run.started_at),
      el('dt', null, 'duration'), el('dd', null, durationOf(run.started_at, run.ended_at)),
      el('dt', null, 'workflow'), el('dd', 'mono', run.workflow_path + ' ' + run.workflow_digest),
      el('dt', null, 'policy'), el('dd', 'mono', run.policy_path + ' ' + run.policy_digest),
      run.error_message ? el('dt', null, 'error') : null,
      run.error_message ? el('dd', 'error', `${run.error_category}: ${run.error_message}`) : null),
    drawGraph(data),
    el('h3', null, 'Steps'),
    el('table', 'steps', el('thead', null, el('tr', null, ...['step', 'plugin', 'state',
      'category', 'error'].map((n) => el('th', null, n)))), list));
}

async function refreshRun() {
  if (!current) return;
  const id = current.id;
  const data = await fetchJson('/api/runs/' + id);
  if (!current || current.id !== id) return;
  current.data = data;
  renderRun();
  if (current.selected) await renderPanel(current.selected);
}

async function showRun(id) {
  closeStream();
  current = {id, data: null, selected: null};
  document.getElementById('where').textContent = 'run ' + id;
  document.getElementById('panel').hidden = true;
  await refreshRun();
  if (!current || current.id !== id) return;  // the address moved on meanwhile
  if (current.data.run.state === 'running') {
    stream = new EventSource('/api/runs/' + id + '/events');
    document.getElementById('live').textContent = 'live';
    // The stream's first update is the run whole; each later one its changes since.
    const take = (data) => {
      renderRun();
      if (current.selected) renderPanel(current.selected).catch(showError);
      if (data.run.state !== 'running') closeStream();
    };
    stream.addEventListener('update', (event) => {
      if (!current || current.id !== id) return;
      const data = JSON.parse(event.data);
      data.layout = current.data.layout;  // the graph does not change while the run goes
      current.data = data;
      take(data);
    });
    stream.addEventListener('changes', (event) => {
      if (!current || current.id !== id) return;
      mergeChanges(current.data, JSON.parse(event.data));
      take(current.data);
    });
  }
}

function selectStep(name) {
  current.selected = name;
  for (const node of document.querySelectorAll('svg.graph .node')) {
    node.classList.toggle('selected', node.dataset.step === name);
  }
  renderPanel(name).catch(showError);
}

function definitions(pairs) {
  const list = el('dl');
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    list.appendChild(el('dt', null, term));
    list.appendChild(el('dd', 'mono', String(value)));
  }
  return list;
}

// The node panel: the plugin and its signature, what the step read and wrote, its attempts, its
// worker, and its audit trail as cordon audit query prints it.
async function renderPanel(name) {
  const data = current.data;
  const id = current.id;
  const detail = await fetchJson('/api/runs/' + id + '/step?name=' + encodeURIComponent(name));
  if (!current || current.id !== id || current.selected !== name) return;
  const node = data.graph.find((n) => n.step === name) || {};
  const index = indexRun(data);
  const step = index.step(name);
  const plugin = data.plugins.find((p) => p.plugin === node.plugin) || {};
  const check = detail.verified[detail.verified.length - 1] || {};
  const tally = index.tally(name);
  const panel = document.getElementById('panel');
  const parts = [el('h2', null, name + ' ', stateBadge(stepStates(data)[name] || 'pending')),
    definitions([['plugin', node.plugin], ['version', check.version], ['signer key', check.key_id],
      ['signature', check.result], ['digest', plugin.digest], ['policy section', detail.policy_section],
      ['policy', data.run.policy_path],
      ['policy digest', data.run.policy_digest], ['reads from', (node.needs || []).join(', ')],
      ['duration', step.milliseconds != null ? Math.round(step.milliseconds) + ' ms' : ''],
      ['denials', tally.denial], ['violations', tally.violation], ['cached from', step.cached_from],
      ['error', step.error_category ? `${step.error_category}: ${step.error_message}` : step.error_message]])];
  const inputs = data.inputs.map((input) => ['input ' + input.name, `${input.bytes} B ${input.digest}`]);
  const outputs = data.artifacts.filter((a) => a.step === name);
  parts.push(el('h3', null, 'Inputs and outputs'));
  parts.push(definitions([...inputs, ...outputs.map((a) => ['output ' + a.name, `${a.bytes} B ${a.digest}`])]));
  for (const value of detail.outputs || []) {
    parts.push(el('div', 'quiet', 'output ' + value.name + ':'), el('pre', 'output-text', value.text));
  }
  const attempts = data.attempts.filter((a) => a.step === name || a.step.startsWith(name + '['));
  parts.push(el('h3', null, 'Attempts'));
  parts.push(attempts.length ? el('table', 'attempts', el('tbody', null, ...attempts.map((a) =>
    el('tr', null, el('td', null, a.step + ' #' + a.number), el('td', null, a.outcome || 'running'),
      el('td', null, a.error_category || ''), el('td', 'wrap', a.error_message || '')))))
    : el('p', 'quiet', 'none'));
  parts.push(el('h3', null, 'Log'));
  parts.push(detail.logs.length ? el('pre', 'log', detail.logs.map((line) =>
    `${line.step} ${line.level}: ${line.message}`).join('\n')) : el('p', 'quiet', 'none'));
  parts.push(el('h3', null, 'Worker'));
  const workers = data.workers.filter((w) => w.pid === step.worker_pid ||
    (!step.worker_pid && w.plugin === node.plugin));
  if (!workers.length) parts.push(el('p', 'quiet', 'none'));
  for (const worker of workers) {
    const phases = Array.isArray(worker.phases) ? worker.phases : [];
    parts.push(definitions([['pid', worker.pid], ['start', worker.start_seconds != null
      ? (worker.start_seconds * 1000).toFixed(1) + ' ms' : ''],
      ...phases.map((p) => ['  ' + p.phase, (p.seconds * 1000).toFixed(2) + ' ms']),
      ['max RSS', worker.max_rss_kib != null ? worker.max_rss_kib + ' KiB' : ''],
      ['CPU', worker.cpu_seconds != null ? worker.cpu_seconds + ' s' : ''],
      ['exit', worker.exit], ['fault', worker.fault], ['cgroup', worker.cgroup],
      ['danger', Array.isArray(worker.danger) ? worker.danger.join(', ') : '']]));
  }
  parts.push(el('h3', null, 'Audit trail'));
  if (detail.error) parts.push(el('p', 'error', detail.error));
  const trail = el('ol', 'trail');
  for (const record of detail.trail) {
    trail.appendChild(el('li', null, el('div', 'account', record.account), el('pre', 'record', record.line)));
  }
  parts.push(detail.trail.length ? trail : el('p', 'quiet', 'no records'));
  if (detail.truncated) parts.push(el('p', 'quiet', 'more records: cordon audit query shows them all'));
  panel.replaceChildren(...parts);
  panel.hidden = false;
}

function showError(error) {
  show(el('p', 'error', 'cannot show this: ' + error.message));
}

function route() {
  const match = /^#\/run\/([0-9a-f]{4,64})$/.exec(location.hash);
  const seq = ++routed;
  (match ? showRun(match[1]) : showRuns(seq)).catch((error) => {
    if (seq === routed) showError(error);
  });
}

window.addEventListener('hashchange', route);
route();
