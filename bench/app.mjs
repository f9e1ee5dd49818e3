// The benchmark's app: Express 5 with the middleware a typical service has, and one route with a parameter.
import express from 'express';

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
app.use('/api', router);
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close());
