// The overhead bench's calibration: bare, plus a known SPIN_US µs of CPU at the start of every request (a busy
// wait in a wrap of `Server.prototype.emit`, where an instrumentation's own wrap sits). Its "µs added" says what
// the rig turns a known amount of work into: on one pinned core with the driver on the other, a slower app also
// pays more per response in the kernel (each `writev` wakes a driver that now waits idle), so the throughput
// difference overstates the work added; the CPU µs/req column, from /proc, shows the same.
import http from 'node:http';

const micros = Number(process.env.SPIN_US ?? 25);
const original = http.Server.prototype.emit;
http.Server.prototype.emit = function emit(event, ...args) {
  if (event === 'request') {
    const until = performance.now() + micros / 1000;
    while (performance.now() < until);
  }
  return original.call(this, event, ...args);
};
