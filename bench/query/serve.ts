// The API in its own process for the benchmark (so the load generator does not share its event
// loop). Prints one JSON line {"url": ...} on stdout when listening; SIGTERM closes it.
// argv[2], if given, is a JSON object of API option overrides (e.g. {"annCandidatesFactor":50}).
import { startServer, type ApiOptionsInput } from '../../src/api/app.ts';
import { createContext } from '../../src/app/context.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createRegistry } from '../../src/infra/metrics.ts';

const ctx = createContext(loadConfig());
const options = (process.argv[2] ? JSON.parse(process.argv[2]) : {}) as ApiOptionsInput;
const server = await startServer({
  ctx,
  registry: createRegistry(),
  port: 0,
  host: '127.0.0.1',
  options,
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const stop = async () => {
  await server.close();
  await ctx.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
