import net from 'node:net';

/**
 * A loopback TCP proxy in front of a real server, to cut the network between a client and it:
 * `cut()` drops every connection and refuses new ones; `hang()` drops every connection and turns
 * the proxy into a black hole (new connections are accepted and never answered, as a wedged server
 * does); `restore()` lets traffic through again. `refused` counts the connections refused while
 * cut: each one is a client trying (again); `held` the connections swallowed while hung.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<{
  port: number;
  readonly refused: number;
  readonly held: number;
  /** connections open right now (through the proxy, or swallowed by it) */
  readonly open: number;
  cut(): void;
  hang(): void;
  restore(): void;
  close(): Promise<void>;
}> {
  let mode: 'open' | 'cut' | 'hang' = 'open';
  let refused = 0;
  let held = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (mode === 'cut') {
      refused++;
      return void client.destroy();
    }
    if (mode === 'hang') {
      held++;
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      return client.resume(); // read and drop: the client's request is "sent" and never answered
    }
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get refused() {
      return refused;
    },
    get held() {
      return held;
    },
    get open() {
      return sockets.size;
    },
    cut() {
      mode = 'cut';
      for (const s of sockets) s.destroy();
    },
    hang() {
      mode = 'hang';
      for (const s of sockets) s.destroy();
    },
    restore() {
      mode = 'open';
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
