/**
 * The demo's chat page: one HTML file that imports the package's ES modules by URL
 * (`/sockline/browser.js`, and `/sockline/streams.js` for the files), exactly as a page without
 * a bundler would from a CDN. Members share files: one picked is streamed to the server, the
 * others see it in the conversation and download it (a stream from the server, saved through
 * a Blob URL), with progress both ways. Query parameters: `name`, `room` (default `lobby`),
 * `token`.
 */
export function chatPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sockline chat</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: #1d2330; background: #f4f6fa; height: 100vh; display: flex; flex-direction: column; }
  header { display: flex; gap: 18px; align-items: center; padding: 10px 16px; background: #1d2330; color: #fff; flex-wrap: wrap; }
  header h1 { font-size: 17px; margin: 0 12px 0 0; }
  .stat { font-size: 13px; opacity: .9; }
  .stat b { font-variant-numeric: tabular-nums; }
  #state { padding: 2px 8px; border-radius: 10px; background: #8a94a6; }
  #state[data-state="open"] { background: #2e9d5b; }
  #state[data-state="reconnecting"], #state[data-state="connecting"] { background: #d48b1c; }
  #state[data-state="closed"] { background: #c43c3c; }
  .body { flex: 1; display: flex; min-height: 0; }
  aside { width: 210px; padding: 12px 16px; border-right: 1px solid #d9dee8; background: #fff; overflow: auto; }
  aside h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #5b6577; margin: 0 0 8px; }
  #members { list-style: none; margin: 0; padding: 0; }
  #members li { padding: 3px 0; }
  #members li::before { content: "●"; color: #2e9d5b; margin-right: 6px; }
  #members li.away::before { color: #b4bccb; }
  #members .via { color: #8a94a6; font-size: 12px; }
  main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  #log { flex: 1; list-style: none; margin: 0; padding: 12px 16px; overflow: auto; }
  #log li { padding: 3px 0; }
  #log .from { font-weight: 600; margin-right: 6px; }
  #log .mine .from { color: #2862c9; }
  #log time { color: #8a94a6; font-size: 12px; margin-left: 8px; }
  #log .sys { color: #5b6577; font-style: italic; font-size: 13px; }
  form { display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid #d9dee8; background: #fff; }
  #text { flex: 1; padding: 8px 10px; font: inherit; border: 1px solid #c5ccd8; border-radius: 6px; }
  button, .pick { padding: 8px 16px; font: inherit; border: 0; border-radius: 6px; background: #2862c9; color: #fff; cursor: pointer; }
  .pick { background: #5b6577; }
  #log .file button { padding: 2px 10px; margin-left: 8px; font-size: 13px; }
  #log .progress { color: #5b6577; font-size: 13px; margin-left: 6px; }
</style>
</head>
<body>
<header>
  <h1>sockline chat</h1>
  <span class="stat">room <b id="room"></b></span>
  <span class="stat">you <b id="me"></b></span>
  <span class="stat" id="state" data-state="connecting">connecting</span>
  <span class="stat">RTT <b id="rtt">–</b></span>
  <span class="stat">reconnects <b id="reconnects">0</b></span>
</header>
<div class="body">
  <aside><h2>Present</h2><ul id="members"></ul></aside>
  <main>
    <ul id="log" aria-live="polite"></ul>
    <form id="send"><input id="text" autocomplete="off" placeholder="Say something…" aria-label="message"><label class="pick">Share a file<input id="file" type="file" hidden></label><button>Send</button></form>
  </main>
</div>
<script type="module">
import { connect } from '/sockline/browser.js';
import { streams } from '/sockline/streams.js';
{
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const room = params.get('room') || 'lobby';
  const name = params.get('name') || 'guest-' + Math.random().toString(36).slice(2, 6);
  const token = params.get('token') || undefined;
  const sender = Math.random().toString(36).slice(2, 10);
  const topic = 'chat/' + room + '/messages';
  let counter = 0;
  let sessions = 0;
  let reconnects = 0;
  $('room').textContent = room;
  $('me').textContent = name;

  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
  const client = connect(url, token ? { token, streams } : { streams });

  const line = (className, parts) => {
    const li = document.createElement('li');
    li.className = className;
    for (const [tag, cls, text] of parts) {
      const el = document.createElement(tag);
      if (cls) el.className = cls;
      el.textContent = text;
      li.append(el);
    }
    const log = $('log');
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(li);
    if (atBottom) log.scrollTop = log.scrollHeight;
    return li;
  };
  const note = (text) => line('sys', [['span', '', text]]);
  const time = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

  client.on('state', ({ to }) => {
    $('state').textContent = to;
    $('state').dataset.state = to;
  });
  client.on('reconnecting', () => ($('reconnects').textContent = String(++reconnects)));
  client.on('session', ({ resumed }) => {
    if (++sessions > 1) note(resumed ? 'reconnected: session resumed, nothing lost' : 'reconnected: new session, messages may be missing');
    join();
  });
  client.on('sessionlost', () => note('the server lost this session'));

  client.subscribe(topic, (m) => {
    const li = line(m.from === name ? 'msg mine' : 'msg', [['span', 'from', m.from], ['span', 'text', m.text], ['time', '', time(m.at)]]);
    li.dataset.id = m.id;
    if (m.file) offer(li, m.file);
  });

  // Files. Up: the picked file's own stream piped into a sockline stream; the server keeps it
  // and announces it in the room. Down: a request, answered by a stream from the server.
  const size = (n) => n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB';
  const percent = (n, total) => (total ? Math.floor((n / total) * 100) : 100) + '%';
  const reason = (e) => (e.remoteCode && e.remoteCode !== 'ERR_ABORTED' ? e.remoteCode + ': ' : '') + String(e.message).replace(/^the reader cancelled the stream: /, '');
  async function share(file) {
    const status = note('sharing ' + file.name + ' (' + size(file.size) + ')');
    status.classList.add('upload');
    const upload = client.openStream({ name: file.name, size: file.size, type: file.type || 'application/octet-stream', room });
    const show = () => (status.textContent = 'sharing ' + file.name + ': ' + percent(upload.bytesAcknowledged, file.size));
    const timer = setInterval(show, 200);
    try {
      await file.stream().pipeTo(upload.writable);
      status.textContent = 'shared ' + file.name;
    } catch (e) {
      status.textContent = 'could not share ' + file.name + ': ' + reason(e);
    } finally {
      clearInterval(timer);
    }
  }
  const wanted = new Map();
  client.on('stream', (incoming) => {
    const take = wanted.get(incoming.meta.file);
    wanted.delete(incoming.meta.file);
    if (take) take(incoming);
    else incoming.readable.cancel(new Error('not asked for')).catch(() => {});
  });
  function offer(li, file) {
    li.classList.add('file');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Download';
    const progress = document.createElement('span');
    progress.className = 'progress';
    button.addEventListener('click', () => download(file, button, progress));
    li.append(button, progress);
  }
  async function download(file, button, progress) {
    button.disabled = true;
    const arrived = new Promise((resolve) => wanted.set(file.id, resolve));
    try {
      await client.request('chat.file', { room, id: file.id });
      const incoming = await arrived;
      const chunks = [];
      let received = 0;
      const reader = incoming.readable.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.byteLength;
        progress.textContent = percent(received, file.size);
      }
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob(chunks, { type: file.type }));
      a.download = file.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      progress.textContent = 'saved';
    } catch (e) {
      wanted.delete(file.id);
      progress.textContent = 'failed: ' + reason(e);
    } finally {
      button.disabled = false;
    }
  }
  $('file').addEventListener('change', (event) => {
    for (const file of event.target.files) share(file);
    event.target.value = '';
  });
  client.subscribe('chat/' + room + '/presence', (p) => showMembers(p.members));

  let known = null;
  function showMembers(members) {
    const names = new Set(members.map((m) => m.name));
    if (known) {
      for (const n of names) if (!known.has(n)) note(n + ' joined');
      for (const n of known) if (!names.has(n)) note(n + ' left');
    }
    known = names;
    $('members').replaceChildren(...members.map((m) => {
      const li = document.createElement('li');
      li.className = m.connected ? '' : 'away';
      li.textContent = m.name + ' ';
      const via = document.createElement('span');
      via.className = 'via';
      via.textContent = m.transport + (m.connected ? '' : ', away');
      li.append(via);
      return li;
    }));
  }
  function join() {
    client.request('chat.join', { room, name }).then((p) => showMembers(p.members), (e) => note('could not join: ' + e.message));
  }
  function send(text) {
    text = String(text).trim();
    if (!text) return;
    client.publish(topic, { id: sender + '-' + ++counter, from: name, text, at: Date.now() });
  }

  $('send').addEventListener('submit', (event) => {
    event.preventDefault();
    send($('text').value);
    $('text').value = '';
  });
  setInterval(() => {
    if (client.state === 'open') client.ping().then((ms) => ($('rtt').textContent = ms.toFixed(ms < 10 ? 1 : 0) + ' ms'), () => {});
  }, 1000);
  client.on('open', () => client.ping().then((ms) => ($('rtt').textContent = ms.toFixed(ms < 10 ? 1 : 0) + ' ms'), () => {}));
  window.addEventListener('pagehide', () => client.close());
  window.chat = { client, room, name, send, share };
}
</script>
</body>
</html>
`;
}
