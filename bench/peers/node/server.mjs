// panva's oidc-provider as the benchmark peer (bench/compare.sh): one confidential client
// with client_credentials and refresh_token, introspection on, refresh tokens rotated on
// every use (as Tessera does), the memory adapter (the provider's default), RS256 keys.
// Client credentials without `resource` get opaque access tokens; with
// `resource=urn:bench:api` a JWT access token signed RS256 (resource indicators), so that
// signing costs can be compared like for like.
//   node server.mjs PORT MINT_PORT
// MINT_PORT (loopback, not the provider's) answers GET /?n=N with N fresh refresh tokens,
// one per line, each of its own grant: the provider's memory adapter is an LRU of 1,000
// entries, so tokens minted long before a run would be evicted by then.
import { createServer } from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const [port, mintPort] = [Number(process.argv[2]), Number(process.argv[3])];
const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'bench-rs256' };

const API = 'urn:bench:api';
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-0123456789',
    grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/cb'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'offline_access', 'api'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== API) throw new Error('unknown resource');
        return { scope: 'api', audience: API, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  rotateRefreshToken: () => true,
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  ttl: { RefreshToken: 86400, AccessToken: 300, ClientCredentials: 300, Grant: 86400 },
});

// Refresh tokens as the authorization code grant would have left them, each of its own
// grant (minted through the provider's own models, before any load).
async function mint(n) {
  const client = await provider.Client.find('bench');
  const out = [];
  for (let i = 0; i < n; i += 1) {
    const grant = new provider.Grant({ accountId: 'bench-user', clientId: 'bench' });
    grant.addOIDCScope('openid offline_access');
    const grantId = await grant.save();
    const rt = new provider.RefreshToken({
      accountId: 'bench-user', client, grantId, scope: 'openid offline_access',
      gty: 'authorization_code', authTime: Math.floor(Date.now() / 1000),
    });
    out.push(await rt.save());
  }
  return out;
}

provider.listen(port, '127.0.0.1', () => console.log(`ready ${port}`));
createServer(async (req, res) => {
  const n = Number(new URL(req.url, 'http://x').searchParams.get('n') || 1);
  res.end((await mint(Math.min(n, 1000))).join('\n') + '\n');
}).listen(mintPort, '127.0.0.1');
