// Two-step verification in a real browser: headless Chromium (Debian's, driven by
// playwright-core) asks for acr_values=aal2 as a user with the password alone; Tessera
// asks for the password again, shows the enrolment (QR code drawn by Tessera), takes the
// first code computed by Debian's oathtool (an RFC 6238 implementation independent of
// Tessera), shows the recovery codes once, and lands on the client with a code whose ID
// token (checked by jose against the published JWKS) says acr aal2, amr pwd otp mfa. After
// a logout, the next sign-in asks for the second factor: a recovery code completes it. The
// account page's security section shows the authenticator. Screenshots go to SCREENSHOTS.
// Usage: node mfa.mjs ISSUER USERNAME PASSWORD SCREENSHOTS WEB_SECRET
import { chromium } from 'playwright-core';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [issuer, username, password, shots, webSecret] = process.argv.slice(2);
const callback = 'http://127.0.0.1:9/';
let verifier;

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

function authorizeUrl(extra = {}) {
  verifier = randomBytes(32).toString('base64url');
  const url = new URL('/oauth/authorize', issuer);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: 'web', redirect_uri: `${callback}web`,
    scope: 'openid profile', state: 'st', nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256', ...extra,
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
  const landed = [];
  await page.route(`${callback}**`, (route) => {
    landed.push(new URL(route.request().url()));
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>back at the client</p>' });
  });
  const signIn = async () => {
    await page.getByLabel('Username or e-mail').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  // A password-only session first: aal1.
  await page.goto(authorizeUrl());
  await signIn();
  await page.waitForURL(`${callback}**`);
  const first = await idTokenOf(landed.at(-1).searchParams.get('code'));
  check(first.acr === 'aal1' && first.amr.join(' ') === 'pwd', 'a password sign-in is aal1 (amr pwd)');

  // acr_values=aal2: the password again, then enrolment.
  await page.goto(authorizeUrl({ acr_values: 'aal2' }));
  check(await page.getByLabel('Password').isVisible(), 'a step-up to a factor not yet set up asks for the password first');
  await signIn();
  check(await page.getByRole('heading', { name: 'Set up two-step verification' }).isVisible(), 'then the enrolment page');
  check(await page.locator('#totp-qr svg').isVisible(), 'with a QR code drawn by Tessera (inline SVG)');
  await page.screenshot({ path: `${shots}/enrol.png`, fullPage: true });
  const secret = (await page.locator('#totp-secret').textContent()).trim();
  const code = execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
  await page.locator('input[name="code"]').fill(code);
  await page.getByRole('button', { name: 'Turn on' }).click();
  check(await page.getByRole('heading', { name: 'Your recovery codes' }).isVisible(), 'the recovery codes, once');
  const recovery = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
  check(recovery.length === 10, 'ten recovery codes');
  await page.screenshot({ path: `${shots}/recovery-codes.png`, fullPage: true });
  await page.getByRole('button', { name: /continue/ }).click();
  await page.waitForURL(`${callback}**`);
  const stepped = await idTokenOf(landed.at(-1).searchParams.get('code'));
  check(stepped.acr === 'aal2' && stepped.amr.join(' ') === 'pwd otp mfa', 'the ID token says aal2 (amr pwd otp mfa)');

  // The account page's security section.
  await page.goto(new URL('/account', issuer).toString());
  check((await page.locator('#totp-status').textContent()).includes('Authenticator app: added'), 'the account page shows the authenticator');
  await page.screenshot({ path: `${shots}/account-security.png`, fullPage: true });

  // Signed out, the next sign-in asks for the second factor; a recovery code does.
  await page.goto(new URL('/oauth/logout?client_id=web', issuer).toString());
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto(authorizeUrl());
  await signIn();
  check(await page.getByRole('heading', { name: 'Two-step verification' }).isVisible(), 'the next sign-in asks for the second factor');
  await page.screenshot({ path: `${shots}/second-factor.png`, fullPage: true });
  await page.locator('input[name="code"]').fill('0000-0000-0000-0000');
  await page.getByRole('button', { name: 'Verify' }).click();
  check((await page.getByRole('alert').textContent()).includes('not right'), 'a wrong code is reported on the page');
  await page.setViewportSize({ width: 375, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  check(!overflow, 'the second-factor page fits a phone width');
  await page.screenshot({ path: `${shots}/second-factor-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1024, height: 720 });
  await page.locator('input[name="code"]').fill(recovery[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(`${callback}**`);
  const recovered = await idTokenOf(landed.at(-1).searchParams.get('code'));
  check(recovered.acr === 'aal2', 'a recovery code completes the sign-in at aal2');
} finally {
  await browser.close();
}
console.log('two-step verification in the browser passed');
