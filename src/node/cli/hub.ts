import * as http from 'node:http';
import * as https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { MemorySessionStore } from '../../core/protocol/server-session.js';
import { createServer, type SocklineServer } from '../server.js';
import type { ServerOptions } from '../server-options.js';
import { ChatFiles } from './chat-files.js';
import { chatPage } from './chat-page.js';
import { hostChat, type ChatRegistry } from './chat-service.js';
import { FileDrop } from './file-drop.js';
import { FileStore, type FileStoreOptions } from './file-store.js';
import { browserBundlePath, browserModulePath } from './package-info.js';

/** What `sockline serve` starts. A port of `undefined` leaves that listener off; 0 picks a free one. */
export interface HubOptions {
  host: string;
  tcp?: number | undefined;
  udp?: number | undefined;
  /** The HTTP (or, with `cert`/`key`, HTTPS) server carrying WebSocket at `/`. */
  http?: number | undefined;
  /** TLS over TCP; needs `cert` and `key`. */
  tls?: number | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  /** Clients must send this token in their handshake. */
  token?: string | undefined;
  /** Serve the chat page (and `/sockline.min.js`) over HTTP. */
  page?: boolean;
  /** Bounds of the files clients leave on the server (the file drop and the chat's files). */
  files?: Partial<FileStoreOptions> | undefined;
  /** Server limits and timings passed to `createServer` (tests shorten some). */
  server?: Pick<ServerOptions, 'heartbeatInterval' | 'heartbeatTimeout' | 'resumeWindow'>;
}

/** Bound URLs of a running hub. */
export interface HubAddresses {
  tcp?: string;
  tls?: string;
  udp?: string;
  ws?: string;
  wss?: string;
  /** The chat page, when served. */
  page?: string;
}

/** How long clients of a restarting or stopping hub spread their reconnects, in ms. */
const DRAIN_WINDOW = 1_000;

/**
 * A sockline server on TCP, UDP and WebSocket (attached to an HTTP server that can also serve
 * the chat page), with a few request handlers, an echo of plain messages, the chat and its
 * files, and the file drop of `send-file` / `receive-file`. A stream whose metadata names a
 * `room` is a file shared in the chat; any other is a file left in the drop.
 * `restart()` replaces the server with a new one on the same ports and the same session
 * store: clients reconnect and resume, nothing lost.
 */
export class Hub {
  readonly #options: HubOptions;
  readonly #store = new MemorySessionStore();
  readonly #members: ChatRegistry = new Map();
  readonly #files: FileStore;
  readonly #drop: FileDrop;
  readonly #chatFiles: ChatFiles;
  #server: SocklineServer | undefined;
  #http: http.Server | https.Server | undefined;
  #stopChat: (() => void) | undefined;
  #addresses: HubAddresses = {};

  constructor(options: HubOptions) {
    this.#options = options;
    this.#files = new FileStore(options.files);
    this.#drop = new FileDrop(this.#files);
    this.#chatFiles = new ChatFiles(this.#files, this.#members);
  }

  get addresses(): HubAddresses {
    return { ...this.#addresses };
  }

  /** The sockline server running now (a new one after each restart). */
  get server(): SocklineServer | undefined {
    return this.#server;
  }

  async start(): Promise<HubAddresses> {
    const o = this.#options;
    const secure = o.cert !== undefined && o.key !== undefined;
    if (o.http !== undefined) {
      const handler = this.#serveHttp;
      this.#http = secure
        ? https.createServer({ cert: o.cert, key: o.key }, handler)
        : http.createServer(handler);
      await new Promise<void>((resolve, reject) => {
        this.#http!.once('error', reject);
        this.#http!.listen(o.http, o.host, () => resolve());
      });
    }
    const token = o.token;
    const server = createServer({
      ...o.server,
      store: this.#store,
      ...(o.tcp !== undefined ? { tcp: { host: o.host, port: o.tcp } } : {}),
      ...(o.udp !== undefined ? { udp: { host: o.host, port: o.udp } } : {}),
      ...(this.#http !== undefined ? { ws: { server: this.#http } } : {}),
      ...(o.tls !== undefined && secure
        ? { tls: { host: o.host, port: o.tls, cert: o.cert!, key: o.key! } }
        : {}),
      ...(token !== undefined
        ? {
            authenticate: (hello) => {
              if (hello.token !== token) throw new Error('invalid token');
              return null;
            },
          }
        : {}),
    });
    server.handle('echo', (params) => params);
    server.handle('sum', (params) => {
      if (!Array.isArray(params) || !params.every((n) => typeof n === 'number'))
        throw Object.assign(new TypeError('sum needs an array of numbers'), { code: 'ERR_BAD_REQUEST' });
      return params.reduce((a: number, b: number) => a + b, 0);
    });
    server.handle('time', () => new Date().toISOString());
    // A plain message comes back to its sender: `sockline connect` shows the round trip.
    server.on('connection', (peer) => peer.on('message', (value) => peer.send(value)));
    const stopChat = hostChat(server, this.#members, (room) => this.#chatFiles.roomEmptied(room));
    const stopDrop = this.#drop.attach(server);
    this.#chatFiles.attach(server);
    server.on('stream', (stream, peer) => {
      if ('room' in stream.meta) this.#chatFiles.upload(stream, peer, server);
      else this.#drop.upload(stream, peer);
    });
    this.#stopChat = () => {
      stopChat();
      stopDrop();
    };
    this.#server = server;
    const bound = await server.listen();
    const a: HubAddresses = {};
    if (bound.tcp) a.tcp = bound.tcp;
    if (bound.tls) a.tls = bound.tls;
    if (bound.udp) a.udp = bound.udp;
    if (this.#http !== undefined) {
      const port = (this.#http.address() as AddressInfo).port;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      a[secure ? 'wss' : 'ws'] = `${secure ? 'wss' : 'ws'}://${host}:${port}/`;
      if (o.page === true) {
        const query = token !== undefined ? `?token=${encodeURIComponent(token)}` : '';
        a.page = `${secure ? 'https' : 'http'}://${host}:${port}/${query}`;
      }
    }
    this.#addresses = a;
    return this.addresses;
  }

  /**
   * Closes every listener and connection and starts a new server on the same ports with the
   * same session store. Clients are told to come back within a second and resume.
   */
  async restart(): Promise<HubAddresses> {
    await this.#stop();
    const portOf = (url: string | undefined): number | undefined =>
      url === undefined ? undefined : Number(new URL(url).port);
    const a = this.#addresses;
    Object.assign(this.#options, {
      tcp: portOf(a.tcp),
      udp: portOf(a.udp),
      tls: portOf(a.tls),
      http: portOf(a.ws ?? a.wss),
    });
    return this.start();
  }

  /** Stops for good: clients are told to reconnect later (to a successor, if any). */
  async close(): Promise<void> {
    await this.#stop();
    this.#store.clear();
    this.#members.clear();
    this.#files.close();
  }

  async #stop(): Promise<void> {
    this.#stopChat?.();
    await this.#server?.close({ drain: true, window: DRAIN_WINDOW, timeout: 2_000 });
    const h = this.#http;
    this.#http = undefined;
    if (h !== undefined) {
      const closed = new Promise<void>((resolve) => h.close(() => resolve()));
      h.closeAllConnections();
      await closed;
    }
  }

  #serveHttp = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (this.#options.page === true && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(chatPage());
    } else if (this.#options.page === true && path === '/sockline.min.js') {
      readFile(browserBundlePath()).then(
        (body) => res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body),
        () =>
          res
            .writeHead(404, { 'content-type': 'text/plain' })
            .end('dist/sockline.min.js is missing: run npm run build\n'),
      );
    } else if (this.#options.page === true && path.startsWith('/sockline/')) {
      const file = browserModulePath(path.slice('/sockline/'.length));
      if (file === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body),
        () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found (run npm run build)\n'),
      );
    } else if (path === '/') {
      res
        .writeHead(426, { 'content-type': 'text/plain' })
        .end('sockline: connect with WebSocket to this URL\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };
}
