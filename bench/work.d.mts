/** Types of `work.mjs`. */
export declare function render(row: unknown, n: number): string;
