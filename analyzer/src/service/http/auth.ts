/**
 * Bearer JWT authentication (jose) and role checks. Roles are ordered: viewer (read) < operator (lifecycle
 * transitions, trigger analyses) < admin (configuration). The role comes from one claim (`role` by default),
 * a string or an array of strings; the highest known role wins.
 */
import type { NextFunction, Request, Response } from 'express';
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { AuthError, UpstreamError } from '../../errors.ts';
import type { AuthConfig } from '../config.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly subject: string;
  readonly role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Asymmetric algorithms accepted from a JWKS; `none` and HMAC are never accepted with public keys. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

export type Authenticate = (authorization: string | undefined) => Promise<Principal>;

export function authenticator(config: AuthConfig): Authenticate {
  const key: Uint8Array | JWTVerifyGetKey =
    config.kind === 'secret'
      ? new TextEncoder().encode(config.secret)
      : createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5_000 });
  const algorithms = config.kind === 'secret' ? ['HS256'] : JWKS_ALGORITHMS;
  return async (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (match?.[1] === undefined) {
      throw new AuthError(401, 'missing bearer token: send "Authorization: Bearer <JWT>"');
    }
    let payload: JWTPayload;
    try {
      const verified =
        key instanceof Uint8Array
          ? await jwtVerify(match[1], key, options(config, algorithms))
          : await jwtVerify(match[1], key, options(config, algorithms));
      payload = verified.payload;
    } catch (error) {
      // The provider's keys could not be fetched: not the caller's fault, and worth retrying (503).
      if (
        config.kind === 'jwks' &&
        (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError))
      ) {
        throw new UpstreamError(
          'identity-provider',
          config.jwksUrl,
          `JWKS unavailable: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      throw new AuthError(401, describe(error));
    }
    const role = highestRole(payload[config.roleClaim]);
    if (role === undefined) {
      throw new AuthError(
        403,
        `the token's "${config.roleClaim}" claim names no known role (${ROLES.join(', ')})`,
      );
    }
    return { subject: typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : 'unknown', role };
  };
}

function options(config: AuthConfig, algorithms: string[]) {
  return {
    algorithms,
    // A token without an expiry would be valid forever.
    requiredClaims: ['exp'],
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token signed with an algorithm that is not accepted';
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'exp' && error.reason === 'missing')
    return 'token has no expiry ("exp"): tokens must expire';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `token claim "${error.claim}" is invalid: ${error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the JWKS matches the token';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) {
    return `token rejected: ${error.message}`;
  }
  return 'token is not a valid JWT';
}

function highestRole(claim: unknown): Role | undefined {
  const values = Array.isArray(claim) ? claim : [claim];
  let best = -1;
  for (const v of values) {
    const i = ROLES.indexOf(v as Role);
    if (i > best) best = i;
  }
  return best < 0 ? undefined : ROLES[best];
}

/** Middleware: authenticates the request and requires at least `role`. */
export function requireRole(authenticate: Authenticate, role: Role) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const principal = req.principal ?? (await authenticate(req.get('authorization')));
    req.principal = principal;
    if (ROLES.indexOf(principal.role) < ROLES.indexOf(role)) {
      throw new AuthError(403, `this needs the ${role} role; the token has ${principal.role}`);
    }
    next();
  };
}
