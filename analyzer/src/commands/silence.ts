/**
 * `hotpath silence`: acknowledging an alert is silencing it in Alertmanager (API v2), with who and why — the
 * same as `amtool silence add`, without a second tool to install. `--list` shows the active silences, `--expire`
 * lifts one. Resolving is not a command: the condition clearing sends the resolved notification.
 *
 * API: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml (postSilences, getSilences,
 * deleteSilence).
 */
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { UpstreamError, UsageError } from '../errors.ts';
import { parseWindow } from '../sources/snapshot.ts';

export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}

/** `name=value`, `name!=value`, `name=~regex`, `name!~regex` (amtool's matcher syntax, unquoted). */
export function parseMatcher(raw: string): Matcher {
  const match = /^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)(.*)$/.exec(raw.trim());
  if (match === null) {
    throw new UsageError(`matcher "${raw}" is not label=value (or label!=value, label=~regex, label!~regex)`);
  }
  const [, name = '', op = '=', quoted = ''] = match;
  const value = /^"(.*)"$/.exec(quoted)?.[1] ?? quoted;
  if (value === '' && op === '=') throw new UsageError(`matcher "${raw}" has no value`);
  return { name, value, isRegex: op.includes('~'), isEqual: !op.startsWith('!') };
}

interface Silence {
  id: string;
  matchers: Matcher[];
  createdBy: string;
  comment: string;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

async function call(base: string, path: string, init?: RequestInit): Promise<unknown> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new UpstreamError(
      'alertmanager',
      base,
      `not reachable: ${error instanceof Error ? error.message : error}`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    throw new UpstreamError(
      'alertmanager',
      base,
      `${response.status} on ${path}: ${text.trim().slice(0, 300)}`,
    );
  }
  return text === '' ? undefined : JSON.parse(text);
}

const show = (m: Matcher) => `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '=~' : '='}"${m.value}"`;

export function silenceCommand(): Command {
  return new Command('silence')
    .description(
      'Acknowledge an alert: silence it in Alertmanager, matched to its labels, with an author and a comment ' +
        '(e.g. hotpath silence alertname=HotpathErrorBudget job=shop --comment "rolling back").',
    )
    .argument('[matchers...]', 'label matchers: name=value, name!=value, name=~regex, name!~regex')
    .option(
      '--alertmanager <url>',
      'Alertmanager base URL',
      process.env.ALERTMANAGER_URL ?? 'http://localhost:9093',
    )
    .option('--comment <text>', 'why (required to create one)')
    .option('--author <name>', 'who acknowledges', process.env.HOTPATH_AUTHOR ?? userInfo().username)
    .option('--duration <duration>', 'how long the silence lasts, e.g. 30m, 2h, 1d', '2h')
    .option('--list', 'print the active and pending silences instead')
    .option('--expire <id>', 'lift the silence with this id instead')
    .action(
      async (
        matchers: string[],
        options: {
          alertmanager: string;
          comment?: string;
          author: string;
          duration: string;
          list?: boolean;
          expire?: string;
        },
      ) => {
        const base = options.alertmanager;
        if (options.list === true) {
          const silences = (await call(base, 'api/v2/silences')) as Silence[];
          const active = silences.filter((s) => s.status.state !== 'expired');
          if (active.length === 0) process.stdout.write('no active silences\n');
          for (const s of active) {
            process.stdout.write(
              `${s.id}  ${s.status.state}  until ${s.endsAt}  ${s.matchers.map(show).join(' ')}  by ${s.createdBy}: ${s.comment}\n`,
            );
          }
          return;
        }
        if (options.expire !== undefined) {
          if (!/^[0-9a-f-]{36}$/.test(options.expire))
            throw new UsageError(`--expire: "${options.expire}" is not a silence id`);
          await call(base, `api/v2/silence/${options.expire}`, { method: 'DELETE' });
          process.stdout.write(`expired silence ${options.expire}\n`);
          return;
        }
        if (matchers.length === 0)
          throw new UsageError('give at least one matcher, e.g. alertname=HotpathErrorBudget');
        const comment = options.comment?.trim();
        if (comment === undefined || comment === '') throw new UsageError('--comment is required: say why');
        if (options.author.trim() === '') throw new UsageError('--author must not be empty');
        let seconds: number;
        try {
          seconds = parseWindow(options.duration);
        } catch (error) {
          throw new UsageError(`--duration: ${error instanceof Error ? error.message : String(error)}`);
        }
        const parsed = matchers.map(parseMatcher);
        const now = Date.now();
        const created = (await call(base, 'api/v2/silences', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            matchers: parsed,
            startsAt: new Date(now).toISOString(),
            endsAt: new Date(now + seconds * 1000).toISOString(),
            createdBy: options.author.trim(),
            comment,
          }),
        })) as { silenceID: string };
        process.stdout.write(
          `silenced ${parsed.map(show).join(' ')} for ${options.duration} (id ${created.silenceID}; ` +
            `lift it with hotpath silence --expire ${created.silenceID})\n`,
        );
      },
    );
}
