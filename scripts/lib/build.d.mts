/** Types of `build.mjs` (plain JavaScript so that `npm ci`'s `prepare` runs it before anything else). */
export declare const INSTRUMENTATION_DIST: string;
export declare function buildInstrumentation(): boolean;
