// A real OpenID Connect provider (panva's certified oidc-provider) for stackr-auth's social
// sign-in tests: one confidential client, six users, the development login and consent forms.
//
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma list). Prints
// `listening <port>` when ready.
//
// Test controls, as a misbehaving provider or a network attacker would act:
//   POST /test/id-token  body = one of none | wrong-aud | expired | wrong-nonce | tampered |
//                        unknown-key | wrong-iss | no-nonce | no-sub | future-iat | future-nbf |
//                        several-aud-no-azp | wrong-azp | alg-none | hs256-client-secret: how
//                        the next token responses' ID tokens are altered (re-signed with the
//                        provider's own key, or not, or with another key or the client secret).
//   POST /test/rotate-keys  a new signing key signs from now on; the old one stays published.
//   POST /test/userinfo  body = ok | refuse: whether userinfo (`/me`) answers, or refuses every
//                        access token with 401 as for a revoked grant.
//   POST /test/refresh  body = ok | refuse: whether refresh-token grants succeed, or are
//                        answered `400 invalid_grant`.
//   POST /test/claims-in-id-token  from now on the profile claims (email, name) are in the ID
//                        token itself, as Google and Apple send them, not only at userinfo.
import http from 'node:http';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

// login -> claims. `mallory` claims an address she has not verified; `padded`'s verified address
// is carol's with a space before it, which is no address (a provider that lets it be stored and
// vouches for it has proved some other string). `kelvin`'s begins with the Kelvin sign (U+212A),
// which the normalisation of stored addresses turns into an ASCII `k`: kim's address, which the
// provider never vouched for; `cafe`'s is café's with the é decomposed (e + U+0301), a genuine
// non-ASCII letter that normalisation composes.
const users = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Provider' },
  bob: { email: 'bob@example.com', email_verified: true, name: 'Bob Provider' },
  mallory: { email: 'victim@example.com', email_verified: false, name: 'Mallory' },
  padded: { email: ' carol@example.com', email_verified: true, name: 'Padded' },
  kelvin: { email: '\u212Aim@example.com', email_verified: true, name: 'Kelvin' },
  cafe: { email: 'cafe\u0301@example.com', email_verified: true, name: 'Cafe' },
};

async function newKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

let keys = [await newKey('key-1')];
let idTokenMode = 'none';
let claimsInIdToken = false;
let userinfoRefuses = false;
let refreshRefused = false;

async function alter(idToken) {
  const [, payloadPart] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString());
  const now = Math.floor(Date.now() / 1000);
  const signWith = async (jwk, payload) =>
    new jose.SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: keys[0].kid })
      .sign(await jose.importJWK(jwk, 'RS256'));
  switch (idTokenMode) {
    case 'wrong-aud':
      return signWith(keys[0], { ...claims, aud: 'another-client', azp: 'another-client' });
    case 'expired':
      return signWith(keys[0], { ...claims, iat: now - 7200, exp: now - 3600 });
    case 'wrong-nonce':
      return signWith(keys[0], { ...claims, nonce: 'not-the-nonce-of-this-sign-in' });
    case 'unknown-key':
      return signWith(await newKey(keys[0].kid), claims);
    case 'wrong-iss':
      return signWith(keys[0], { ...claims, iss: 'https://evil.example' });
    case 'no-nonce': {
      const { nonce, ...rest } = claims;
      return signWith(keys[0], rest);
    }
    case 'no-sub': {
      const { sub, ...rest } = claims;
      return signWith(keys[0], rest);
    }
    case 'future-iat':
      return signWith(keys[0], { ...claims, iat: now + 3600, exp: now + 7200 });
    case 'future-nbf':
      return signWith(keys[0], { ...claims, nbf: now + 3600 });
    case 'several-aud-no-azp': {
      const { azp, ...rest } = claims;
      return signWith(keys[0], { ...rest, aud: [claims.aud, 'another-client'] });
    }
    case 'wrong-azp':
      return signWith(keys[0], { ...claims, azp: 'another-client' });
    case 'alg-none': {
      const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims, email: 'alice@example.com' })}.`;
    }
    case 'hs256-client-secret':
      // Signed with the client secret, which a client that trusts any algorithm the token names
      // would accept as a key.
      return new jose.SignJWT({ ...claims, email: 'alice@example.com' })
        .setProtectedHeader({ alg: 'HS256', kid: keys[0].kid })
        .sign(new TextEncoder().encode(process.env.CLIENT_SECRET));
    case 'tampered': {
      const [header, , signature] = idToken.split('.');
      const forged = Buffer.from(JSON.stringify({ ...claims, email: 'alice@example.com', email_verified: true })).toString('base64url');
      return `${header}.${forged}.${signature}`;
    }
    default:
      return idToken;
  }
}

function buildProvider() {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: process.env.REDIRECT_URIS.split(','),
      token_endpoint_auth_method: 'client_secret_post',
      // Refresh tokens come with every code grant (below), as most providers issue them.
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }],
    jwks: { keys },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    conformIdTokenClaims: !claimsInIdToken,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_ctx, id) => {
      if (!users[id]) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...users[id] }) };
    },
  });
  provider.use(async (ctx, next) => {
    if (userinfoRefuses && ctx.path === '/me') {
      ctx.status = 401;
      ctx.body = { error: 'invalid_token' };
      return;
    }
    await next();
    if (refreshRefused && ctx.path === '/token' && ctx.oidc?.params?.grant_type === 'refresh_token') {
      ctx.status = 400;
      ctx.body = { error: 'invalid_grant' };
      return;
    }
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: await alter(ctx.body.id_token) };
    }
  });
  return provider;
}

let handler = buildProvider().callback();

const server = http.createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/test/id-token') {
    let body = '';
    for await (const chunk of req) body += chunk;
    idTokenMode = body.trim();
    res.end('ok');
    return;
  }
  if (req.method === 'POST' && (req.url === '/test/userinfo' || req.url === '/test/refresh')) {
    let body = '';
    for await (const chunk of req) body += chunk;
    const refuse = body.trim() === 'refuse';
    if (req.url === '/test/userinfo') userinfoRefuses = refuse;
    else refreshRefused = refuse;
    res.end('ok');
    return;
  }
  if (req.method === 'POST' && req.url === '/test/claims-in-id-token') {
    claimsInIdToken = true;
    handler = buildProvider().callback();
    res.end('ok');
    return;
  }
  if (req.method === 'POST' && req.url === '/test/rotate-keys') {
    keys = [await newKey(`key-${keys.length + 1}`), ...keys];
    // Grants and codes live in oidc-provider's process-wide memory store, so a new instance with
    // the new key set carries on where the old one was.
    handler = buildProvider().callback();
    res.end('ok');
    return;
  }
  handler(req, res);
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
