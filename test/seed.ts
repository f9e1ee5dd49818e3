import type { SeedSize } from '../demo/src/db.ts';

/** The demo's default size: large enough that the missing index costs ~100 ms per lookup. */
export const TEST_SEED: SeedSize = { products: 2_000, customers: 50_000, orders: 2_000_000 };
