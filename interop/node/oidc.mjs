// panva's openid-client (v6) and jose against a live Tessera: discovery, authorization
// code + PKCE (the login form posted like a browser would), ID token verification with
// jose from the JWKS, userinfo, refresh (with a new ID token, OIDC Core §12.2), client
// credentials, introspection, revocation, pushed and signed authorization requests
// (PAR, JAR: the client `jar` signs with an ES256 key of jose's, published at this
// script's listener as its jwks_uri), and RP-initiated logout whose back-channel logout
// token arrives at that listener and is verified with jose.
// Usage: node oidc.mjs ISSUER WEB_SECRET SERVICE_SECRET USERNAME PASSWORD PORT JAR_SECRET
import * as client from 'openid-client';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { createServer } from 'node:http';

const [issuer, webSecret, serviceSecret, username, password, bcPort, jarSecret] = process.argv.slice(2);

// The `jar` client's request-object key: its public half is the JWKS at
// http://127.0.0.1:PORT/jwks.json (registered as the client's jwks_uri).
const jarKey = await generateKeyPair('ES256', { extractable: true });
const jarJwk = { ...(await exportJWK(jarKey.publicKey)), kid: 'node-jar-1', use: 'sig' };

// The client's back-channel logout endpoint (registered as http://127.0.0.1:PORT/bc).
const logoutTokens = [];
const listener = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    const form = new URLSearchParams(body);
    if (req.method === 'POST' && req.url === '/bc'
        && req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
      logoutTokens.push(form.get('logout_token'));
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    } else if (req.method === 'GET' && req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jarJwk] }));
    } else {
      res.writeHead(400).end();
    }
  });
});
await new Promise((resolve) => listener.listen(Number(bcPort), '127.0.0.1', resolve));
const redirectUri = 'http://127.0.0.1:9/callback';

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

// Plain http on loopback: openid-client insists on https unless told otherwise.
const insecure = { execute: [client.allowInsecureRequests] };
const web = await client.discovery(new URL(issuer), 'web', webSecret, undefined, insecure);
const meta = web.serverMetadata();
check(meta.issuer === issuer, 'openid-client discovers the issuer');
check(meta.code_challenge_methods_supported.includes('S256'), 'discovery offers PKCE S256');

// Authorization code + PKCE.
const verifier = client.randomPKCECodeVerifier();
const challenge = await client.calculatePKCECodeChallenge(verifier);
const state = client.randomState();
const nonce = client.randomNonce();
const authUrl = client.buildAuthorizationUrl(web, {
  redirect_uri: redirectUri,
  scope: 'openid profile email',
  code_challenge: challenge,
  code_challenge_method: 'S256',
  state,
  nonce,
});

// The browser part: the login page, its hidden fields and cookies, the form post.
const page = await fetch(authUrl, { redirect: 'manual' });
check(page.status === 200, 'the authorize URL shows the login page');
const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
const html = await page.text();
const unescape = (s) => s.replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
const form = new URLSearchParams();
for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
  form.append(unescape(m[1]), unescape(m[2]));
}
form.append('username', username);
form.append('password', password);
const posted = await fetch(new URL('/oauth/authorize/login', issuer), {
  method: 'POST',
  body: form,
  headers: { cookie: cookies },
  redirect: 'manual',
});
check(posted.status === 303, 'the login form redirects back to the client');
const callback = new URL(posted.headers.get('location'));
const session = posted.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

const tokens = await client.authorizationCodeGrant(web, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
});
const idClaims = tokens.claims();
check(idClaims.sub === '1' && idClaims.aud === 'web', 'openid-client validates the ID token (state, nonce, iss, aud)');

const jwks = createRemoteJWKSet(new URL(meta.jwks_uri), { });
const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, { issuer, audience: 'web' });
check(payload.nonce === nonce && protectedHeader.typ === 'JWT', 'jose verifies the ID token from the JWKS');
const access = await jwtVerify(tokens.access_token, jwks, { issuer, audience: 'web', typ: 'at+jwt' });
check(access.payload.client_id === 'web', 'jose verifies the RFC 9068 access token, for the client');
// It is for `web`, not for the services of the Django API's audience, nor for that API.
let otherAudience = '';
try {
  await jwtVerify(tokens.access_token, jwks, { issuer, audience: 'tessera', typ: 'at+jwt' });
} catch (e) {
  otherAudience = e.code;
}
check(otherAudience === 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'jose refuses it for the tessera audience');
const me = await fetch(new URL('/auth/users/me/', issuer), {
  headers: { authorization: `Bearer ${tokens.access_token}` },
});
check(me.status === 401 && me.headers.get('www-authenticate') !== null,
  'the Django user API refuses a client\'s token');

const info = await client.fetchUserInfo(web, tokens.access_token, idClaims.sub);
check(info.email === `${username}@example.com`, 'userinfo answers with the email scope');

const refreshed = await client.refreshTokenGrant(web, tokens.refresh_token);
check(refreshed.access_token !== tokens.access_token, 'refresh rotates');
const again = refreshed.claims();
check(again !== undefined && again.sub === idClaims.sub && again.auth_time === idClaims.auth_time
  && again.sid === idClaims.sid && again.nonce === undefined,
  'the refresh brings a new ID token of the same sign-in, validated by openid-client');
let reused = false;
try {
  await client.refreshTokenGrant(web, tokens.refresh_token);
} catch (e) {
  reused = e.error === 'invalid_grant';
}
check(reused, 'a reused refresh token is refused with invalid_grant');

// A service: client credentials, introspection and revocation.
const svc = await client.discovery(new URL(issuer), 'billing', serviceSecret, undefined, insecure);
const cc = await client.clientCredentialsGrant(svc, { scope: 'read:orders' });
check(cc.scope === 'read:orders' && !cc.refresh_token, 'client credentials give a scoped token, no refresh token');
const live = await client.tokenIntrospection(svc, cc.access_token);
check(live.active === true && live.client_id === 'billing', 'introspection says active');
await client.tokenRevocation(svc, cc.access_token);
const dead = await client.tokenIntrospection(svc, cc.access_token);
check(dead.active === false, 'after revocation introspection says inactive');
const gone = await client.tokenIntrospection(svc, refreshed.refresh_token);
check(gone.active === false, 'the family ended by reuse detection is inactive');
// Pushed authorization request (RFC 9126): openid-client pushes the request and builds
// the URL with its request_uri; the browser (signed in already) comes straight back.
const parVerifier = client.randomPKCECodeVerifier();
const parState = client.randomState();
const parUrl = await client.buildAuthorizationUrlWithPAR(web, {
  redirect_uri: redirectUri,
  scope: 'openid',
  code_challenge: await client.calculatePKCECodeChallenge(parVerifier),
  code_challenge_method: 'S256',
  state: parState,
});
check(parUrl.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:')
  && !parUrl.searchParams.has('state'), 'openid-client pushes the request (PAR) and sends only its request_uri');
const parBack = await fetch(parUrl, { headers: { cookie: session }, redirect: 'manual' });
check(parBack.status === 302, 'the pushed request signs the browser in (SSO)');
const parTokens = await client.authorizationCodeGrant(web, new URL(parBack.headers.get('location')), {
  pkceCodeVerifier: parVerifier,
  expectedState: parState,
});
check(parTokens.claims().sub === idClaims.sub, 'openid-client completes the PAR flow');

// Signed request objects (JAR, RFC 9101): openid-client signs the request with the jar
// client's key (jose); Tessera fetches the key from the client's jwks_uri. The client
// requires signed objects, so its plain requests are refused.
check(meta.request_parameter_supported === true
  && meta.request_object_signing_alg_values_supported.includes('ES256'), 'discovery offers signed request objects');
const jar = await client.discovery(new URL(issuer), 'jar', jarSecret, undefined, insecure);
const jarVerifier = client.randomPKCECodeVerifier();
const jarState = client.randomState();
const jarNonce = client.randomNonce();
const jarParams = {
  redirect_uri: 'http://127.0.0.1:9/jar',
  scope: 'openid profile',
  code_challenge: await client.calculatePKCECodeChallenge(jarVerifier),
  code_challenge_method: 'S256',
  state: jarState,
  nonce: jarNonce,
};
const signingKey = { key: jarKey.privateKey, kid: 'node-jar-1' };
const jarUrl = await client.buildAuthorizationUrlWithJAR(jar, jarParams, signingKey);
check(jarUrl.searchParams.has('request') && !jarUrl.searchParams.has('state'),
  'openid-client sends the request as a signed request object');
const jarBack = await fetch(jarUrl, { headers: { cookie: session }, redirect: 'manual' });
check(jarBack.status === 302, 'the signed request object signs the browser in (SSO)');
const jarTokens = await client.authorizationCodeGrant(jar, new URL(jarBack.headers.get('location')), {
  pkceCodeVerifier: jarVerifier,
  expectedState: jarState,
  expectedNonce: jarNonce,
});
check(jarTokens.claims().nonce === jarNonce, "the request object's nonce reaches the ID token");
const plainJar = await fetch(client.buildAuthorizationUrl(jar, jarParams), { headers: { cookie: session }, redirect: 'manual' });
const plainError = new URL(plainJar.headers.get('location')).searchParams.get('error');
check(plainJar.status === 302 && plainError === 'invalid_request',
  'a client that requires signed request objects gets no code for a plain request');
const otherKey = await generateKeyPair('ES256');
const forgedUrl = await client.buildAuthorizationUrlWithJAR(jar, jarParams, { key: otherKey.privateKey, kid: 'node-jar-1' });
const forged = await fetch(forgedUrl, { headers: { cookie: session }, redirect: 'manual' });
check(new URL(forged.headers.get('location')).searchParams.get('error') === 'invalid_request_object',
  'a request object signed by another key is invalid_request_object');
// JAR inside PAR: the signed object pushed, then sent by its request_uri.
const pushedJar = await client.buildAuthorizationUrlWithJAR(jar, { ...jarParams, state: 'pushed-jar' }, signingKey);
const jarParUrl = await client.buildAuthorizationUrlWithPAR(jar, { request: pushedJar.searchParams.get('request') });
const jarParBack = await fetch(jarParUrl, { headers: { cookie: session }, redirect: 'manual' });
const jarParCode = new URL(jarParBack.headers.get('location'));
check(jarParBack.status === 302 && jarParCode.searchParams.get('state') === 'pushed-jar'
  && jarParCode.searchParams.has('code'), 'a signed request object pushed to /oauth/par');

// RP-initiated logout, the URL built by openid-client; the session's client hears of it
// on the back channel with a logout token jose verifies.
const endSession = client.buildEndSessionUrl(web, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: 'http://127.0.0.1:9/bye',
  state: 'bye-state',
});
const out = await fetch(endSession, { headers: { cookie: session }, redirect: 'manual' });
// The client also has a front-channel logout page: the signed-out page frames it, then
// goes back to the registered post-logout URI.
const outPage = await out.text();
check(out.status === 200 && outPage.includes('content="2;url=http://127.0.0.1:9/bye?state=bye-state"')
  && outPage.includes('<iframe src="http://127.0.0.1:9/fc?iss='),
  'RP-initiated logout with the ID token frames the front-channel page, then returns to the registered post-logout URI');
for (let i = 0; i < 150 && logoutTokens.length === 0; i++) {
  await new Promise((r) => setTimeout(r, 100));
}
check(logoutTokens.length === 1, 'a back-channel logout token arrived');
const logout = await jwtVerify(logoutTokens[0], jwks, {
  issuer, audience: 'web', typ: 'logout+jwt', maxTokenAge: '2m',
});
check(logout.payload.sub === idClaims.sub && logout.payload.sid === idClaims.sid
  && logout.payload.nonce === undefined && logout.payload.jti
  && typeof logout.payload.events?.['http://schemas.openid.net/event/backchannel-logout'] === 'object',
  'jose verifies the logout token: typ logout+jwt, sub, sid, events, no nonce');
listener.close();
console.log('node interop passed');
