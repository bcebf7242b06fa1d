import { userInfo } from 'node:os';
import { parseUrl } from '../../core/url.js';
import { connectionOptions, stringFlag, type Command } from './args.js';
import { acknowledged, DEFAULT_TIMEOUT, openClient } from './client.js';
import { chatTopics, type ChatMember, type ChatMessage, type ChatPresence } from './chat-service.js';
import { usageError } from './exit.js';
import { forEachLine, untilClosed } from './io.js';

function defaultName(): string {
  try {
    return userInfo().username || `node-${process.pid}`;
  } catch {
    return `node-${process.pid}`;
  }
}

const clock = (ms: number): string => new Date(ms).toTimeString().slice(0, 8);
const describe = (m: ChatMember): string => `${m.name} (${m.transport}${m.connected ? '' : ', away'})`;

export const chat: Command = {
  name: 'chat',
  summary: 'Join a chat room on a sockline server (the one `sockline serve --demo` hosts).',
  args: '<url>',
  options: {
    ...connectionOptions,
    room: { type: 'string', arg: '<room>', help: 'room to join (default lobby)' },
    name: { type: 'string', arg: '<name>', help: 'your name (default your user name)' },
  },
  details: `
Lines you type are published to the room; messages appear on stdout as
"[hh:mm:ss] name: text". Who joins and leaves, and the connection state, go to stderr.
Commands: /who lists who is present, /quit leaves. Over udp:// the reliable channel is used.

Examples:
  sockline chat tcp://127.0.0.1:7000 --name alice
  sockline chat udp://127.0.0.1:7000 --room games`,
  async run([url], values) {
    const room = stringFlag(values, 'room', 'lobby')!;
    const name = stringFlag(values, 'name', defaultName())!;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(room))
      throw usageError('--room takes 1-64 letters, digits, "_", "." or "-"');
    // A chat must not lose lines: over UDP, ask for acks and retransmission.
    const reliable = parseUrl(url!).scheme === 'udp' ? { reliable: true } : {};
    const client = await openClient(url!, { ...values, ...reliable }, 'stay');
    const sender = Math.random().toString(36).slice(2, 10);
    let counter = 0;
    let members: ChatMember[] = [];
    const err = (line: string): boolean => process.stderr.write(`${line}\n`);

    const show = (presence: { members: ChatMember[] }): void => {
      const before = new Set(members.map((m) => m.id));
      const after = new Set(presence.members.map((m) => m.id));
      for (const m of presence.members)
        if (!before.has(m.id) && members.length > 0) err(`* ${describe(m)} joined`);
      for (const m of members) if (!after.has(m.id)) err(`* ${m.name} left`);
      members = presence.members;
    };
    client.subscribe(chatTopics.messages(room), (value) => {
      const m = value as ChatMessage;
      process.stdout.write(`[${clock(m.at)}] ${m.from}: ${m.text}\n`);
    });
    client.subscribe(chatTopics.presence(room), (value) => show(value as ChatPresence));
    const join = async (): Promise<void> => {
      try {
        show((await client.request('chat.join', { room, name })) as ChatPresence);
      } catch (e) {
        err(`* could not join: ${(e as Error).message}`);
      }
    };
    client.on('state', ({ to }) => err(`* ${to}`));
    // Every later handshake (the first one is behind us): a restarted server needs our name.
    client.on('session', ({ resumed }) => {
      err(resumed ? '* session resumed: nothing lost' : '* new session: messages may be missing');
      void join();
    });
    await join();
    err(`* joined ${room} as ${name}: ${members.map(describe).join(', ')}`);

    let quit!: () => void;
    const done = new Promise<void>((resolve) => (quit = resolve));
    void forEachLine((line) => {
      const text = line.trim();
      if (text === '/quit') return quit();
      if (text === '/who') return void err(`* present: ${members.map(describe).join(', ')}`);
      if (text.length === 0) return;
      const message: ChatMessage = { id: `${sender}-${++counter}`, from: name, text, at: Date.now() };
      client.publish(chatTopics.messages(room), message);
    })
      .then(() => acknowledged(client, DEFAULT_TIMEOUT))
      .then(quit);
    return untilClosed(client, done);
  },
};
