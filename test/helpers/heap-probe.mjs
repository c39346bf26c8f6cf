// Preloaded into a server under test (NODE_OPTIONS="--import <this file>"), never in production.
// On SIGUSR2 it forces full garbage collections and prints one line `HEAP <heapUsed bytes>`: what
// the server's own objects hold, without what V8 merely has not collected yet.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
process.on('SIGUSR2', () => {
  gc();
  gc();
  process.stdout.write(`HEAP ${process.memoryUsage().heapUsed}\n`);
});
