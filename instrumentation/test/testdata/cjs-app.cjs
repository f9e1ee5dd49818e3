// A CommonJS app that knows nothing about telemetry.
const express = require('express');

const app = express();
app.get('/items/:id', (req, res) => res.json({ id: req.params.id, kind: 'cjs' }));
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close());
