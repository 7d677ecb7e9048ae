// The page's three panels, talking to the server that served it:
//   echo:    a WebSocket to /ws; your messages come back, and a binary ping every second
//            feeds the round-trip chart;
//   chat:    a WebSocket to /chat; every member gets every message, as JSON {from, text};
//   metrics: GET /metrics once a second (Prometheus text format), a few totals and rates.
// Both sockets reconnect by themselves with exponential backoff. No libraries.
'use strict';

const $ = (selector) => document.querySelector(selector);
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const clock = () => new Date().toLocaleTimeString([], { hour12: false });

function showState(badge, state, text) {
  badge.dataset.state = state;  // connecting | open | retrying | down (the CSS colours these)
  badge.textContent = text;
}

const closeReasons = {
  1000: 'closed', 1001: 'server going away', 1003: 'message type refused',
  1006: 'connection lost', 1008: 'dropped: not reading fast enough', 1009: 'message too large',
};

// A WebSocket to `path` that comes back after every close: 0.5 s, then twice as long each
// time up to 10 s (with some jitter), and 0.5 s again once a connection has lasted 5 s.
// handlers: message(event), open(), close(event, wasOpen).
function reconnectingSocket(path, badge, handlers) {
  let socket = null;
  let delay = 500;
  let openedAt = 0;

  function connect() {
    showState(badge, 'connecting', 'connecting…');
    socket = new WebSocket(wsBase + path);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      openedAt = Date.now();
      showState(badge, 'open', 'connected');
      handlers.open?.();
    };
    socket.onmessage = handlers.message;
    socket.onclose = (event) => {
      const wasOpen = openedAt !== 0;
      if (wasOpen && Date.now() - openedAt > 5000) delay = 500;
      openedAt = 0;
      socket = null;
      handlers.close?.(event, wasOpen);
      retryAt(Date.now() + delay * (0.8 + 0.4 * Math.random()));
      delay = Math.min(delay * 2, 10000);
    };
  }

  function retryAt(when) {
    const left = when - Date.now();
    if (left <= 0) return connect();
    showState(badge, 'retrying', `reconnecting in ${Math.ceil(left / 1000)} s…`);
    setTimeout(retryAt, Math.min(left, 250), when);
  }

  connect();
  return {
    send(data) {
      if (socket?.readyState !== WebSocket.OPEN) return false;
      socket.send(data);
      return true;
    },
  };
}

function appendCapped(list, item, max, atTop) {
  if (atTop) list.prepend(item); else list.append(item);
  while (list.children.length > max) (atTop ? list.lastElementChild : list.firstElementChild).remove();
}

// ---------------------------------------------------------------------------------------------
// Echo, and the round-trip chart

const echoLog = $('#echo-log');
const echoSentAt = [];  // send times of the text messages not yet back (echoes keep their order)
const rtt = { seq: 0, samples: [] };  // one slot per second: {seq, ms}, ms null until the pong

const echo = reconnectingSocket('/ws', $('#echo-state'), {
  message(event) {
    if (event.data instanceof ArrayBuffer) return pong(event.data);
    const sent = echoSentAt.shift();
    const item = document.createElement('li');
    const text = document.createElement('span');
    const meta = document.createElement('small');
    text.textContent = event.data;
    meta.textContent = sent === undefined ? clock() : `${clock()} · ${formatMs(performance.now() - sent)}`;
    item.append(text, meta);
    appendCapped(echoLog, item, 50, true);
  },
  close() { echoSentAt.length = 0; },
});

$('#echo-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('#echo-input');
  if (input.value && echo.send(input.value)) echoSentAt.push(performance.now());
});

// A ping is a binary message of two doubles, its sequence number and its send time; the echo
// brings them back, so the page keeps no table of pings in flight.
function ping() {
  rtt.samples.push({ seq: ++rtt.seq, ms: null });
  if (rtt.samples.length > 60) rtt.samples.shift();
  echo.send(new Float64Array([rtt.seq, performance.now()]));
  drawChart();
}

function pong(buffer) {
  if (buffer.byteLength !== 16) return;
  const [seq, sentAt] = new Float64Array(buffer);
  const sample = rtt.samples.find((s) => s.seq === seq);
  if (sample) sample.ms = performance.now() - sentAt;
  drawChart();
}

function formatMs(ms) {
  return `${ms < 1 ? ms.toFixed(2) : ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

// The SVG is 600 x 120 units: 60 slots, newest on the right. Round trips span decades (a
// fraction of a millisecond on a quiet machine, a hundred when the browser is busy), so the
// scale is logarithmic: the bottom edge is 0.1 ms, a grid line at each power of ten, the top
// line (y = 16) the first power of ten above the largest sample, 10 ms at least. A ping with
// no pong is a gap.
const CHART_TOP = 16;

function drawChart() {
  const values = rtt.samples.map((s) => s.ms).filter((ms) => ms !== null);
  const max = Math.max(0, ...values);
  const decades = Math.max(2, Math.ceil(Math.log10(Math.max(max, 0.1)) + 1));  // from 0.1 ms
  const x = (i) => ((60 - rtt.samples.length + i) * 600) / 59;
  const y = (ms) => 120 - ((Math.log10(Math.max(ms, 0.1)) + 1) / decades) * (120 - CHART_TOP);

  // Each run of answered pings is a polyline, and the area under it down to the bottom edge.
  let line = '', area = '';
  let run = [];  // [x, y] points
  const flush = () => {
    if (run.length === 0) return;
    const points = run.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join('L');
    line += `M${points}${run.length === 1 ? 'h1' : ''}`;
    area += `M${run[0][0].toFixed(1)},120L${points}L${run.at(-1)[0].toFixed(1)},120Z`;
    run = [];
  };
  rtt.samples.forEach((s, i) => {
    if (s.ms === null) flush(); else run.push([x(i), y(s.ms)]);
  });
  flush();

  const svg = $('#rtt-chart');
  const grid = [], labels = [];
  for (let k = 1; k <= decades; k++) {
    const ms = 10 ** (k - 1);  // 1 ms, 10 ms, ...
    grid.push(`M0 ${y(ms).toFixed(1)}H600`);
    const label = document.createElement('span');
    label.style.top = `${(y(ms) / 120) * 100}%`;
    label.textContent = `${ms} ms`;
    labels.push(label);
  }
  svg.querySelector('.grid').setAttribute('d', grid.join(''));
  svg.querySelector('.line').setAttribute('d', line);
  svg.querySelector('.area').setAttribute('d', area);
  svg.dataset.samples = values.length;
  $('#rtt-ylabels').replaceChildren(...labels);
  const last = [...rtt.samples].reverse().find((s) => s.ms !== null);
  $('#rtt-summary').textContent = values.length === 0 ? '' :
    `· last ${formatMs(last.ms)} · avg ${formatMs(values.reduce((a, b) => a + b) / values.length)} · max ${formatMs(max)}`;
}

setInterval(ping, 1000);
drawChart();

// ---------------------------------------------------------------------------------------------
// Chat

const chatLog = $('#chat-log');
const nickInput = $('#chat-nick');
const mine = new Map();  // payloads this page sent and the server has not delivered back yet

function storage(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch { /* storage may be disabled; the nickname then lasts as long as the page */ }
  return null;
}

nickInput.value = storage('nick') || `guest-${1000 + Math.floor(Math.random() * 9000)}`;
nickInput.addEventListener('change', () => storage('nick', nickInput.value.trim()));

function chatLine(className, parts) {
  const atBottom = chatLog.scrollHeight - chatLog.scrollTop - chatLog.clientHeight < 40;
  const item = document.createElement('li');
  item.className = className;
  for (const [tag, cls, text] of parts) {
    const part = document.createElement(tag);
    part.className = cls;
    part.textContent = text;
    item.append(part);
  }
  appendCapped(chatLog, item, 200, false);
  if (atBottom) chatLog.scrollTop = chatLog.scrollHeight;
}

const chat = reconnectingSocket('/chat', $('#chat-state'), {
  open() { chatLine('note', [['span', 'text', 'joined']]); },
  message(event) {
    if (typeof event.data !== 'string') return;
    let from = '?', text = event.data;
    try {
      const message = JSON.parse(event.data);
      if (typeof message?.text === 'string') {
        text = message.text;
        from = typeof message.from === 'string' && message.from ? message.from : 'anonymous';
      }
    } catch { /* not ours: shown as it came */ }
    const own = (mine.get(event.data) ?? 0) > 0;
    if (own) mine.set(event.data, mine.get(event.data) - 1);
    chatLine(own ? 'mine' : 'theirs', [['span', 'from', from], ['time', 'time', clock()], ['span', 'text', text]]);
  },
  close(event, wasOpen) {
    mine.clear();
    if (wasOpen) chatLine('note', [['span', 'text', `left: ${closeReasons[event.code] ?? `code ${event.code}`}`]]);
  },
});

$('#chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('#chat-input');
  const text = input.value.trim();
  if (!text) return;
  const payload = JSON.stringify({ from: nickInput.value.trim() || 'anonymous', text });
  if (!chat.send(payload)) return;
  mine.set(payload, (mine.get(payload) ?? 0) + 1);
  input.value = '';
});

// ---------------------------------------------------------------------------------------------
// Metrics

// Prometheus text format: `name{label="value",...} number [timestamp]` lines; `#` lines are
// help and type comments.
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

// A family's value summed over its label sets; null when the server does not export it.
function total(samples, name) {
  const found = samples.filter((s) => s.name === name);
  return found.length === 0 ? null : found.reduce((sum, s) => sum + s.value, 0);
}

const count = new Intl.NumberFormat('en');
function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

// Each tile: the family it shows, how to format it, and whether it is a counter (with a rate).
const tiles = {
  requests: ['asyncnostd_http_requests_total', (n) => count.format(n), true],
  bytes: ['asyncnostd_http_response_bytes_total', formatBytes, true],
  connections: ['asyncnostd_connections_open', (n) => count.format(n), false],
  websockets: ['asyncnostd_websocket_connections_open', (n) => count.format(n), false],
  'ws-in': ['asyncnostd_websocket_messages_in_total', (n) => count.format(n), true],
  'ws-out': ['asyncnostd_websocket_messages_out_total', (n) => count.format(n), true],
};
let previous = null;  // {at, values} of the last poll, for the rates

function showMetrics(samples) {
  const now = performance.now();
  const values = {};
  for (const [key, [name, format, counter]] of Object.entries(tiles)) {
    const tile = document.querySelector(`.tile[data-metric="${key}"]`);
    const value = (values[key] = total(samples, name));
    const valueEl = tile.querySelector('.value');
    valueEl.textContent = value === null ? '–' : format(value);
    valueEl.dataset.value = value ?? '';
    let note = '';
    if (key === 'connections') {
      const accepted = total(samples, 'asyncnostd_connections_accepted_total');
      if (accepted !== null) note = `${count.format(accepted)} accepted`;
    } else if (counter && previous && value !== null && previous.values[key] !== null) {
      const rate = ((value - previous.values[key]) * 1000) / (now - previous.at);
      if (rate >= 0) note = `${format(rate < 10 ? Math.round(rate * 10) / 10 : Math.round(rate))}/s`;
    }
    tile.querySelector('.rate').textContent = note;
  }
  previous = { at: now, values };
  showWorkers(samples.filter((s) => s.name.startsWith('asyncnostd_worker_') && 'worker' in s.labels));
}

// One row per worker, one column per asyncnostd_worker_* family (summed over other labels).
const columnNames = {
  http_requests: 'requests', http_response_bytes: 'bytes sent', connections_accepted: 'accepted',
  connections_open: 'open conns', websocket_connections: 'WebSockets', websocket_connections_open: 'open WS',
  websocket_messages_in: 'WS in', websocket_messages_out: 'WS out', chat_members: 'in chat',
};
const shortName = (family) => {
  const name = family.replace(/^asyncnostd_worker_/, '').replace(/_total$/, '');
  return columnNames[name] ?? name.replaceAll('_', ' ');
};

function showWorkers(samples) {
  const details = $('#workers');
  details.hidden = samples.length === 0;
  const columns = [...new Set(samples.map((s) => s.name))];
  const workers = [...new Set(samples.map((s) => s.labels.worker))].sort((a, b) => a - b);
  const cell = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });
  const head = document.createElement('tr');
  head.append(cell('th', 'worker'), ...columns.map((c) => cell('th', shortName(c))));
  const rows = workers.map((worker) => {
    const row = document.createElement('tr');
    row.append(cell('th', worker), ...columns.map((c) => {
      const sum = samples.filter((s) => s.name === c && s.labels.worker === worker).reduce((a, s) => a + s.value, 0);
      return cell('td', c.includes('bytes') ? formatBytes(sum) : count.format(sum));
    }));
    return row;
  });
  details.querySelector('thead').replaceChildren(head);
  details.querySelector('tbody').replaceChildren(...rows);
}

async function pollMetrics() {
  const panel = $('#metrics-panel');
  const badge = $('#metrics-state');
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 2000);
  try {
    const response = await fetch('/metrics', { cache: 'no-store', signal: controller.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    showMetrics(parseMetrics(await response.text()));
    showState(badge, 'open', 'live');
    panel.classList.remove('stale');
  } catch (error) {
    const why = error.message.startsWith('HTTP') ? `unavailable (${error.message})` :
      error.name === 'AbortError' ? 'server not answering' : 'server unreachable';
    showState(badge, 'down', why);
    panel.classList.add('stale');
  } finally {
    clearTimeout(timer);
    setTimeout(pollMetrics, 1000);
  }
}

pollMetrics();
