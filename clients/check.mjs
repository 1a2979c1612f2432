// Persisted documents with the real clients, against the real server.
//
// 1. Automatic persisted queries: Apollo Client 4 (@apollo/client 4.3.8)
//    with its persisted-queries link (`PersistedQueryLink`, SHA-256 from
//    node:crypto, `useGETForHashedQueries`) against a server with APQ on
//    (SQLite + in-process store): the first query goes out as a hash over
//    GET, is told `PersistedQueryNotFound`, and the link registers it with
//    a POST of the text and the hash; a second client then hits by hash
//    over GET, answered `Cache-Control: public` with an `ETag`, and curl
//    with `If-None-Match` gets `304 Not Modified`.
// 2. Trusted documents: Apollo's manifest generator
//    (@apollo/generate-persisted-query-manifest 1.4.0, run by run.sh) wrote
//    persisted-query-manifest.json from src/; a server with
//    graphql.trusted_documents_only refuses the client's hash until
//    `bistro documents add` registers the manifest, then serves it to
//    @apollo/persisted-query-lists 1.1.0 (ids from the manifest, verified
//    by its verification link); a document in no manifest stays refused.
//
// 3. GraphQL over HTTP: graphql-http's audits (graphql-http 1.23.1), the
//    spec's reference conformance suite, against the server.
//
// What each client sent is compared with tests/operations/persisted/ (the
// Rust suite replays those copies on both store pairs); BISTRO_RECORD=1
// writes them instead. Any difference fails the check.

import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import {
  createPersistedQueryManifestVerificationLink,
  generatePersistedQueryIdsFromManifest,
} from '@apollo/persisted-query-lists';
import { auditServer } from 'graphql-http';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const kept = join(root, 'tests', 'operations', 'persisted');
const record = process.env.BISTRO_RECORD === '1';

const cleanups = [];
let failed = false;

function check(condition, what, detail) {
  if (condition) {
    console.log(`ok: ${what}`);
  } else {
    failed = true;
    console.log(`FAILED: ${what}`);
    if (detail !== undefined) console.log(typeof detail === 'string' ? detail : JSON.stringify(detail, null, 2));
  }
}

function section(title) {
  console.log(`\n== ${title}`);
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

const RESTAURANT_NAMES = gql(readFileSync(join(here, 'src', 'RestaurantNames.graphql'), 'utf8'));
const RESTAURANT_BY_SLUG = gql(readFileSync(join(here, 'src', 'RestaurantBySlug.graphql'), 'utf8'));

/** The server on a fresh SQLite database and the in-process store. */
async function startBistro(extraEnv) {
  const bin = process.env.BISTRO_BIN;
  if (!bin) throw new Error('BISTRO_BIN names the bistro binary (run.sh sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'bistro-clients-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BISTRO_')));
  Object.assign(env, {
    BISTRO_ENVIRONMENT: 'development',
    BISTRO_LISTEN: '127.0.0.1:0',
    BISTRO_DATABASE_URL: `sqlite://${dir}/bistro.db`,
    BISTRO_REDIS_URL: '',
    BISTRO_LOG_FORMAT: 'json',
    BISTRO_AUTH__TOKEN_SECRET: randomBytes(48).toString('base64'),
    BISTRO_MAIL__WORKER: 'false',
    BISTRO_MAIL__MAILBOX_DIR: join(dir, 'mailbox'),
    RUST_LOG: 'info,sqlx=warn,sea_orm=warn',
    ...extraEnv,
  });
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => child.kill('SIGTERM'));
  process.on('exit', () => child.kill('SIGTERM'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => process.exit(130));
  }
  const log = [];
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bistro did not start in 180 s:\n${log.join('\n')}`)), 180_000);
    let pending = '';
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        log.push(line);
        try {
          if (JSON.parse(line).message === 'Bistro is listening') {
            clearTimeout(timer);
            resolve(JSON.parse(line).addr);
          }
        } catch {
          // Not a log line of ours.
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`bistro exited with ${code}:\n${log.join('\n')}`)));
  });
  console.log(`bistro listening on ${addr}`);
  // The `bistro` command on the same database, as an operator runs it.
  const command = (...args) =>
    execFileSync(bin, args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { uri: `http://${addr}/graphql`, base: `http://${addr}`, command };
}

/**
 * A fetch that keeps a verbatim copy of every request: method, path and
 * query string, the headers that matter to the server, the body.
 */
function recordingFetch(sent) {
  return async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const headers = Object.fromEntries(
      [...new Headers(init.headers).entries()].filter(([name]) => ['accept', 'content-type'].includes(name)),
    );
    const entry = { method: init.method ?? 'GET', path: url.pathname + url.search, headers, body: init.body ?? null };
    sent.push(entry);
    const response = await fetch(input, init);
    entry.answer = {
      status: response.status,
      cacheControl: response.headers.get('cache-control'),
      etag: response.headers.get('etag'),
    };
    return response;
  };
}

function apqClient(uri, sent, options = {}) {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      new PersistedQueryLink({ sha256, useGETForHashedQueries: true, ...options }),
      new HttpLink({ uri, fetch: recordingFetch(sent) }),
    ]),
  });
}

async function query(client, document, variables) {
  try {
    return { data: (await client.query({ query: document, variables, fetchPolicy: 'network-only' })).data };
  } catch (error) {
    return { error };
  }
}

const codesOf = (error) => (error?.errors ?? []).map((e) => e.extensions?.code);

/** Compares the requests a client sent with the kept copy (or writes it). */
function keep(name, sent) {
  const file = join(kept, name);
  const copy = sent.map(({ method, path, headers, body }) => ({ method, path, headers, body }));
  const text = `${JSON.stringify(copy, null, 2)}\n`;
  if (record) {
    writeFileSync(file, text);
    console.log(`recorded ${file}`);
    return;
  }
  let previous = '';
  try {
    previous = readFileSync(file, 'utf8');
  } catch {
    // Missing: a difference like any other.
  }
  check(previous === text, `what was sent is tests/operations/persisted/${name} (BISTRO_RECORD=1 rewrites it)`, text);
}

/** Like `keep`, for a text. */
function keepText(name, text) {
  const file = join(kept, name);
  if (record) {
    writeFileSync(file, text);
    console.log(`recorded ${file}`);
    return;
  }
  let previous = '';
  try {
    previous = readFileSync(file, 'utf8');
  } catch {
    // Missing: a difference like any other.
  }
  check(previous === text, `what was sent is tests/operations/persisted/${name} (BISTRO_RECORD=1 rewrites it)`, text);
}

async function automaticPersistedQueries() {
  section('automatic persisted queries: Apollo Client 4 and its persisted-queries link');
  const bistro = await startBistro({});
  const first = [];
  const result = await query(apqClient(bistro.uri, first), RESTAURANT_NAMES);
  check(result.data?.restaurants?.edges?.length === 3, 'the query is answered', result);
  check(first.length === 2, 'the link sent two requests: the hash, then the text with it', first);
  check(
    first[0]?.method === 'GET' && first[0]?.path.includes('persistedQuery') && !first[0]?.path.includes('query=') &&
      first[0]?.answer.status === 400,
    'first: the hash alone over GET, answered PersistedQueryNotFound (400 under graphql-response+json)',
    first[0],
  );
  check(
    first[1]?.method === 'POST' && JSON.parse(first[1]?.body ?? '{}').query?.includes('RestaurantNames') &&
      first[1]?.answer.status === 200,
    'then: the text and its hash over POST, registered and answered',
    first[1],
  );
  const second = [];
  const again = await query(apqClient(bistro.uri, second), RESTAURANT_NAMES);
  check(again.data?.restaurants?.edges?.length === 3, 'a second client hits by hash', again);
  check(second.length === 1 && second[0].method === 'GET' && second[0].answer.status === 200, 'one GET, no text', second);
  check(second[0]?.answer.cacheControl === 'public, max-age=300', 'a public read: Cache-Control: public, max-age=300', second[0]);
  const etag = second[0]?.answer.etag;
  check(/^"[0-9a-f]{32}"$/.test(etag ?? ''), 'with an ETag', etag);

  section('curl with If-None-Match');
  const url = `${bistro.base}${second[0].path}`;
  const curl = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, url];
  const status = execFileSync('curl', curl, { encoding: 'utf8' });
  check(status === '304', `curl ${curl.map((a) => (a.includes(' ') || a.includes('%') ? `'${a}'` : a)).join(' ')}: 304 Not Modified`, status);
  keep('apollo-apq.json', [...first, ...second]);
  keepText(
    'curl-if-none-match.txt',
    `# What curl sent for the 304 (the server's address left out; the tag is the hit's).\ncurl -H 'If-None-Match: ${etag}' '${second[0].path}'\n`,
  );
}

async function trustedDocuments() {
  section('trusted documents: Apollo\'s manifest and @apollo/persisted-query-lists');
  const manifestFile = join(here, 'persisted-query-manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  check(
    manifest.format === 'apollo-persisted-query-manifest' && manifest.operations.every((o) => o.id === sha256(o.body)),
    'the generator wrote SHA-256 ids of the bodies',
    manifest,
  );
  const bistro = await startBistro({
    BISTRO_GRAPHQL__TRUSTED_DOCUMENTS_ONLY: 'true',
    BISTRO_GRAPHQL__TRUSTED_DOCUMENTS_REFRESH_MS: '100',
  });
  const sent = [];
  const verificationFailures = [];
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      createPersistedQueryManifestVerificationLink({
        loadManifest: () => manifest,
        onVerificationFailed: (details) => verificationFailures.push(details.reason),
      }),
      new PersistedQueryLink({
        ...generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }),
        useGETForHashedQueries: true,
      }),
      new HttpLink({ uri: bistro.uri, fetch: recordingFetch(sent) }),
    ]),
  });
  const refused = await query(client, RESTAURANT_NAMES);
  check(
    codesOf(refused.error).includes('DOCUMENT_NOT_TRUSTED'),
    'before the manifest is registered, its hash is refused: DOCUMENT_NOT_TRUSTED',
    refused,
  );
  check(sent.length === 1, 'and the link does not register it (no retry with the text)', sent);
  const added = bistro.command('documents', 'add', manifestFile, '--client', 'apollo-web');
  check(/client apollo-web: 2 documents in .*, 2 new/.test(added), `bistro documents add: ${added.trim()}`, added);
  const deadline = Date.now() + 10_000;
  let served;
  do {
    sent.length = 0;
    served = await query(client, RESTAURANT_NAMES);
  } while (!served.data && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 100))) === undefined);
  check(served.data?.restaurants?.edges?.length === 3, 'the running server learned of it and serves the hash', served);
  check(sent.length === 1 && sent[0].method === 'GET', 'one GET by the manifest\'s id', sent);
  const bySlug = await query(client, RESTAURANT_BY_SLUG, { slug: 'tandoor-hughes-1' });
  check(bySlug.data?.restaurant?.name, 'the other operation of the manifest too', bySlug);
  check(verificationFailures.length === 0, 'the verification link found every operation in the manifest', verificationFailures);
  keep('persisted-query-lists.json', sent);
  const listed = bistro.command('documents', 'list');
  check(listed.includes('apollo-web: 2 documents'), 'bistro documents list shows them by client', listed);

  const text = await fetch(bistro.uri, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: '{ restaurants(first: 1) { totalCount } }' }),
  }).then((r) => r.json());
  check(text.errors?.[0]?.extensions?.code === 'DOCUMENT_NOT_TRUSTED', 'a document in no manifest is refused', text);
  if (record) {
    writeFileSync(join(kept, 'apollo-persisted-query-manifest.json'), readFileSync(manifestFile));
  } else {
    check(
      readFileSync(join(kept, 'apollo-persisted-query-manifest.json'), 'utf8') === readFileSync(manifestFile, 'utf8'),
      'the generated manifest is tests/operations/persisted/apollo-persisted-query-manifest.json',
    );
  }
}

/**
 * graphql-http's audits of the GraphQL over HTTP spec (the reference
 * implementation's own conformance suite, as graphql-http.com runs it)
 * against the server: every MUST passes; the SHOULD and MAY results are
 * compared with tests/operations/graphql-http-audit.json, which README
 * *Built on* summarises, so a change in either shows up here.
 */
async function graphqlHttpAudit() {
  section('GraphQL over HTTP: graphql-http\'s server audits');
  const bistro = await startBistro({});
  const results = await auditServer({ url: bistro.uri });
  for (const result of results) {
    if (result.name.startsWith('MUST')) {
      check(result.status === 'ok', result.name, result.status === 'ok' ? undefined : result.reason);
    }
  }
  const summary = {
    graphqlHttp: JSON.parse(readFileSync(join(here, 'node_modules', 'graphql-http', 'package.json'), 'utf8')).version,
    audits: results.length,
    ok: results.filter((r) => r.status === 'ok').length,
    notOk: results
      .filter((r) => r.status !== 'ok')
      .map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
  const file = join(root, 'tests', 'operations', 'graphql-http-audit.json');
  const text = `${JSON.stringify(summary, null, 2)}\n`;
  console.log(`graphql-http ${summary.graphqlHttp}: ${summary.ok} of ${summary.audits} audits ok`);
  if (record) {
    writeFileSync(file, text);
  } else {
    check(readFileSync(file, 'utf8') === text, 'the audit\'s results are tests/operations/graphql-http-audit.json', text);
  }
}

try {
  await automaticPersistedQueries();
  await trustedDocuments();
  await graphqlHttpAudit();
} catch (error) {
  failed = true;
  console.log(`FAILED: ${error.stack ?? error}`);
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      cleanup();
    } catch {
      // Best effort: the process exits next.
    }
  }
}
console.log(failed ? '\nclient checks FAILED' : '\nclient checks passed');
process.exit(failed ? 1 : 0);
