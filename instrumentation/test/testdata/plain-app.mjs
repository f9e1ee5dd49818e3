// An app without a SIGTERM handler of its own: Node's default is to exit on SIGTERM.
import { createServer } from 'node:http';

createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
