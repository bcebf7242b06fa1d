/**
 * The demo's chat page: one HTML file that loads the CDN build (`/sockline.min.js`) with a
 * `<script>` tag and uses the global `Sockline`, exactly as a page without a bundler would.
 * Query parameters: `name`, `room` (default `lobby`), `token`.
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
  button { padding: 8px 16px; font: inherit; border: 0; border-radius: 6px; background: #2862c9; color: #fff; cursor: pointer; }
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
    <form id="send"><input id="text" autocomplete="off" placeholder="Say something…" aria-label="message"><button>Send</button></form>
  </main>
</div>
<script src="/sockline.min.js"></script>
<script>
(() => {
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
  const client = Sockline.connect(url, token ? { token } : {});

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
  window.chat = { client, room, name, send };
})();
</script>
</body>
</html>
`;
}
