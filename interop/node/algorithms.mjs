// Every signing algorithm, verified by a third party: for RS256, PS256, ES256 and EdDSA a
// Tessera server is started with that algorithm, a token obtained, and panva's jose
// verifies it against the published JWKS (algorithm pinned, issuer and audience checked).
// Usage: node algorithms.mjs path/to/tessera
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const bin = process.argv[2];
const password = 'algorithms-interop-password';

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

function run(args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tessera ${args.join(' ')}: ${code}`))));
    child.stdin.end(input);
  });
}

async function serve(dir, alg) {
  const child = spawn(bin, ['--data-dir', dir, '--output', 'json', 'serve', '--bind', '127.0.0.1:0'], {
    env: { ...process.env, TESSERA_TOKENS__ALGORITHM: alg, TESSERA_LOG_FILTER: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve) => lines.once('line', resolve));
  return { child, url: JSON.parse(first).listening };
}

for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
  const dir = mkdtempSync(join(tmpdir(), `tessera-${alg}-`));
  const { child, url } = await serve(dir, alg);
  try {
    await run(['--data-dir', dir, 'user', 'create', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin'], `${password}\n`);
    const res = await fetch(`${url}/auth/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password }),
    });
    const { access } = await res.json();
    const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
    const { payload, protectedHeader } = await jwtVerify(access, createLocalJWKSet(jwks), {
      issuer: url,
      audience: 'tessera',
      algorithms: [alg],
      typ: 'at+jwt',
    });
    check(protectedHeader.alg === alg && payload.user_id === 1, `jose verifies an ${alg} access token from the JWKS`);
    const [h, p, s] = access.split('.');
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    let refused = false;
    try {
      await jwtVerify(flipped, createLocalJWKSet(jwks), { algorithms: [alg] });
    } catch {
      refused = true;
    }
    check(refused && decodeProtectedHeader(flipped).alg === alg, `jose refuses a tampered ${alg} signature`);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log('algorithm interop passed');
