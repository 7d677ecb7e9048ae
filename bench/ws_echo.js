// The WebSocket peer of bench/bench.py: Node's `ws` package echoing every message on /ws with its
// type (text or binary), permessage-deflate off, messages up to 16 MiB (the same limit as
// async-nostd). bench.py installs ws with `npm install --no-save --prefix bench/.node ws`.
// On /chat, a chat room as async-nostd's: every text message goes to every member, the sender
// too (ws's own broadcast example; a binary message closes with 1003). The room is per process:
// with WORKERS > 1 members in different processes do not hear each other.
//
//   node bench/ws_echo.js PORT [WORKERS]
//
// WORKERS 1 (the default, and what bench.py runs unless --node-workers says otherwise): one
// process, as ws is normally deployed. More: Node's cluster module forks that many processes
// sharing the listening port.
'use strict';
const path = require('path');
module.paths.unshift(path.join(__dirname, '.node', 'node_modules'));
const cluster = require('cluster');
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const workers = Number(process.argv[3] || 1);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (w, code, sig) => { console.error(`worker ${w.process.pid} exited (${sig || code})`); process.exit(1); });
  process.on('SIGTERM', () => { for (const id in cluster.workers) cluster.workers[id].kill('SIGTERM'); process.exit(0); });
} else {
  const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const path = req.url.split('?')[0];
    if (path !== '/ws' && path !== '/chat') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req, path === '/chat'));
  });
  const room = new Set();
  wss.on('connection', (ws, req, chat) => {
    if (chat) {
      room.add(ws);
      ws.on('close', () => room.delete(ws));
      ws.on('message', (data, isBinary) => {
        if (isBinary) return ws.close(1003);
        for (const member of room) member.send(data, { binary: false });
      });
    } else {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    }
    ws.on('error', () => {});
  });
  server.listen(port, '127.0.0.1', () => console.log(`ws ${require('ws/package.json').version} echo on 127.0.0.1:${port}/ws, chat on /chat, pid ${process.pid}`));
  process.on('SIGTERM', () => process.exit(0));
}
