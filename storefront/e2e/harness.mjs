// The browser tests' harness: the real bistro server on a free port, on one
// store pair, and headless Chromium (Debian's, through playwright-core) that
// may reach 127.0.0.1 and nothing else.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');

export const CHROMIUM = process.env.BISTRO_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const DEMO_PASSWORD = 'bistro-demo';
export const STAFF_EMAIL = 'staff@bistro.test';
const TOKEN_SECRET = 'bistro-e2e-signing-secret-0123456789abcdef';

/**
 * Sends one of the storefront's own operations (its name, as in
 * src/operations/) by its documentId, as the page does: the servers these
 * tests start run only the documents of the storefront's manifest
 * (graphql.trusted_documents_only). Returns the response's JSON.
 */
export async function sendOperation(request, base, name, variables, token) {
  const manifest = JSON.parse(readFileSync(join(here, '..', 'src', 'generated', 'persisted-documents.json'), 'utf8'));
  const found = Object.entries(manifest).find(([, body]) => new RegExp(`(query|mutation) ${name}\\b`).test(body));
  if (!found) throw new Error(`no operation ${name} in the storefront's manifest`);
  const response = await request.post(`${base}/graphql`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    data: { documentId: found[0], operationName: name, variables },
  });
  return response.json();
}

/** The store pairs: always SQLite + in-process; PostgreSQL + Redis unless BISTRO_E2E_PAIRS=sqlite. */
export function storePairs() {
  const wanted = (process.env.BISTRO_E2E_PAIRS ?? 'sqlite,postgres').split(',');
  const pairs = [];
  if (wanted.includes('sqlite')) pairs.push({ name: 'sqlite+memory' });
  if (wanted.includes('postgres')) {
    pairs.push({
      name: 'postgres+redis',
      databaseUrl: process.env.BISTRO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      redisUrl: process.env.BISTRO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    });
  }
  return pairs;
}

/** Builds the server binary (debug, as `cargo run` does) and returns its path. */
export function buildServer() {
  const target = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
  execFileSync('cargo', ['build', '--quiet', '--locked', '--bin', 'bistro'], { cwd: repo, stdio: 'inherit' });
  return join(resolve(repo, target), 'debug', 'bistro');
}

function psql(adminUrl, sql) {
  execFileSync('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Starts the server on fresh stores of `pair`: a temporary SQLite file, or a
 * new PostgreSQL database and a new Redis key prefix (both removed by `stop`).
 */
export async function startServer(binary, pair, extraEnv = {}) {
  const id = randomBytes(6).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'bistro-e2e-'));
  // The server's configuration is only what is set here (no BISTRO_* of the caller's).
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BISTRO_')));
  const env = {
    ...inherited,
    BISTRO_LISTEN: '127.0.0.1:0',
    BISTRO_ENVIRONMENT: 'development',
    BISTRO_LOG_FORMAT: 'json',
    BISTRO_AUTH__TOKEN_SECRET: TOKEN_SECRET,
    BISTRO_MAIL__MAILBOX_DIR: join(dir, 'mailbox'),
    // As production should run: only the documents of the storefront's
    // manifest, so a page that sent anything else would fail here.
    BISTRO_GRAPHQL__TRUSTED_DOCUMENTS_ONLY: 'true',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    ...extraEnv,
  };
  let cleanup = () => {};
  if (pair.databaseUrl) {
    const database = `bistro_e2e_${id}`;
    psql(pair.databaseUrl, `CREATE DATABASE ${database}`);
    const url = new URL(pair.databaseUrl);
    url.pathname = `/${database}`;
    const prefix = `bistro-e2e:${id}:`;
    env.BISTRO_DATABASE_URL = url.toString();
    env.BISTRO_REDIS_URL = pair.redisUrl;
    env.BISTRO_KV__KEY_PREFIX = prefix;
    cleanup = () => {
      try {
        psql(pair.databaseUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } catch (error) {
        console.error(`dropping ${database}: ${error}`);
      }
      const redis = new URL(pair.redisUrl);
      const args = ['-h', redis.hostname, '-p', redis.port || '6379'];
      const keys = execFileSync('redis-cli', [...args, '--scan', '--pattern', `${prefix}*`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      for (let i = 0; i < keys.length; i += 500) execFileSync('redis-cli', [...args, 'del', ...keys.slice(i, i + 500)]);
    };
  } else {
    env.BISTRO_DATABASE_URL = `sqlite://${join(dir, 'bistro.db')}`;
    env.BISTRO_REDIS_URL = '';
  }
  const child = spawn(binary, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // However the test run ends, the server ends with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const log = [];
  const lines = [createInterface({ input: child.stdout }), createInterface({ input: child.stderr })];
  const started = new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${log.join('\n')}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${log.join('\n')}`)));
    const read = (line) => {
      log.push(line);
      try {
        const entry = JSON.parse(line);
        if ((entry.fields ?? entry).message === 'Bistro is listening') {
          clearTimeout(timer);
          resolvePromise((entry.fields ?? entry).addr);
        }
      } catch {
        // not a log line of ours
      }
    };
    for (const input of lines) input.on('line', read);
  });
  let address;
  try {
    address = await started;
  } catch (error) {
    // A server that never said where it listens is stopped, and its stores removed.
    child.kill('SIGKILL');
    cleanup();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const base = `http://${address}`;
  return {
    base,
    log,
    /** The folder the server delivers email to (`.eml` files). */
    mailbox: env.BISTRO_MAIL__MAILBOX_DIR,
    async stop() {
      process.removeListener('exit', killOnExit);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a URL stays on this machine's loopback address. */
export function isLocal(url) {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
    return hostname === '127.0.0.1';
  } catch {
    return false;
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Belt and braces under the route interception below: no host name
      // resolves, so nothing but 127.0.0.1 can be reached at all.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
}

/**
 * A browser context (a person: own storage) in which every request that
 * leaves 127.0.0.1 is refused and remembered in `refused`, and every page
 * error, console error and CSP violation is remembered in `problems`.
 */
export async function newPerson(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-GB' });
  const refused = [];
  const problems = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    refused.push(url);
    return route.abort('blockedbyclient');
  });
  await context.routeWebSocket((url) => !isLocal(url.toString()), (ws) => {
    refused.push(ws.url());
    ws.close();
  });
  context.on('page', (page) => watch(page, problems));
  return { context, refused, problems };
}

function watch(page, problems) {
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[0-9]/.test(message.text())) {
      problems.push(`console error: ${message.text()}`);
    }
  });
}

let axeSource;
/** Runs axe-core in the page; returns its violations. */
export async function axe(page) {
  axeSource ??= readFileSync(join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, which the page's
  // Content-Security-Policy does not govern (an injected <script> it would refuse).
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
}

/**
 * localstripe (a stateful server speaking Stripe's API, with a stand-in of
 * Stripe.js at /js.stripe.com/v3/) for the browser tests of the Stripe
 * checkout, as the Rust suite runs it: at BISTRO_TEST_STRIPE_URL (started
 * there unless something answers) and/or with the command
 * BISTRO_TEST_LOCALSTRIPE. Resolves to `{ url, stop }`, or `null` when
 * neither is set (the tests then say they did not run).
 */
export async function startLocalstripe() {
  const wanted = process.env.BISTRO_TEST_STRIPE_URL;
  const command = process.env.BISTRO_TEST_LOCALSTRIPE;
  if (!wanted && !command) return null;
  const answers = async (url) => {
    try {
      return (await fetch(`${url}/js.stripe.com/v3/`)).ok;
    } catch {
      return false;
    }
  };
  let url = wanted?.replace(/\/$/, '');
  if (url && (await answers(url))) return { url, stop: async () => {} };
  if (!url) {
    const { createServer } = await import('node:net');
    const port = await new Promise((resolvePort) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address();
        probe.close(() => resolvePort(free));
      });
    });
    url = `http://127.0.0.1:${port}`;
  }
  const port = new URL(url).port;
  const child = spawn(command ?? 'localstripe', ['--port', port, '--from-scratch'], { stdio: 'ignore' });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  for (let i = 0; i < 300; i += 1) {
    if (await answers(url)) {
      return {
        url,
        async stop() {
          process.removeListener('exit', killOnExit);
          child.kill('SIGTERM');
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`localstripe did not answer at ${url} within 30 seconds`);
}

/** The server's settings for paying through localstripe at `url`. */
export function stripeEnv(url) {
  return {
    BISTRO_PAYMENTS__PROVIDER: 'stripe',
    BISTRO_PAYMENTS__STRIPE_SECRET_KEY: 'sk_test_bistro_e2e',
    BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY: 'pk_test_bistro_e2e',
    BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET: 'whsec_bistro_e2e',
    BISTRO_PAYMENTS__STRIPE_API_BASE: url,
    BISTRO_PAYMENTS__STRIPE_JS_URL: `${url}/js.stripe.com/v3/`,
  };
}
