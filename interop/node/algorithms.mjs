// Every signing algorithm, verified by a third party: for RS256, PS256, ES256 and EdDSA a
// Tessera server is started with that algorithm, a token obtained, and panva's jose
// verifies it against the published JWKS (algorithm pinned, issuer and audience checked).
// With BAO_ADDR and BAO_TOKEN set (run.sh starts `bao server -dev` when `bao` is
// installed), the same again with keys.backend = vault-transit: the signature is made
// inside OpenBao's transit engine, by a key of the matching type.
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

async function serve(dir, alg, extraEnv) {
  const child = spawn(bin, ['--data-dir', dir, '--output', 'json', 'serve', '--bind', '127.0.0.1:0'], {
    env: { ...process.env, ...extraEnv, TESSERA_TOKENS__ALGORITHM: alg, TESSERA_LOG_FILTER: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve) => lines.once('line', resolve));
  return { child, url: JSON.parse(first).listening };
}

const transitTypes = { RS256: 'rsa-2048', PS256: 'rsa-2048', ES256: 'ecdsa-p256', EdDSA: 'ed25519' };
const backends = [{ name: 'local', env: () => ({}) }];
if (process.env.BAO_ADDR && process.env.BAO_TOKEN) {
  const bao = (path, body) =>
    fetch(`${process.env.BAO_ADDR}/v1/${path}`, {
      method: 'POST',
      headers: { 'X-Vault-Token': process.env.BAO_TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await bao('sys/mounts/transit', { type: 'transit' });
  for (const [alg, type] of Object.entries(transitTypes)) {
    const res = await bao(`transit/keys/interop-${alg.toLowerCase()}`, { type });
    check(res.ok, `OpenBao transit key for ${alg} (${type})`);
  }
  backends.push({
    name: 'vault-transit',
    env: (alg) => ({
      TESSERA_KEYS__BACKEND: 'vault-transit',
      TESSERA_VAULT__ADDR: process.env.BAO_ADDR,
      TESSERA_VAULT__TOKEN: process.env.BAO_TOKEN,
      TESSERA_VAULT__TRANSIT_KEY: `interop-${alg.toLowerCase()}`,
    }),
  });
} else {
  console.log('SKIP: no BAO_ADDR/BAO_TOKEN, transit-signed tokens not checked');
}

for (const backend of backends)
for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
  const dir = mkdtempSync(join(tmpdir(), `tessera-${alg}-`));
  const { child, url } = await serve(dir, alg, backend.env(alg));
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
    check(protectedHeader.alg === alg && payload.user_id === 1, `jose verifies an ${alg} access token from the JWKS (${backend.name})`);
    const [h, p, s] = access.split('.');
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    let refused = false;
    try {
      await jwtVerify(flipped, createLocalJWKSet(jwks), { algorithms: [alg] });
    } catch {
      refused = true;
    }
    check(refused && decodeProtectedHeader(flipped).alg === alg, `jose refuses a tampered ${alg} signature (${backend.name})`);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log('algorithm interop passed');
