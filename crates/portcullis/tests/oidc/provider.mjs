// A real OpenID provider (panva's oidc-provider) for Portcullis' integration tests.
//
//   node provider.mjs --port <N or 0> --keys <path.json> [--rotate]
//
// Listens on 127.0.0.1 only. Once ready it prints exactly one JSON line to stdout:
//   {"issuer":"http://127.0.0.1:PORT","jwks_uri":"http://127.0.0.1:PORT/jwks",
//    "token_endpoint":"http://127.0.0.1:PORT/token","kids":["<kid>",...]}
// and nothing else goes to stdout (logs go to stderr). SIGTERM/SIGINT exit cleanly.
//
// Tokens: client_credentials only, clients authenticate with client_secret_post
// (client_id and client_secret in the form body):
//   POST /token  grant_type=client_credentials&scope=mcp:tools&resource=<absolute http(s) URI>
//                &client_id=alice&client_secret=alice-secret
// The access token is a JWT (typ at+jwt) whose aud is the requested resource. Without a
// `resource` parameter oidc-provider issues an opaque token instead, so always send one.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

// oidc-provider prints development notices with console.info (stdout); keep stdout for the
// one ready line by sending every console log to stderr. This must happen before the import.
console.log = console.info = console.debug = (...args) => console.error(...args);
const { default: Provider, errors } = await import('oidc-provider');

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    keys: { type: 'string' },
    rotate: { type: 'boolean', default: false },
  },
});
if (!args.keys) {
  console.error('usage: node provider.mjs --port <N or 0> --keys <path.json> [--rotate]');
  process.exit(2);
}

// ---- signing keys -------------------------------------------------------------------------

const newKid = (prefix) => `${prefix}-${crypto.randomBytes(6).toString('hex')}`;

function rsaKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: newKid('rsa'), use: 'sig', alg: 'RS256' };
}

function ecKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: newKid('ec'), use: 'sig', alg: 'ES256' };
}

// The file is a JSON array of private JWKs. oidc-provider signs with the first key that fits
// the algorithm, so a rotated-in RSA key goes first and the older keys stay (still published
// in the JWKS) after it.
let keys;
if (fs.existsSync(args.keys)) {
  keys = JSON.parse(fs.readFileSync(args.keys, 'utf8'));
  if (args.rotate) keys = [rsaKey(), ...keys];
} else {
  keys = [rsaKey(), ecKey()];
}
if (!fs.existsSync(args.keys) || args.rotate) {
  fs.writeFileSync(args.keys, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
}

// ---- clients ------------------------------------------------------------------------------

const SCOPE = 'mcp:tools other';
const client = (id) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: SCOPE,
});
const GROUPS = { alice: ['admins'], bob: ['readers'] }; // everyone else: []

// ---- provider -----------------------------------------------------------------------------

// Listen first: the issuer must carry the real port, which port 0 only yields after listen.
const server = http.createServer();
server.on('error', (err) => {
  console.error(`provider.mjs: ${err.message}`);
  process.exit(1);
});
await new Promise((resolve) => { server.listen(Number(args.port), '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: ['alice', 'bob', 'es', 'shortlived'].map(client),
  jwks: { keys },
  scopes: ['openid', 'mcp:tools', 'other'],
  routes: { jwks: '/jwks', token: '/token' },
  cookies: { keys: ['portcullis-test-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Any absolute http(s) URI is a resource server (tests ask for wrong audiences on
      // purpose); the token's aud defaults to the resource indicator itself.
      async getResourceServerInfo(ctx, resourceIndicator, reqClient) {
        if (!/^https?:$/.test(new URL(resourceIndicator).protocol)) {
          throw new errors.InvalidTarget('resource must be an http(s) URI');
        }
        return {
          scope: SCOPE,
          audience: resourceIndicator,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: reqClient.clientId === 'es' ? 'ES256' : 'RS256' } },
        };
      },
    },
  },
  // Client credentials tokens live 300 s, except shortlived's (1 s).
  ttl: {
    ClientCredentials: (ctx, token, ttlClient) => (ttlClient.clientId === 'shortlived' ? 1 : 300),
  },
  // Custom claim in every access token.
  async extraTokenClaims(ctx, token) {
    return { groups: GROUPS[token.clientId] ?? [] };
  },
});

server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({
  issuer,
  jwks_uri: `${issuer}/jwks`,
  token_endpoint: `${issuer}/token`,
  kids: keys.map((k) => k.kid),
})}\n`);

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
