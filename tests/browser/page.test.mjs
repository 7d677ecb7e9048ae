// The page in www/ in a real browser: Debian's chromium, headless, driven by playwright-core,
// against the real ./async-nostd serving www/ (2 workers, 127.0.0.1, a free port).
//
//   cd tests/browser && npm ci && node --test page.test.mjs      (or `make browser`)
//
// Environment: CHROMIUM (default /usr/bin/chromium); SCREENSHOT, where the picture of the page
// goes, relative to the repository (default build/browser/screenshot.png, taken once the
// round-trip chart has 6 points). README's picture is www/screenshot.png:
// `make browser SCREENSHOT=www/screenshot.png` renews it, with 30 points on the chart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BINARY = path.join(REPO, 'async-nostd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = path.resolve(REPO, process.env.SCREENSHOT || 'build/browser/screenshot.png');
const CHART_POINTS = process.env.SCREENSHOT ? 30 : 6;  // before the screenshot
const TEST_TIMEOUT = 30_000;  // per test; playwright's own waits are 10 s (below)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'async-nostd-browser-'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `promise`, or 'timeout' after `ms`; the timer is cleared, so it keeps the process no longer.
function within(ms, promise) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms, 'timeout'); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The server, started and stopped by PID

let server = null;  // {child, port, log}
let serverRuns = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(500, () => done(false));
  });
}

// Starts the binary on `port` and waits (5 s at most) until it accepts; null if it exited first
// (the port was taken), so the caller can try another.
async function startServer(port) {
  const log = path.join(tmp, `server-${++serverRuns}.log`);
  const child = spawn(BINARY, ['2', '127.0.0.1', String(port), '--root', path.join(REPO, 'www'),
    '--log', log, '--drain-timeout', '3'], { stdio: ['ignore', 'inherit', 'inherit'] });
  let exited = false;
  child.once('exit', () => { exited = true; });
  for (const deadline = Date.now() + 5000; Date.now() < deadline && !exited;) {
    if (await canConnect(port)) return { child, port, log };
    await sleep(50);
  }
  if (exited) return null;
  child.kill('SIGKILL');
  throw new Error(`the server did not accept on port ${port} within 5 s; log: ${log}`);
}

// SIGTERM (a graceful stop), then SIGKILL if it has not exited within `ms`.
async function stopServer(srv, ms = 6000) {
  const { child } = srv;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await within(ms, exited);
  if (code !== 'timeout') return code;
  child.kill('SIGKILL');
  await exited;
  throw new Error(`the server did not stop within ${ms} ms of SIGTERM; log: ${srv.log}`);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { server?.child.kill('SIGKILL'); process.exit(130); });
}
process.once('exit', () => server?.child.kill('SIGKILL'));

// ---------------------------------------------------------------------------------------------
// The browser

let browser;
let base;       // http://127.0.0.1:PORT
const pages = {};  // alice: the main page (the screenshot), bob: the other chat member
const problems = [];  // console errors, page errors, failed or foreign requests

async function openPage(name, nick) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name} console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${name} page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(`${base}/`) && !r.url().startsWith('data:')) problems.push(`${name} foreign request: ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`${name} request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${name} HTTP ${r.status()}: ${r.url()}`); });
  const response = await page.goto(`${base}/`);
  assert.equal(response.status(), 200);
  if (nick) await page.fill('#chat-nick', nick);
  pages[name] = page;
  return page;
}

async function waitForState(page, panel, wanted, timeout = 10_000) {
  await page.waitForFunction(([p, w]) => document.querySelector(`#${p}-state`)?.dataset.state === w,
    [panel, wanted], { timeout });
}

const metric = async (page, key) =>
  Number(await page.locator(`.tile[data-metric="${key}"] .value`).getAttribute('data-value'));

before(async () => {
  assert.ok(fs.existsSync(BINARY), `${BINARY} is missing: run make first`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  for (let attempt = 0; attempt < 3 && !server; attempt++) server = await startServer(await freePort());
  assert.ok(server, 'the server exited at start three times (ports taken?)');
  base = `http://127.0.0.1:${server.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 30_000 });
}, { timeout: 60_000 });

after(async () => {
  if (browser) await within(10_000, browser.close());
  if (server) await stopServer(server);
  fs.rmSync(tmp, { recursive: true, force: true });
}, { timeout: 30_000 });

// ---------------------------------------------------------------------------------------------

test('the page loads, with nothing but its own files', { timeout: TEST_TIMEOUT }, async () => {
  const page = await openPage('alice', 'alice');
  assert.equal(await page.title(), 'async-nostd');
  assert.match(await page.locator('header.intro p').innerText(), /web server/);
  // style.css applied: the panels have their border radius.
  const radius = await page.locator('#echo-panel').evaluate((el) => getComputedStyle(el).borderTopLeftRadius);
  assert.equal(radius, '10px');
  assert.deepEqual(problems, []);
});

test('echo: a message typed in the page comes back', { timeout: TEST_TIMEOUT }, async () => {
  const page = pages.alice;
  await waitForState(page, 'echo', 'open');
  for (const text of ['hello, server', 'UTF-8 too: grüße, ½ ✓']) {
    await page.fill('#echo-input', text);
    await page.click('#echo-form button');
    await page.locator('#echo-log li span').getByText(text, { exact: true }).waitFor();
  }
  assert.match(await page.locator('#echo-log li small').first().innerText(), /ms$/);
});

test('echo: the round-trip chart plots the pings', { timeout: TEST_TIMEOUT }, async () => {
  const page = pages.alice;
  await page.waitForFunction(() => Number(document.querySelector('#rtt-chart').dataset.samples) >= 2,
    null, { timeout: 10_000 });
  assert.match(await page.locator('#rtt-chart .line').getAttribute('d'), /^M[\d.]+,[\d.]+/);
  assert.match(await page.locator('#rtt-summary').innerText(), /last .* ms/);
});

test('chat: a message typed in one page appears in the other', { timeout: TEST_TIMEOUT }, async () => {
  const alice = pages.alice;
  const bob = await openPage('bob', 'bob');
  await waitForState(alice, 'chat', 'open');
  await waitForState(bob, 'chat', 'open');

  const hello = 'Hi Bob! Alice here, on another page.';
  await alice.fill('#chat-input', hello);
  await alice.click('#chat-form button');
  const atBob = bob.locator('#chat-log li.theirs', { hasText: hello });
  await atBob.waitFor();
  assert.equal(await atBob.locator('.from').innerText(), 'alice');
  assert.equal(await atBob.locator('.text').innerText(), hello);
  await alice.locator('#chat-log li.mine', { hasText: hello }).waitFor();  // the sender gets it too
  assert.equal(await alice.inputValue('#chat-input'), '');

  const reply = 'Hello Alice! Everyone in the room sees every message.';
  await bob.fill('#chat-input', reply);
  await bob.press('#chat-input', 'Enter');
  await alice.locator('#chat-log li.theirs', { hasText: reply }).locator('.from', { hasText: 'bob' }).waitFor();
  await bob.locator('#chat-log li.mine', { hasText: reply }).waitFor();
});

test('metrics: the panel shows the server\'s counters and follows them', { timeout: TEST_TIMEOUT }, async () => {
  const page = pages.alice;
  await waitForState(page, 'metrics', 'open');
  const first = await metric(page, 'requests');
  assert.ok(first > 0, `requests: ${first}`);
  // Each poll is a request, so the count goes on rising.
  await page.waitForFunction((n) =>
    Number(document.querySelector('.tile[data-metric="requests"] .value').dataset.value) > n, first, { timeout: 5000 });
  assert.ok(await metric(page, 'bytes') > 0);
  assert.ok(await metric(page, 'connections') >= 1);
  // Alice and Bob each hold an echo and a chat socket.
  assert.ok(await metric(page, 'websockets') >= 4, `websockets: ${await metric(page, 'websockets')}`);
  assert.ok(await metric(page, 'ws-in') >= 4);
  assert.ok(await metric(page, 'ws-out') >= 4);
  assert.equal(await page.locator('#workers tbody tr').count(), 2);  // 2 workers
});

test('health: GET /health says ok', { timeout: TEST_TIMEOUT }, async () => {
  const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'ok\n');
});

test('screenshot, and no errors so far', { timeout: 60_000 }, async () => {
  const page = pages.alice;
  await page.waitForFunction((n) => Number(document.querySelector('#rtt-chart').dataset.samples) >= n,
    CHART_POINTS, { timeout: 45_000 });
  await page.locator('#workers summary').click();
  await page.locator('#echo-input').blur();
  await page.locator('#chat-input').blur();
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.ok(fs.statSync(SCREENSHOT).size > 10_000);
  console.log(`screenshot: ${path.relative(REPO, SCREENSHOT)}`);
  assert.deepEqual(problems, []);
});

test('a server that goes away: the page says so, then reconnects', { timeout: 45_000 }, async () => {
  const page = pages.alice;
  const { port } = server;
  assert.equal(await stopServer(server), 0);
  await waitForState(page, 'echo', 'retrying');
  await waitForState(page, 'chat', 'retrying');
  await waitForState(page, 'metrics', 'down', 5000);
  assert.match(await page.locator('#metrics-state').innerText(), /unreachable/);
  assert.ok(await page.locator('#metrics-panel.stale').isVisible());
  assert.match(await page.locator('#chat-log li.note').last().innerText(), /left: server going away/);

  server = await startServer(port);
  assert.ok(server, `the server could not listen on port ${port} again`);
  for (const panel of ['echo', 'chat', 'metrics']) await waitForState(page, panel, 'open', 20_000);
  assert.equal(await page.locator('#metrics-panel.stale').count(), 0);

  await page.fill('#echo-input', 'back again');
  await page.click('#echo-form button');
  await page.locator('#echo-log li span').getByText('back again', { exact: true }).waitFor();
});
