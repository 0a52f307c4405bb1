// The dashboard in a real browser (docs/dashboard.md): Debian's Chromium, headless, driven by
// playwright-core (no downloaded browser), against real `cordon run --listen` and `cordon ui`.
//
//  - a run with a slow step: the page shows it running, then succeeded, each time as the journal
//    says (cordon runs show --json), without a reload; what the page built from the live stream
//    (the run whole, then its changes) is the run read whole once it ended;
//  - a run whose plugin writes markup into its log, its error and its output: a failed and a
//    skipped node show their state and category; nothing executes (no dialog, no console error,
//    no element but the page's own), and the text shows literally; a node's audit trail is what
//    cordon audit query prints for that step; a retried node counts its attempts;
//  - a runs list that arrives after the address moved on to a run does not draw over it;
//  - a request without the token is refused;
//  - cordon ui lists both runs and filters them; a screenshot of a run's page is written.
// Exit 0 when every check holds; each failure is printed.
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, writeFileSync, mkdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const {values: args} = parseArgs({options: {
  cordon: {type: 'string'}, worker: {type: 'string'}, 'plugin-path': {type: 'string'},
  'trust-store': {type: 'string'}, screenshot: {type: 'string'},
}});
const {chromium} = await import(join(here, 'node_modules', 'playwright-core', 'index.mjs'));

const failures = [];
function check(condition, what) {
  if (!condition) {
    failures.push(what);
    console.log('FAIL: ' + what);
  } else {
    console.log('ok: ' + what);
  }
  return condition;
}

const work = mkdtempSync(join(tmpdir(), 'cordon-dashboard-'));
const stateDir = join(work, 'state');
const auditLog = join(work, 'audit.jsonl');
const env = {...process.env, CORDON_PLUGIN_PATH: args['plugin-path'], CORDON_WORKER: args.worker,
  CORDON_TRUST_STORE: args['trust-store'], CORDON_STATE_DIR: stateDir};
// The slow step runs until the test removes this file (mix's hold_while), so the test sees it
// running however long the browser takes to draw it.
const holdDir = join(work, 'hold');
mkdirSync(holdDir);
const holdFile = join(holdDir, 'slow');
writeFileSync(holdFile, '');
writeFileSync(join(work, 'policy.yaml'), `version: 1
plugins:
  mix:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 16777216 }
      log: { max_bytes: 4096 }
    filesystem: { read_only: [${JSON.stringify(holdDir)}] }
    syscalls: [sleep]
    limits: { memory_mb: 128, cpu_seconds: 120 }
    timeout_ms: 30000
`);
writeFileSync(join(work, 'slow.yaml'), `name: slow-flow
inputs:
  text: { value: hello }
steps:
  - { name: slow, plugin: mix, config: { label: slow, hold_while: ${JSON.stringify(holdFile)} }, inputs: { a: inputs.text } }
  - { name: after, plugin: mix, config: { label: after }, inputs: { a: slow.out } }
outputs:
  result: after.out
`);
// Every text the plugin chooses is markup a careless page would run.
const SCRIPT = '<script>window.pwned=1;alert(1)</script>';
const IMG = '<img src=x onerror="window.pwned=2;alert(2)">';
const LINK = '<a href="javascript:alert(3)">click</a>';
writeFileSync(join(work, 'hostile.yaml'), `name: hostile-flow
inputs:
  text: { value: ${JSON.stringify(LINK)} }
steps:
  - name: evil-out
    plugin: mix
    config: { label: ${JSON.stringify(SCRIPT)}, say: ${JSON.stringify(IMG + ' ' + LINK)} }
    inputs: { a: inputs.text }
  - name: evil-fail
    plugin: mix
    config: { fail_with: ${JSON.stringify(SCRIPT + IMG)} }
    inputs: { a: inputs.text }
  - { name: after-fail, plugin: mix, inputs: { a: evil-fail.out } }
  - { name: violator, plugin: mix, config: { violate: "true" }, inputs: { a: inputs.text }, on_error: continue }
  - name: retried
    plugin: mix
    config: { fail_with: "once more" }
    inputs: { a: inputs.text }
    retry: { attempts: 2, backoff_ms: 0, on: [plugin_error] }
    on_error: continue
outputs:
  result: evil-out.out
`);

function cordon(...argv) {
  return execFileSync(args.cordon, argv, {env, encoding: 'utf8'});
}

// Starts cordon with `argv`; resolves with the process and the dashboard address it prints.
function startServing(argv, pattern) {
  const child = spawn(args.cordon, argv, {env, stdio: ['ignore', 'pipe', 'pipe']});
  let seen = '';
  return new Promise((resolve, reject) => {
    const look = (chunk) => {
      seen += chunk;
      const found = pattern.exec(seen);
      if (found) resolve({child, url: found[1], output: () => seen});
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => reject(new Error(`cordon exited ${code} before serving:\n${seen}`)));
  });
}

function journalStep(runId, name) {
  const shown = JSON.parse(cordon('runs', 'show', runId, '--json'));
  return shown.steps.find((step) => step.name === name) || {state: 'pending'};
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const dialogs = [];
const consoleErrors = [];
function watch(page) {
  page.on('dialog', (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
}

try {
  // 1. A slow run, watched live.
  const live = await startServing(['run', join(work, 'slow.yaml'), '--policy', join(work, 'policy.yaml'),
    '--audit-log', auditLog, '--listen', '127.0.0.1:0'], /dashboard on (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})/);
  const liveExit = new Promise((resolve) => live.child.on('exit', resolve));
  const base = new URL(live.url).origin;

  // Without the token: refused, for the page and the API, in a browser and out of it.
  for (const path of ['/', '/api/runs', '/assets/app.js']) {
    const response = await fetch(base + path);
    check(response.status === 401, `${path} without the token is refused (${response.status})`);
  }
  const wrong = await fetch(base + '/api/runs', {headers: {cookie: `cordon_token_${new URL(base).port}=${'0'.repeat(64)}`}});
  check(wrong.status === 401, `a wrong token is refused (${wrong.status})`);

  const context = await browser.newContext({viewport: {width: 1400, height: 900}});
  const page = await context.newPage();
  watch(page);
  let loads = 0;
  page.on('load', () => { loads += 1; });
  const opened = await page.goto(live.url);
  check(opened.status() === 200 && new URL(page.url()).search === '',
    'the printed address opens the page, and the token leaves the address bar');
  const csp = opened.headers()['content-security-policy'] || '';
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), 'a strict CSP: ' + csp);
  await page.waitForSelector('table.runs tbody tr');
  const runId = await page.getAttribute('table.runs tbody tr', 'data-run');
  check(/^[0-9a-f]{16}$/.test(runId || ''), 'the runs page lists the run: ' + runId);
  await page.click(`table.runs a[href="#/run/${runId}"]`);
  await page.waitForSelector('svg.graph g.node[data-step="slow"][data-state="running"]', {timeout: 20000});
  check(journalStep(runId, 'slow').state === 'running', 'the page shows slow running, as the journal does');
  check((await page.getAttribute('svg.graph g.node[data-step="after"]', 'data-state')) === 'pending',
    'a step not yet started is pending');
  rmSync(holdFile);
  await page.waitForSelector('svg.graph g.node[data-step="after"][data-state="succeeded"]', {timeout: 30000});
  await page.waitForSelector('svg.graph g.node[data-step="slow"][data-state="succeeded"]');
  check(journalStep(runId, 'slow').state === 'succeeded', 'then succeeded, as the journal says');
  check(loads === 1, `no reload: the page loaded once (${loads})`);
  check((await liveExit) === 0, 'the slow run succeeded');
  // What the page built from the stream's first update and the changes after it.
  const watched = await page.evaluate(() => JSON.stringify(current.data));

  // 2. The hostile run.
  let hostileRun = '';
  try {
    cordon('run', join(work, 'hostile.yaml'), '--policy', join(work, 'policy.yaml'), '--audit-log', auditLog);
  } catch (error) {
    check(error.status === 1, `the hostile run fails as a workflow (exit ${error.status})`);
  }
  hostileRun = JSON.parse(cordon('runs', 'list', '--json')).find((run) => run.workflow === 'hostile-flow').id;
  // The run's own plane ended with it: cordon ui serves the same journal from now on.
  const ui = await startServing(['ui', '--listen', '127.0.0.1:0'], /cordon ui: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})/);
  const uiExit = new Promise((resolve) => ui.child.on('exit', resolve));
  const uiBase = new URL(ui.url).origin;
  // The runs list held back: the address moves on to the run before it arrives, and the list,
  // arriving late, must not draw over the run (a stale render).
  await page.route('**/api/runs', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  const lateList = page.waitForResponse('**/api/runs');
  await page.goto(ui.url);
  await page.evaluate((id) => { location.hash = '#/run/' + id; }, hostileRun);
  await page.waitForSelector('svg.graph g.node[data-step="evil-fail"]');
  await lateList;
  await page.waitForTimeout(300);  // the list's response is read and dropped, or drawn
  check((await page.$('table.runs')) === null && (await page.$('svg.graph')) !== null,
    'a runs list that arrives after the address moved on does not draw over the run');
  await page.unroute('**/api/runs');
  // The live run, read whole now that it ended, is what the page had built from the stream.
  const readWhole = await page.evaluate(async (id) => (await fetch('/api/runs/' + id)).text(), runId);
  const comparable = (text) => {
    const data = JSON.parse(text);
    delete data.layout;
    delete data.stamp;
    return JSON.stringify(data);
  };
  check(comparable(watched) === comparable(readWhole),
    'the run the page built from the live stream is the run read whole afterwards');
  check((await page.getAttribute('svg.graph g.node[data-step="evil-fail"]', 'data-state')) === 'failed',
    'the failed node shows failed');
  check((await page.getAttribute('svg.graph g.node[data-step="after-fail"]', 'data-state')) === 'skipped',
    'the skipped node shows skipped');
  const failedRow = await page.textContent('table.steps tr[data-step="evil-fail"]');
  check(failedRow.includes('plugin_error'), 'the failed step shows its category: ' + failedRow);
  check(failedRow.includes(SCRIPT + IMG), 'its error shows literally');
  // A sandbox violation: the node's badge counts it, and its trail decodes the refused syscall.
  const badge = await page.textContent('svg.graph g.node[data-step="violator"] g.badge text');
  check(badge === '1', 'the violating node carries a badge counting 1: ' + badge);
  check((await page.getAttribute('svg.graph g.node[data-step="violator"]', 'data-state')) === 'continued',
    'a failed step with on_error: continue shows continued');
  check((await page.$$('svg.graph g.node[data-step="evil-out"] g.badge')).length === 0,
    'a step without denials or violations has no badge');
  // Each node counts its own attempts, and its row shows its own error (both looked up by name).
  const retriedSub = await page.textContent('svg.graph g.node[data-step="retried"] text.sub');
  check(retriedSub.includes('2 attempts'), 'a step tried twice says so on its node: ' + retriedSub);
  const violatorSub = await page.textContent('svg.graph g.node[data-step="violator"] text.sub');
  check(!violatorSub.includes('attempts'), 'a step tried once does not: ' + violatorSub);
  const retriedRow = await page.textContent('table.steps tr[data-step="retried"]');
  check(retriedRow.includes('plugin_error') && retriedRow.includes('once more'),
    'the retried step\'s row shows its own error: ' + retriedRow);
  await page.click('svg.graph g.node[data-step="violator"]');
  await page.waitForSelector('#panel ol.trail');
  const accounts = await page.$$eval('#panel ol.trail div.account', (nodes) => nodes.map((n) => n.textContent));
  check(accounts.some((line) => line.includes('socket')), 'the trail names the refused syscall: ' +
    accounts.filter((line) => line.includes('sandbox') || line.includes('deny')).join(' | '));
  const violatorPanel = await page.textContent('#panel');
  check(violatorPanel.includes('sandbox_violation'), 'the panel shows the attempt\'s category');

  await page.click('svg.graph g.node[data-step="evil-out"]');
  await page.waitForFunction(() => document.querySelector('#panel h2')?.textContent.startsWith('evil-out'));
  await page.waitForSelector('#panel pre.output-text');
  const output = await page.textContent('#panel pre.output-text');
  check(output.includes(SCRIPT) && output.includes(LINK), 'the output shows literally: ' + output);
  const trail = await page.$$eval('#panel ol.trail pre.record', (nodes) => nodes.map((n) => n.textContent));
  const queried = cordon('audit', 'query', auditLog, '--run', hostileRun, '--step', 'evil-out')
    .split('\n').filter(Boolean);
  check(trail.length > 0 && JSON.stringify(trail) === JSON.stringify(queried),
    `the node's audit trail is what cordon audit query prints (${trail.length} and ${queried.length} records)`);
  const logged = await page.textContent('#panel pre.log');
  check(logged.includes(IMG + ' ' + LINK), 'the plugin\'s log line shows literally: ' + logged);
  const panelText = await page.textContent('#panel');
  check(panelText.includes('mix') && panelText.includes('sha256:'), 'the panel names the plugin and its digest');
  check(panelText.includes('policy section') && panelText.includes('1.0.0'),
    'the panel names the policy section and the plugin\'s signed version');
  check(panelText.includes('spawn') && panelText.includes('seccomp'), 'the panel shows the worker\'s start phases');
  const foreign = await page.evaluate(() => ({
    pwned: window.pwned,
    scripts: document.querySelectorAll('script').length,
    images: document.querySelectorAll('img').length,
    links: [...document.querySelectorAll('a')].filter((a) => !a.getAttribute('href').startsWith('#')).length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
  }));
  check(foreign.pwned === undefined && foreign.scripts === 1 && foreign.images === 0 &&
    foreign.links === 0 && foreign.handlers === 0, 'nothing the plugin wrote became markup: ' + JSON.stringify(foreign));
  if (args.screenshot) {
    mkdirSync(dirname(args.screenshot), {recursive: true});
    await page.screenshot({path: args.screenshot, fullPage: true});
  }

  // 3. cordon ui's runs page: both runs, filtered by outcome.
  const uiPage = await context.newPage();
  watch(uiPage);
  await uiPage.goto(ui.url);
  await uiPage.waitForSelector('table.runs tbody tr');
  check((await uiPage.$$('table.runs tbody tr')).length === 2, 'cordon ui lists both runs');
  await uiPage.selectOption('#filter-outcome', 'failed');
  const shown = await uiPage.$$eval('table.runs tbody tr', (rows) => rows.map((row) => row.dataset.run));
  check(JSON.stringify(shown) === JSON.stringify([hostileRun]), 'the outcome filter keeps the failed run');
  const row = await uiPage.textContent('table.runs tbody tr');
  check(row.includes('hostile-flow'), 'the row names its workflow');
  const cells = await uiPage.$$eval('table.runs tbody tr td', (tds) => tds.map((td) => td.textContent));
  check(cells[4] === 'failed' && cells[5] === '0' && cells[6] === '1',
    'the row shows the outcome and counts the run\'s denials and violations: ' + cells.join(' | '));
  await uiPage.selectOption('#filter-outcome', '');
  await uiPage.selectOption('#filter-workflow', 'slow-flow');
  const bySlow = await uiPage.$$eval('table.runs tbody tr', (rows) => rows.map((r) => r.dataset.run));
  check(JSON.stringify(bySlow) === JSON.stringify([runId]), 'the workflow filter keeps the slow run');
  const bare = await browser.newContext();
  const refused = await (await bare.newPage()).goto(uiBase + '/');
  check(refused.status() === 401, 'a browser without the token is refused by cordon ui');
  ui.child.kill('SIGTERM');
  check((await uiExit) === 0, 'cordon ui stops on SIGTERM');

  check(dialogs.length === 0, 'no dialog opened: ' + JSON.stringify(dialogs));
  check(consoleErrors.length === 0, 'no console error: ' + JSON.stringify(consoleErrors));
} catch (error) {
  check(false, 'the test ran to its end: ' + (error.stack || error));
} finally {
  await browser.close();
}
console.log(failures.length === 0 ? 'dashboard: every check holds' : `dashboard: ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
