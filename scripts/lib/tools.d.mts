/** Types of `tools.mjs` (plain JavaScript so that it runs before set-up). */
export interface Tool {
  readonly name: string;
  readonly variable: string;
  readonly packages: string;
  locate(): string | undefined;
}
export declare const TOOLS: Readonly<Record<'postgres' | 'prometheus' | 'alertmanager' | 'chromium', Tool>>;
export declare function missingMessage(tool: Tool): string;
export declare function locate(tool: Tool): string;
