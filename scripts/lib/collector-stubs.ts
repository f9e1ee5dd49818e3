/**
 * Stand-ins for an OTLP/HTTP collector in each state a host app must survive, for the instrumentation's tests
 * and the benches: healthy (accepts everything and counts the bytes), refusing (nothing listens on the port),
 * black-holed (accepts connections, reads and drops, never answers) and slow (answers each export after a delay).
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket, Server as TcpServer } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { freePort } from './process.ts';

export interface Sink {
  readonly kind: 'live' | 'refusing' | 'black-holed' | 'slow';
  readonly url: string;
  /** Bytes of export bodies received so far (0 where nothing is read as a request). */
  bytes(): number;
  close(): void;
}

async function listening(server: TcpServer): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An HTTP sink that answers each export `{}` after `delayMs` (0: at once). */
async function answering(kind: 'live' | 'slow', delayMs: number): Promise<Sink> {
  let bytes = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (delayMs === 0) return answer();
      const t = setTimeout(() => {
        timers.delete(t);
        answer();
      }, delayMs);
      timers.add(t);
    });
  });
  const url = await listening(server);
  return {
    kind,
    url,
    bytes: () => bytes,
    close: () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A healthy collector. */
export function liveSink(): Promise<Sink> {
  return answering('live', 0);
}

/** A collector that answers every export after `delayMs` (default 5 s). */
export function slowSink(delayMs = 5000): Promise<Sink> {
  return answering('slow', delayMs);
}

/** A collector that is down: a free port where nothing listens. */
export async function refusingSink(): Promise<Sink> {
  const port = await freePort();
  return { kind: 'refusing', url: `http://127.0.0.1:${port}`, bytes: () => 0, close: () => {} };
}

/** The worst kind of outage: connections accepted, writes read and dropped, no answer ever. */
export async function blackHoledSink(): Promise<Sink> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  const url = await listening(server);
  return {
    kind: 'black-holed',
    url,
    bytes: () => 0,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
