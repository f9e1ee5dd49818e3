// The CPU work of the benchmark app's report route, in its own module so that the driver can calibrate it.
import { createHash } from 'node:crypto';

/** Deterministic CPU work: a chain of `n` hashes over the row, as rendering or checksumming it would be. */
export function render(row, n) {
  let digest = JSON.stringify(row);
  for (let i = 0; i < n; i++) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}
