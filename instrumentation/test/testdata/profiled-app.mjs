// A small product-like service for the profiling test: one route compresses a report synchronously, another
// scores items with a CPU-heavy function; both await I/O first, so their samples interleave across `await`s.
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import express from 'express';

const app = express();
const report = Buffer.alloc(400_000, 'row,of,report,data\n');

function compressReport() {
  let size = 0;
  for (let i = 0; i < 4; i++) size += gzipSync(report, { level: 9 }).length;
  return size;
}

function scoreItems(n) {
  let score = 0;
  for (let i = 0; i < n; i++) score += Math.sqrt(i) * Math.sin(i) * Math.cos(i / 3);
  return score;
}

app.get('/reports/:id', async (_req, res) => {
  await sleep(2);
  res.json({ bytes: compressReport() });
});

app.get('/items/:id/score', async (_req, res) => {
  await sleep(2);
  res.json({ score: scoreItems(3_000_000) });
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close());
