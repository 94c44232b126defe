// A real browser through SSO: headless Chromium (Debian's, driven by playwright-core; no
// browser download) opens a first-party client's authorize URL, signs in on Tessera's
// page, lands on the client's redirect with a code; then a third-party client's authorize
// URL goes straight to consent (no second login: SSO), and Allow lands with a code.
// The first client redeems its code, so the logout's "Signed out" page loads its
// front-channel logout page in a frame. Screenshots of every page go to SCREENSHOTS.
// Usage: node browser.mjs ISSUER USERNAME PASSWORD SCREENSHOTS WEB_SECRET
import { chromium } from 'playwright-core';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

const [issuer, username, password, shots, webSecret] = process.argv.slice(2);
const verifiers = {};
const callback = 'http://127.0.0.1:9/';

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

function authorizeUrl(clientId, scope) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  verifiers[clientId] = verifier;
  const url = new URL('/oauth/authorize', issuer);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: `${callback}${clientId}`,
    scope,
    state: `state-${clientId}`,
    nonce: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
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
  // The clients' redirect URIs: answered here, recording where the browser arrived.
  await page.route(`${callback}**`, (route) => {
    landed.push(new URL(route.request().url()));
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>back at the client</p>' });
  });

  const response = await page.goto(authorizeUrl('web', 'openid profile'));
  check(response.headers()['x-frame-options'] === 'DENY', 'the login page refuses framing');
  check(await page.getByRole('heading', { name: 'Sign in' }).isVisible(), 'Chromium shows the login page');
  check((await page.textContent('body')).includes('Orders'), "the login page names the client");
  await page.screenshot({ path: `${shots}/login.png`, fullPage: true });

  await page.getByLabel('Username or e-mail').fill(username);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  check((await alert.textContent()).includes('not correct'), 'a wrong password is reported on the page');
  check(await page.getByLabel('Password').getAttribute('aria-describedby') === 'login-error', 'the error is tied to the fields');
  await page.screenshot({ path: `${shots}/login-error.png`, fullPage: true });

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${callback}**`);
  const first = landed.at(-1);
  check(first.pathname === '/web' && first.searchParams.get('code') && first.searchParams.get('state') === 'state-web',
    'after sign-in the browser lands on the client with a code and its state');

  // The client redeems its code: it now takes part in the session (front-channel logout).
  const redeemed = await fetch(new URL('/oauth/token', issuer), {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`web:${webSecret}`).toString('base64')}` },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: first.searchParams.get('code'),
      redirect_uri: `${callback}web`, code_verifier: verifiers.web,
    }),
  });
  check(redeemed.status === 200, 'the client redeems its code');

  // SSO: the second client does not ask for a password, only for consent.
  await page.goto(authorizeUrl('partner', 'openid email'));
  check(await page.getByRole('heading', { name: /Allow/ }).isVisible(), 'a third-party client gets the consent page, no login');
  check((await page.textContent('body')).includes(`Signed in as ${username}`), 'consent says who is signed in');
  await page.screenshot({ path: `${shots}/consent.png`, fullPage: true });
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${callback}partner**`);
  const second = landed.at(-1);
  check(second.searchParams.get('code') && second.searchParams.get('state') === 'state-partner',
    'Allow lands on the second client with a code');

  // The account page, through the same session.
  await page.goto(new URL('/account', issuer).toString());
  check(await page.getByRole('button', { name: 'Log out everywhere' }).isVisible(), 'the account page shows the signed-in user');
  await page.screenshot({ path: `${shots}/account.png`, fullPage: true });

  // A logout without the relying party's ID token asks first; confirming signs out.
  await page.goto(new URL('/oauth/logout?client_id=web', issuer).toString());
  check(await page.getByRole('heading', { name: 'Sign out of Tessera?' }).isVisible(), 'a logout without an ID token hint asks first');
  await page.screenshot({ path: `${shots}/logout.png`, fullPage: true });
  await page.getByRole('button', { name: 'Sign out' }).click();
  check(await page.getByRole('heading', { name: 'Signed out' }).isVisible(), 'confirming signs the browser out');
  // The frame loads after the page: wait for it (at most 10 s).
  let frame;
  for (let i = 0; i < 100 && !frame; i++) {
    frame = page.frames().find((f) => f.url().startsWith(`${callback}fc`));
    if (!frame) await page.waitForTimeout(100);
  }
  check(frame !== undefined && new URL(frame.url()).searchParams.get('iss') === issuer
    && new URL(frame.url()).searchParams.get('sid'),
    'the signed-out page loads the client\'s front-channel logout page with iss and sid');
  await page.screenshot({ path: `${shots}/signed-out.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 760 });
  await page.screenshot({ path: `${shots}/signed-out-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1024, height: 720 });
  await page.goto(authorizeUrl('web', 'openid'));
  check(await page.getByRole('heading', { name: 'Sign in' }).isVisible(), 'after the logout the login page shows again');

  // Sign-up through the mail (when run.sh started an SMTP server): the sign-up page, the
  // link's page asking for the password chosen, confirmation, sign-in; the forgot page.
  if (process.env.MAILDIR) {
    await page.goto(new URL('/account/signup', issuer).toString());
    await page.screenshot({ path: `${shots}/signup.png`, fullPage: true });
    await page.getByLabel('E-mail', { exact: true }).fill('newcomer@example.com');
    await page.getByLabel('Password').fill('a browser chosen password');
    await page.getByRole('button', { name: 'Create the account' }).click();
    check((await page.textContent('body')).includes('Check your e-mail'), 'sign-up answers at once');
    let link = null;
    for (let i = 0; i < 100 && !link; i++) {
      const dir = `${process.env.MAILDIR}/new`;
      for (const file of (() => { try { return readdirSync(dir); } catch { return []; } })()) {
        const body = readFileSync(`${dir}/${file}`, 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
        const found = body.match(/\/account\/verify\?token=[A-Za-z0-9_-]+/);
        if (found) link = new URL(found[0], issuer).toString();
      }
      if (!link) await new Promise((r) => setTimeout(r, 50));
    }
    check(link, 'the verification link arrived by mail');
    await page.goto(link);
    check((await page.textContent('body')).includes('Enter the password you chose'), "the link's page asks for the password chosen at sign-up");
    await page.screenshot({ path: `${shots}/verify.png`, fullPage: true });
    await page.getByLabel('Password').fill('not the chosen one');
    await page.getByRole('button', { name: 'Confirm' }).click();
    check((await page.getByRole('alert').textContent()).includes('not the password chosen'), 'another password confirms nothing');
    await page.getByLabel('Password').fill('a browser chosen password');
    await page.getByRole('button', { name: 'Confirm' }).click();
    check(await page.getByRole('heading', { name: 'Address confirmed' }).isVisible(), 'the chosen password confirms the address');
    await page.goto(new URL('/account/forgot', issuer).toString());
    await page.screenshot({ path: `${shots}/forgot.png`, fullPage: true });
  }

  // Phone width, and the error page.
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
  const small = await phone.newPage();
  await small.goto(authorizeUrl('web', 'openid'));
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  check(!overflow, 'the login page fits a phone width');
  await small.screenshot({ path: `${shots}/login-phone.png`, fullPage: true });
  const bad = await small.goto(authorizeUrl('ghost', 'openid'));
  check(bad.status() === 400 && (await small.textContent('body')).includes('Unknown client'), 'an unknown client gets an error page, no redirect');
  await small.screenshot({ path: `${shots}/error.png`, fullPage: true });
} finally {
  await browser.close();
}
console.log('browser interop passed');
