/**
 * `hotpath token`: mints an HS256 JWT for the API with HOTPATH_JWT_SECRET — for local runs, scripts and CI.
 * With a JWKS (an identity provider), tokens come from that provider instead.
 */
import { Command, Option } from 'commander';
import { SignJWT } from 'jose';
import { UsageError } from '../errors.ts';
import { ROLES } from '../service/http/auth.ts';
import { parseWindow } from '../sources/snapshot.ts';

export function tokenCommand(): Command {
  return new Command('token')
    .description('Print a signed API token (HS256, HOTPATH_JWT_SECRET) for a role.')
    .addOption(new Option('--role <role>', 'viewer, operator or admin').choices([...ROLES]).default('viewer'))
    .option('--subject <name>', 'who the token is for (recorded as the actor of transitions)', 'cli')
    .option('--expires <duration>', 'lifetime, e.g. 1h, 7d', '1h')
    .addOption(
      new Option('--secret <secret>', 'the shared secret')
        .env('HOTPATH_JWT_SECRET')
        .makeOptionMandatory(true),
    )
    .option(
      '--issuer <iss>',
      'iss claim (when the service checks HOTPATH_JWT_ISSUER)',
      process.env.HOTPATH_JWT_ISSUER,
    )
    .option(
      '--audience <aud>',
      'aud claim (when the service checks HOTPATH_JWT_AUDIENCE)',
      process.env.HOTPATH_JWT_AUDIENCE,
    )
    .action(
      async (options: {
        role: string;
        subject: string;
        expires: string;
        secret: string;
        issuer?: string;
        audience?: string;
      }) => {
        if (options.secret.length < 32) throw new UsageError('the secret must be at least 32 characters');
        let seconds: number;
        try {
          seconds = parseWindow(options.expires);
        } catch (error) {
          throw new UsageError(`--expires: ${error instanceof Error ? error.message : String(error)}`);
        }
        let jwt = new SignJWT({ role: options.role })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject(options.subject)
          .setIssuedAt()
          .setExpirationTime(Math.floor(Date.now() / 1000) + seconds);
        if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
        if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
        process.stdout.write(`${await jwt.sign(new TextEncoder().encode(options.secret))}\n`);
      },
    );
}
