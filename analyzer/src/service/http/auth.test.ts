/** Tokens from an identity provider: a real JWKS served over HTTP, RS256 and ES256 keys. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, UpstreamError } from '../../errors.ts';
import { type Authenticate, authenticator } from './auth.ts';

describe('authentication with a JWKS URL', () => {
  let server: ReturnType<typeof createServer>;
  let authenticate: Authenticate;
  let rsa: CryptoKey;
  let ec: CryptoKey;
  let stranger: CryptoKey;

  beforeAll(async () => {
    const rsaPair = await generateKeyPair('RS256');
    const ecPair = await generateKeyPair('ES256');
    stranger = (await generateKeyPair('RS256')).privateKey;
    rsa = rsaPair.privateKey;
    ec = ecPair.privateKey;
    const keys = [
      { ...(await exportJWK(rsaPair.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ecPair.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' },
    ];
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    authenticate = authenticator({
      kind: 'jwks',
      jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
      issuer: 'https://idp.example',
      audience: 'hotpath',
      roleClaim: 'roles',
    });
  });
  afterAll(() => {
    server?.close();
  });

  const sign = (key: CryptoKey, alg: string, kid: string, claims: { iss?: string; aud?: string } = {}) =>
    new SignJWT({ roles: ['viewer', 'operator'] })
      .setProtectedHeader({ alg, kid })
      .setSubject('sre@example')
      .setIssuer(claims.iss ?? 'https://idp.example')
      .setAudience(claims.aud ?? 'hotpath')
      .setExpirationTime('5m')
      .sign(key);

  it('accepts RS256 and ES256 tokens of the provider, with the highest role of the claim', async () => {
    expect(await authenticate(`Bearer ${await sign(rsa, 'RS256', 'rsa')}`)).toEqual({
      subject: 'sre@example',
      role: 'operator',
    });
    expect((await authenticate(`Bearer ${await sign(ec, 'ES256', 'ec')}`)).role).toBe('operator');
  });

  it('refuses a key the provider does not publish, another issuer or audience, and HS256', async () => {
    const refused = async (authorization: string) => {
      const error = await authenticate(authorization).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthError);
      return (error as AuthError).message;
    };
    expect(await refused(`Bearer ${await sign(stranger, 'RS256', 'rsa')}`)).toMatch(/signature is invalid/);
    expect(await refused(`Bearer ${await sign(rsa, 'RS256', 'rsa', { iss: 'https://evil' })}`)).toMatch(
      /"iss"/,
    );
    expect(await refused(`Bearer ${await sign(rsa, 'RS256', 'rsa', { aud: 'other' })}`)).toMatch(/"aud"/);
    const hs = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await refused(`Bearer ${hs}`)).toMatch(/algorithm that is not accepted/);
    expect(await refused('Basic dXNlcjpwYXNz')).toMatch(/missing bearer token/);
    const forever = await new SignJWT({ roles: ['viewer'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .setIssuer('https://idp.example')
      .setAudience('hotpath')
      .sign(rsa);
    expect(await refused(`Bearer ${forever}`)).toMatch(/no expiry/);
  });

  it('answers "identity provider unavailable", not "bad token", when the JWKS cannot be fetched', async () => {
    const down = authenticator({
      kind: 'jwks',
      jwksUrl: 'http://127.0.0.1:9/jwks.json',
      audience: 'hotpath',
      roleClaim: 'roles',
    });
    const error = await down(`Bearer ${await sign(rsa, 'RS256', 'rsa')}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).upstream).toBe('identity-provider');
  });
});
