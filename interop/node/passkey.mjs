// Passkeys in a real browser: headless Chromium (Debian's, driven by playwright-core) with
// a CDP virtual authenticator (resident keys, user verification on) against a Tessera
// served as http://localhost:PORT (browsers refuse an IP address as the relying party
// id). The user signs in with the password on the account page, adds a passkey there
// (the recovery codes show, once), signs out, signs in through an authorization code flow
// with the passkey alone ("Sign in with a passkey"), and the ID token (checked by jose
// against the published JWKS) says acr aal2, amr hwk user mfa. Then a password sign-in
// asks for the second factor, and the passkey gives it. Screenshots go to SCREENSHOTS.
// Usage: node passkey.mjs ISSUER USERNAME PASSWORD SCREENSHOTS WEB_SECRET CALLBACK_PORT
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [issuer, username, password, shots, webSecret, callbackPort] = process.argv.slice(2);
const callback = `http://127.0.0.1:${callbackPort}/`;
// The client's redirect URI: a listener here, recording where the browser arrived.
const landed = [];
const client = createServer((req, res) => {
  const url = new URL(req.url, callback);
  if (url.pathname === '/web') landed.push(url);
  res.writeHead(200, { 'content-type': 'text/html' }).end('<p>back at the client</p>');
});
await new Promise((resolve) => client.listen(Number(callbackPort), '127.0.0.1', resolve));
let verifier;

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

function authorizeUrl() {
  verifier = randomBytes(32).toString('base64url');
  const url = new URL('/oauth/authorize', issuer);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: 'web', redirect_uri: `${callback}web`,
    scope: 'openid', state: 'st', nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

async function idTokenOf(code) {
  const res = await fetch(new URL('/oauth/token', issuer), {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`web:${webSecret}`).toString('base64')}` },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: `${callback}web`, code_verifier: verifier,
    }),
  });
  if (res.status !== 200) console.error(await res.text());
  check(res.status === 200, 'the client redeems its code');
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', issuer));
  const { payload } = await jwtVerify((await res.json()).id_token, jwks, { issuer, audience: 'web' });
  return payload;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1024, height: 720 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  // The password on the account page, then a passkey added there.
  await page.goto(new URL('/account', issuer).toString());
  await page.getByLabel('Username or e-mail').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('#passkey-add').waitFor();
  await page.locator('#passkey-name').fill('Test laptop');
  await page.locator('#passkey-password').fill(password);
  await page.locator('#passkey-add').click();
  await page.locator('#passkey-codes-box').waitFor();
  check((await page.locator('#passkey-codes code').count()) === 10, 'a first passkey shows the recovery codes, once');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  check(credentials.length === 1 && credentials[0].isResidentCredential, 'the authenticator holds one discoverable credential');
  await page.goto(new URL('/account', issuer).toString());
  check((await page.locator('#passkeys').textContent()).includes('Test laptop'), 'the account page lists the passkey by name');
  await page.screenshot({ path: `${shots}/account-passkeys.png`, fullPage: true });

  // Signed out everywhere, then the passkey alone signs in through a code flow.
  await page.getByRole('button', { name: 'Log out everywhere' }).click();
  await page.goto(authorizeUrl());
  check(await page.locator('#passkey-signin').isVisible(), 'the login page offers "Sign in with a passkey"');
  await page.screenshot({ path: `${shots}/login-passkey.png`, fullPage: true });
  // Autofill (conditional mediation) may sign in before the click: either is the passkey.
  await Promise.all([
    page.waitForURL(`${callback}**`),
    page.locator('#passkey-signin').click().catch(() => {}),
  ]);
  const alone = await idTokenOf(landed.at(-1).searchParams.get('code'));
  check(alone.acr === 'aal2' && alone.amr.includes('hwk') && alone.amr.includes('mfa'),
    `the passkey alone is aal2 (amr ${alone.amr.join(' ')})`);

  // A password sign-in now asks for the second factor: the passkey gives it.
  await page.goto(new URL('/oauth/logout?client_id=web', issuer).toString());
  await page.getByRole('button', { name: 'Sign out' }).click();
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await page.goto(authorizeUrl());
  await page.getByLabel('Username or e-mail').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  check(await page.getByRole('heading', { name: 'Two-step verification' }).isVisible(), 'the password is followed by the second-factor page');
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
  await Promise.all([
    page.waitForURL(`${callback}**`),
    page.locator('#passkey-second-factor').click(),
  ]);
  const second = await idTokenOf(landed.at(-1).searchParams.get('code'));
  check(second.acr === 'aal2' && second.amr.includes('pwd') && second.amr.includes('hwk'),
    `a passkey as the second factor is aal2 (amr ${second.amr.join(' ')})`);

  // A cloned authenticator: the same key, its signature counter set back. Refused.
  const { credentials: [used] } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  check(used.signCount >= 2, `the authenticator counted its uses (${used.signCount})`);
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: used.credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...used, signCount: 0 } });
  await page.goto(new URL('/oauth/logout?client_id=web', issuer).toString());
  await page.getByRole('button', { name: 'Sign out' }).click();
  const before = landed.length;
  await page.goto(authorizeUrl());
  await page.locator('#passkey-signin').click();
  const refusal = page.locator('#passkey-error');
  await refusal.waitFor({ state: 'visible' });
  check((await refusal.textContent()).includes('copied') && landed.length === before,
    'a passkey whose counter went backwards (a clone) signs nobody in');
} finally {
  await browser.close();
  client.close();
}
console.log('passkeys in the browser passed');
