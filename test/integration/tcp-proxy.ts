import net from 'node:net';

/**
 * A loopback TCP proxy in front of a real server, to cut the network between a client and it:
 * `cut()` drops every connection and refuses new ones; `restore()` lets traffic through again.
 * `refused` counts the connections refused while cut: each one is a client trying (again).
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<{
  port: number;
  readonly refused: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}> {
  let open = true;
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!open) {
      refused++;
      return void client.destroy();
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
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
