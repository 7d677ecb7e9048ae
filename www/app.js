// The echo panel: one WebSocket to /ws; reconnects after a drop.
const status = document.getElementById('status');
const replies = document.getElementById('replies');
let socket;

function connect() {
  socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  socket.onopen = () => { status.textContent = 'connected'; status.className = 'open'; };
  socket.onclose = () => {
    status.textContent = 'disconnected, retrying…';
    status.className = 'closed';
    setTimeout(connect, 1000);
  };
  socket.onmessage = (event) => {
    const item = document.createElement('li');
    item.textContent = event.data;
    replies.prepend(item);
  };
}

document.getElementById('echo-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('message');
  if (socket.readyState === WebSocket.OPEN) socket.send(input.value);
});

connect();
