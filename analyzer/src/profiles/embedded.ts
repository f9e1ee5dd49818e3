/**
 * The embedded `ProfileSource`: the profiles the Pyroscope Node SDK pushed to the analyzer itself (`POST /ingest`,
 * the same protocol Pyroscope's server takes), kept in a bounded in-memory window for the local no-Docker run and
 * the tests. Bounds, whatever the senders do: a number of profiles, a number of stacks across them, an age;
 * overload drops the oldest profiles first and counts them in `stats()`.
 *
 * Push protocol (../shared/fixtures/pyroscope/README.md §1–2): `name=<app>{k=v,…}` (the app name is the
 * service), `from`/`until` in Unix seconds (now when absent), the pprof as the raw body (SDK 0.6.4:
 * `application/octet-stream`, `format=pprof`) or as the multipart field `profile` (older SDKs), gzipped or not.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { serviceNameOf } from '../findings.ts';
import { type DecodedProfile, decodePprof, ProfileFormatError, type StackSample } from './model.ts';
import type { ProfileQuery, ProfileSource, StackSet } from './source.ts';

export const PYROSCOPE_INGEST_PATH = '/ingest';

export interface EmbeddedProfileSourceOptions {
  /** Profiles kept at most (default 2000: two per service and minute for a quarter of an hour, many services). */
  readonly maxProfiles?: number;
  /** Stacks kept at most, all profiles together (default 500 000). */
  readonly maxSamples?: number;
  /** A profile is forgotten this long after it ended (default 15 minutes, as the embedded traces). */
  readonly maxAgeMs?: number;
  /** The clock, Unix milliseconds; tests move it. */
  readonly now?: () => number;
}

export const EMBEDDED_PROFILE_DEFAULTS = Object.freeze({
  maxProfiles: 2000,
  maxSamples: 500_000,
  maxAgeMs: 15 * 60_000,
});

interface Stored {
  readonly service: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly profile: DecodedProfile;
  readonly fromMs: number;
  readonly untilMs: number;
}

export interface EmbeddedProfileStats {
  readonly profiles: number;
  readonly samples: number;
  /** Profiles dropped to make room, not counting those that aged out. */
  readonly droppedProfiles: number;
  readonly expiredProfiles: number;
  /** Pushes refused (no name, not pprof, too large). */
  readonly rejectedPushes: number;
}

/** Pyroscope's `name` parameter: `app{key=value,…}`; values are not quoted by the Node SDK. */
export function parseApplicationName(raw: string): { service: string; tags: Record<string, string> } | null {
  const m = /^([^{}]+)(?:\{(.*)\})?$/.exec(raw.trim());
  if (m === null) return null;
  const tags: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    tags[part.slice(0, eq).trim()] = part
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { service: (m[1] ?? '').trim(), tags };
}

export class EmbeddedProfileSource implements ProfileSource {
  readonly name = 'embedded';
  private readonly stored: Stored[] = [];
  private readonly options: Required<Omit<EmbeddedProfileSourceOptions, 'now'>>;
  private readonly now: () => number;
  private samples = 0;
  private dropped = 0;
  private expired = 0;
  private rejected = 0;

  constructor(options: EmbeddedProfileSourceOptions = {}) {
    this.options = { ...EMBEDDED_PROFILE_DEFAULTS, ...options };
    this.now = options.now ?? Date.now;
  }

  ingest(
    meta: { service: string; tags?: Record<string, string>; fromMs?: number; untilMs?: number },
    profile: DecodedProfile,
  ): void {
    const now = this.now();
    const untilMs = meta.untilMs ?? now;
    this.stored.push({
      service: meta.service,
      tags: meta.tags ?? {},
      profile,
      fromMs: meta.fromMs ?? untilMs,
      untilMs,
    });
    this.samples += profile.samples.length;
    this.evict(now);
  }

  recordRejectedPush(): void {
    this.rejected++;
  }

  stats(): EmbeddedProfileStats {
    this.evict(this.now());
    return {
      profiles: this.stored.length,
      samples: this.samples,
      droppedProfiles: this.dropped,
      expiredProfiles: this.expired,
      rejectedPushes: this.rejected,
    };
  }

  async stacks(query: ProfileQuery): Promise<StackSet | null> {
    const now = this.now();
    this.evict(now);
    const since = now - query.sinceSeconds * 1000;
    const service = serviceNameOf(query.service);
    let matching = this.stored.filter(
      (s) => s.service === service && s.profile.kind === query.kind && s.untilMs >= since,
    );
    if (matching.length === 0) return null;
    if (query.at !== undefined) {
      const pick = matching.reduce((a, b) =>
        query.at === 'latest' ? (b.untilMs >= a.untilMs ? b : a) : b.untilMs < a.untilMs ? b : a,
      );
      matching = [pick];
    }
    const samples: StackSample[] = [];
    let ms = 0;
    for (const s of matching) {
      ms += Math.max(0, s.untilMs - Math.max(s.fromMs, since));
      for (const x of s.profile.samples) {
        if (query.spanName === undefined || x.labels.span_name === query.spanName) samples.push(x);
      }
    }
    return { samples, seconds: ms / 1000, endMs: Math.max(...matching.map((s) => s.untilMs)) };
  }

  private evict(now: number): void {
    const oldest = now - this.options.maxAgeMs;
    while (this.stored.length > 0 && (this.stored[0]?.untilMs ?? now) < oldest) {
      this.remove();
      this.expired++;
    }
    while (
      this.stored.length > this.options.maxProfiles ||
      (this.samples > this.options.maxSamples && this.stored.length > 1)
    ) {
      this.remove();
      this.dropped++;
    }
  }

  private remove(): void {
    const gone = this.stored.shift();
    if (gone !== undefined) this.samples -= gone.profile.samples.length;
  }
}

/** 16 MiB: a wall profile of a busy process over a minute is well under 1 MiB gzipped. */
export const DEFAULT_MAX_PROFILE_BYTES = 16 * 1024 * 1024;

/** Pyroscope's ingest endpoint, as its server answers it: 200, 400 bad metadata, 413 too large, 422 not pprof. */
export function pyroscopeIngestRouter(options: {
  source: EmbeddedProfileSource;
  maxBodyBytes?: number;
  log?: Pick<Logger, 'warn'>;
}): Router {
  const router = express.Router();
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_PROFILE_BYTES;
  const refuse = (res: Response, status: 400 | 413 | 422, message: string) => {
    options.source.recordRejectedPush();
    options.log?.warn({ status, reason: message }, 'profile push refused');
    res.status(status).type('text/plain').send(message);
  };
  router.post(
    PYROSCOPE_INGEST_PATH,
    express.raw({ type: () => true, limit }),
    async (req: Request, res: Response) => {
      const name = parseApplicationName(String(req.query.name ?? ''));
      if (name === null || name.service === '') {
        refuse(res, 400, 'the name parameter (<app>{labels}) is missing or malformed');
        return;
      }
      let body = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
      const type = req.headers['content-type'] ?? '';
      if (type.includes('multipart/form-data')) {
        try {
          const form = await new globalThis.Request('http://ingest/', {
            method: 'POST',
            headers: { 'content-type': type },
            body,
          }).formData();
          const part = form.get('profile');
          if (part === null || typeof part === 'string') {
            refuse(res, 422, 'the multipart body has no profile file part');
            return;
          }
          body = Buffer.from(await part.arrayBuffer());
        } catch (error) {
          refuse(res, 422, `the multipart body does not parse: ${(error as Error).message}`);
          return;
        }
      }
      let profile: DecodedProfile;
      try {
        profile = decodePprof(body);
      } catch (error) {
        refuse(res, 422, error instanceof ProfileFormatError ? error.message : String(error));
        return;
      }
      const seconds = (key: string) => {
        const n = Number(req.query[key]);
        return Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
      };
      const fromMs = seconds('from');
      const untilMs = seconds('until');
      options.source.ingest(
        {
          service: name.service,
          tags: name.tags,
          ...(fromMs === undefined ? {} : { fromMs }),
          ...(untilMs === undefined ? {} : { untilMs }),
        },
        profile,
      );
      res.status(200).end();
    },
  );
  // express.raw's own refusal of a large body becomes Pyroscope's 413.
  router.use(
    PYROSCOPE_INGEST_PATH,
    (
      error: { type?: string; status?: number },
      _req: Request,
      res: Response,
      next: (e?: unknown) => void,
    ) => {
      if (error.type === 'entity.too.large') refuse(res, 413, `the profile is larger than ${limit} bytes`);
      else next(error);
    },
  );
  return router;
}
