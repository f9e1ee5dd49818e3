// The overhead benchmark's app: Express 5 with the middleware a typical service has, and three routes of the
// shapes the issue names: a trivial one, a pg read by primary key, and a pg read followed by ~1 ms of CPU work
// (rendering a report from the row). DATABASE_URL points at the bench's private PostgreSQL; CPU_ITERATIONS is
// the work loop's length, calibrated once by the driver so that every variant does the same work.
import express from 'express';
import pg from 'pg';
import { render } from './work.mjs';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const iterations = Number(process.env.CPU_ITERATIONS ?? 0);

const app = express();
app.use(express.json());
app.use((_req, res, next) => {
  res.set('x-request-id', String(Math.random()).slice(2, 10));
  next();
});
app.use((req, _res, next) => {
  req.startedAt = Date.now();
  next();
});
const router = express.Router();
router.get('/items/:id', (req, res) => res.json({ id: req.params.id, name: `item ${req.params.id}` }));
router.get('/products/:id', async (req, res) => {
  const { rows } = await pool.query('SELECT id, name, price FROM products WHERE id = $1', [
    Number(req.params.id),
  ]);
  res.json(rows[0] ?? null);
});
router.get('/reports/:id', async (req, res) => {
  const { rows } = await pool.query('SELECT id, name, price FROM products WHERE id = $1', [
    Number(req.params.id),
  ]);
  res.json({ product: rows[0] ?? null, checksum: render(rows[0], iterations) });
});
app.use('/api', router);
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => {
  server.close();
  void pool.end();
});
