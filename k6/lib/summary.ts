/**
 * `handleSummary` of every k6 script: k6's own text summary on stdout, the raw summary data as JSON, and the
 * run as the local driver records it (`analyzer/src/runs.ts`), so `hotpath analyze --since <id>` and
 * `hotpath compare` name a k6 run as they name a driver's. The record itself is `run-record.ts` (pure, tested).
 */
import { textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';
import type { ProfileName } from './profiles.ts';
import { type K6SummaryData, runRecord } from './run-record.ts';

export { SUMMARY_TREND_STATS } from './run-record.ts';

/**
 * The handleSummary of a profile's script: writes `<RUNS_DIR>/<id>.json` (default `.hotpath/runs`, where
 * `hotpath` looks) and `<RUNS_DIR>/<id>.k6-summary.json`, and prints k6's text summary.
 */
export function summaryFor(profile: ProfileName, target: string, runsDir: string) {
  return (data: K6SummaryData): Record<string, string> => {
    const run = runRecord(data, profile, target, new Date());
    return {
      stdout: `${textSummary(data, { indent: ' ', enableColors: true })}\nrecorded as run ${run.id} in ${runsDir}\n`,
      [`${runsDir}/${run.id}.json`]: `${JSON.stringify(run, null, 2)}\n`,
      [`${runsDir}/${run.id}.k6-summary.json`]: JSON.stringify(data),
    };
  };
}
