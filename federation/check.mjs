// Bistro as an Apollo Federation v2 subgraph, checked with Apollo's own
// libraries against the real server:
//
// 1. composition: `@apollo/composition` composes the committed
//    schema.federation.graphql with the companion subgraph (companion.mjs);
//    any error or hint fails the check;
// 2. the server: the `bistro` binary (BISTRO_BIN) on a fresh SQLite database
//    with the demo data, a free port and a router secret; `_service` and
//    `_entities` without the secret are refused, other requests are not;
// 3. the gateway: `@apollo/gateway` composes the live subgraphs itself
//    (`_service { sdl }`), and answers queries that need both subgraphs,
//    forwarding `Authorization` and sending the secret as a router does;
// 4. what the gateway sent Bistro for `_service` and `_entities` is, byte for
//    byte, what tests/operations/Gateway*.graphql hold (the Rust suite runs
//    those files on both store pairs);
// 5. the cap on `_entities` (`graphql.max_representations`, set here as a
//    deployment would): a gateway's batch of that many representations is
//    one `_entities` call that Bistro answers, one more is refused with
//    MAX_REPRESENTATIONS_EXCEEDED, which reaches the gateway's client.
//
// Run by run.sh (which installs the packages and builds the binary).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { composeServices } from '@apollo/composition';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';

import { deliveryOf, startCompanion, typeDefs as companionTypeDefs } from './companion.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const SECRET_HEADER = 'router-authorization';
const DEMO_PASSWORD = 'bistro-demo';
// `graphql.max_representations`, its default, set explicitly for the server started here.
const MAX_REPRESENTATIONS = 1000;

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

// 1. Composition of the committed subgraph SDL with the companion.
function compose() {
  section('composition (@apollo/composition)');
  const sdl = readFileSync(join(root, 'schema.federation.graphql'), 'utf8');
  const result = composeServices([
    { name: 'bistro', url: 'http://bistro.invalid/graphql', typeDefs: parse(sdl) },
    { name: 'deliveries', url: 'http://deliveries.invalid/graphql', typeDefs: companionTypeDefs },
  ]);
  const errors = (result.errors ?? []).map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
  const hints = (result.hints ?? []).map((h) => `${h.definition.code}: ${h.message}`);
  console.log(`composition errors (${errors.length}):${errors.map((e) => `\n  ${e}`).join('')}`);
  console.log(`composition hints (${hints.length}):${hints.map((h) => `\n  ${h}`).join('')}`);
  check(errors.length === 0, 'schema.federation.graphql composes with the companion subgraph');
  // Every hint so far has pointed at a real inconsistency: none is accepted.
  check(hints.length === 0, 'composition gives no hints');
  if (result.supergraphSdl) {
    const supergraph = result.supergraphSdl;
    check(
      /type Order\s[^{]*@join__type\(graph: BISTRO, key: "id"\)[^{]*@join__type\(graph: DELIVERIES, key: "id"\)/.test(supergraph),
      'the supergraph joins Order from both subgraphs by id',
    );
    check(
      /\breference: String\b[^\n]*@inaccessible/.test(supergraph),
      'the payment reference stays @inaccessible in the supergraph',
    );
  }
  // The rover example composes with the library tested here.
  const { version } = JSON.parse(readFileSync(join(here, 'node_modules/@apollo/composition/package.json'), 'utf8'));
  const example = readFileSync(join(here, 'supergraph.yaml'), 'utf8');
  check(
    example.includes(`federation_version: "=${version}"`),
    `supergraph.yaml composes with federation ${version}, the version tested here`,
  );
  return sdl;
}

// 2. The server.
async function startBistro() {
  const bin = process.env.BISTRO_BIN;
  if (!bin) throw new Error('BISTRO_BIN names the bistro binary (run.sh sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'bistro-federation-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const secret = randomBytes(48).toString('base64');
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
    BISTRO_FEDERATION__ROUTER_SECRET: secret,
    BISTRO_GRAPHQL__MAX_REPRESENTATIONS: String(MAX_REPRESENTATIONS),
    RUST_LOG: 'info,sqlx=warn,sea_orm=warn',
  });
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => child.kill('SIGTERM'));
  // However this process ends (a crash, a closed stdout, ^C), the server ends with it.
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
          const event = JSON.parse(line);
          if (event.message === 'Bistro is listening') {
            clearTimeout(timer);
            resolve(event.addr);
          }
        } catch {
          // Not a log line of ours.
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`bistro exited with ${code}:\n${log.join('\n')}`)));
  });
  console.log(`bistro listening on ${addr}`);
  return { url: `http://${addr}/graphql`, secret, log };
}

async function post(url, query, { variables, headers = {} } = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

async function checkSecret(bistro, committedSdl) {
  section('the router secret');
  const service = '{ _service { sdl } }';
  let r = await post(bistro.url, service);
  check(
    r.status === 401 && r.body.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED' && !('data' in r.body),
    '_service without the secret: 401 UNAUTHENTICATED',
    r,
  );
  r = await post(bistro.url, service, { headers: { [SECRET_HEADER]: 'not-the-secret' } });
  check(r.status === 401, '_service with a wrong secret: 401', r);
  r = await post(bistro.url, '{ restaurants(first: 1) { totalCount } }');
  check(r.status === 200 && r.body.data?.restaurants?.totalCount > 0, 'other requests need no secret', r);
  r = await post(bistro.url, service, { headers: { [SECRET_HEADER]: bistro.secret } });
  check(r.status === 200, '_service with the secret: 200', r.status);
  check(r.body.data?._service?.sdl === committedSdl, 'the server serves schema.federation.graphql');
}

async function signIn(url, email) {
  const r = await post(
    url,
    'mutation($input: LoginInput!) { login(input: $input) { session { accessToken user { id displayName } } userErrors { code } } }',
    { variables: { input: { email, password: DEMO_PASSWORD } } },
  );
  const session = r.body.data?.login?.session;
  if (!session) throw new Error(`signing in as ${email}: ${JSON.stringify(r.body)}`);
  return session;
}

// 3. The gateway.
async function startGateway(subgraphs, bistroSecret, sent, sizes) {
  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({ subgraphs }),
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest({ request, context }) {
          // What a router is configured to do: forward the client's
          // Authorization, and send each subgraph its own secret.
          if (context?.authorization) request.http.headers.set('authorization', context.authorization);
          if (name === 'bistro') {
            request.http.headers.set(SECRET_HEADER, bistroSecret);
            sent.push(request.query);
            sizes.push(request.variables?.representations?.length ?? 0);
          }
        },
      }),
  });
  const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  cleanups.unshift(() => server.stop());
  console.log(`gateway listening on ${url}`);
  return url;
}

const CUSTOMER_DELIVERIES = `query CustomerDeliveries {
  me {
    displayName
    orders(first: 3) {
      edges {
        node {
          id
          status
          total { amount currencyCode }
          delivery {
            status
            etaMinutes
            fee { amount currencyCode }
            courier { id displayName }
          }
        }
      }
    }
  }
}`;

const DELIVERY_OF_ORDER = `query DeliveryOfOrder($orderId: ID!) {
  delivery(orderId: $orderId) {
    status
    order { id status total { amount currencyCode } }
  }
}`;

async function queryThroughTheGateway(gatewayUrl, customer, courier) {
  section('a query that needs both subgraphs, through @apollo/gateway');
  const auth = { authorization: `Bearer ${customer.accessToken}` };
  const r = await post(gatewayUrl, CUSTOMER_DELIVERIES, { headers: auth });
  console.log(`query:\n${CUSTOMER_DELIVERIES}\nanswer (${r.status}):\n${JSON.stringify(r.body, null, 2)}`);
  const edges = r.body.data?.me?.orders?.edges ?? [];
  check(r.status === 200 && !r.body.errors, 'CustomerDeliveries answers without errors', r.body.errors);
  check(edges.length > 0, 'the demo customer has orders');
  check(r.body.data?.me?.displayName === customer.user.displayName, 'me comes from Bistro');
  for (const { node } of edges) {
    const expected = deliveryOf(node.id, courier.id);
    check(
      isDeepStrictEqual(node.delivery, {
        status: expected.status,
        etaMinutes: expected.etaMinutes,
        fee: expected.fee,
        courier: { id: courier.id, displayName: courier.displayName },
      }),
      `order ${node.id}: its delivery from the companion, its courier's name from Bistro`,
      node,
    );
    check(typeof node.status === 'string' && typeof node.total?.amount === 'string', `order ${node.id}: status and total from Bistro`);
  }
  if (edges.length === 0) return;

  section('an order reached through the companion: Bistro decides who sees it');
  const order = edges[0].node;
  const mine = await post(gatewayUrl, DELIVERY_OF_ORDER, { variables: { orderId: order.id }, headers: auth });
  console.log(`query:\n${DELIVERY_OF_ORDER}\nas the customer (${mine.status}):\n${JSON.stringify(mine.body, null, 2)}`);
  check(
    !mine.body.errors &&
      isDeepStrictEqual(mine.body.data?.delivery?.order, { id: order.id, status: order.status, total: order.total }),
    "the order's customer sees it",
    mine.body,
  );
  const anonymous = await post(gatewayUrl, DELIVERY_OF_ORDER, { variables: { orderId: order.id } });
  console.log(`anonymously (${anonymous.status}):\n${JSON.stringify(anonymous.body, null, 2)}`);
  const codes = (anonymous.body.errors ?? []).map((e) => e.extensions?.code);
  check(
    anonymous.body.data?.delivery?.order?.status == null && codes.includes('NOT_FOUND'),
    'an anonymous client does not: Bistro answers NOT_FOUND for the order, as for one that does not exist',
    anonymous.body,
  );
  const unknown = await post(gatewayUrl, DELIVERY_OF_ORDER, {
    variables: { orderId: Buffer.from('Order:999999999').toString('base64url') },
    headers: auth,
  });
  check(
    isDeepStrictEqual(unknown.body.data, anonymous.body.data) &&
      isDeepStrictEqual(
        unknown.body.errors?.map((e) => [e.message, e.extensions?.code]),
        anonymous.body.errors?.map((e) => [e.message, e.extensions?.code]),
      ),
    'an unknown order answers exactly like a hidden one',
    unknown.body,
  );
}

const DELIVERIES_OF_ORDERS = `query DeliveriesOfOrders($orderIds: [ID!]!) {
  deliveries(orderIds: $orderIds) {
    nodes { status order { status } }
  }
}`;

// 5. The cap on `_entities`, through the gateway.
async function checkRepresentationsCap(gatewayUrl, customer, sizes) {
  section(`_entities takes a gateway's batch of up to ${MAX_REPRESENTATIONS} representations`);
  const auth = { authorization: `Bearer ${customer.accessToken}` };
  // Distinct order ids (none of them the customer's: Bistro answers each
  // with NOT_FOUND at its index), so the batch is as large as the list.
  const orderIds = (n) => Array.from({ length: n }, (_, i) => Buffer.from(`Order:${900_000_000 + i}`).toString('base64url'));
  const codes = (body) => new Set((body.errors ?? []).map((e) => e.extensions?.code));
  for (const [n, fits] of [
    [MAX_REPRESENTATIONS, true],
    [MAX_REPRESENTATIONS + 1, false],
  ]) {
    sizes.length = 0;
    const r = await post(gatewayUrl, DELIVERIES_OF_ORDERS, { variables: { orderIds: orderIds(n) }, headers: auth });
    const seen = codes(r.body);
    console.log(`${n} orders: _entities calls of ${JSON.stringify(sizes)} representations; error codes ${JSON.stringify([...seen])}`);
    check(sizes.length === 1 && sizes[0] === n, `the gateway sends the ${n} references in one _entities call`, sizes);
    if (fits) {
      check(!seen.has('MAX_REPRESENTATIONS_EXCEEDED') && seen.has('NOT_FOUND'), `${n} representations are answered (each unknown order NOT_FOUND)`, [...seen]);
    } else {
      check(seen.has('MAX_REPRESENTATIONS_EXCEEDED'), `${n} are refused with MAX_REPRESENTATIONS_EXCEEDED, which reaches the client`, r.body.errors?.slice(0, 3));
    }
  }
}

// 4. What the gateway sent, against tests/operations.
function checkOperations(sent) {
  section('what the gateway sent Bistro for _service and _entities');
  const dir = join(root, 'tests', 'operations');
  const files = readdirSync(dir).filter((f) => f.startsWith('Gateway') && f.endsWith('.graphql'));
  const kept = new Map(
    files.map((f) => [
      f,
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n')
        .trim(),
    ]),
  );
  const routerQueries = [...new Set(sent.filter((q) => /\b_(service|entities)\b/.test(q)))];
  for (const query of routerQueries) {
    const file = [...kept].find(([, text]) => text === query)?.[0];
    console.log(`${file ?? 'NOT KEPT'}: ${query}`);
    check(file !== undefined, 'the gateway sent a query kept verbatim in tests/operations', query);
  }
  for (const [file, text] of kept) {
    check(routerQueries.includes(text), `tests/operations/${file} is what the gateway sends`, text);
  }
}

async function main() {
  const committedSdl = compose();
  const bistro = await startBistro();
  await checkSecret(bistro, committedSdl);
  const customer = await signIn(bistro.url, 'customer@bistro.test');
  const courier = (await signIn(bistro.url, 'staff@bistro.test')).user;
  const companion = await startCompanion(courier.id);
  cleanups.unshift(companion.stop);
  const sent = [];
  const sizes = [];
  const gatewayUrl = await startGateway(
    [
      { name: 'bistro', url: bistro.url },
      { name: 'deliveries', url: companion.url },
    ],
    bistro.secret,
    sent,
    sizes,
  );
  await queryThroughTheGateway(gatewayUrl, customer, courier);
  await checkRepresentationsCap(gatewayUrl, customer, sizes);
  checkOperations(sent);
}

try {
  await main();
} catch (error) {
  failed = true;
  console.log(`FAILED: ${error.stack ?? error}`);
} finally {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch {
      // Best effort: the process exits next.
    }
  }
}
console.log(failed ? '\nfederation checks FAILED' : '\nfederation checks passed');
process.exit(failed ? 1 : 0);
