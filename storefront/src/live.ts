// Live updates over one WebSocket at /graphql/ws (graphql-transport-ws,
// through the graphql-ws client). The access token goes in connection_init's
// payload; the socket opens with the first subscription and closes a second
// after the last one ends.
//
// The server closes a socket with 4403 when its token expires or its session
// ends: the client reconnects (graphql-ws retries 4403), and the next
// connection_init refreshes the session first. After any reconnect, or a
// MISSED_UPDATES message, the page refetches what it shows: events may have
// been missed while the socket was down.

import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from './generated/graphql';
import { accessToken, persisted, refresh } from './graphql';
import * as session from './session';

let client: Client | null = null;
let mustRefresh = false;
const resyncListeners = new Set<() => void>();
const statusListeners = new Set<(connected: boolean) => void>();
/** Whether the socket is open now (a page that starts listening is told at once). */
let connectedNow = false;

function url(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/graphql/ws`;
}

function getClient(): Client {
  client ??= createClient({
    url: url(),
    lazy: true,
    lazyCloseTimeout: 1000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    // 0.5 s, 1 s, 2 s … capped at 10 s, with jitter.
    retryWait: async (retries) => {
      const wait = Math.min(10_000, 500 * 2 ** retries) + Math.random() * 300;
      await new Promise((resolve) => window.setTimeout(resolve, wait));
    },
    connectionParams: async () => {
      if (mustRefresh) {
        mustRefresh = false;
        await refresh().catch(() => false);
      }
      const token = await accessToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    on: {
      connected: (_socket, _payload, wasRetry) => {
        connectedNow = true;
        for (const listener of statusListeners) listener(true);
        if (wasRetry) for (const listener of resyncListeners) listener();
      },
      closed: (event) => {
        connectedNow = false;
        for (const listener of statusListeners) listener(false);
        if ((event as CloseEvent | undefined)?.code === 4403) mustRefresh = true;
      },
    },
  });
  return client;
}

// A new identity (signing in or out, not a refresh) needs a new connection.
let identity = session.current()?.user.id ?? null;
session.onChange((now) => {
  const next = now?.user.id ?? null;
  if (next === identity) return;
  identity = next;
  const old = client;
  client = null;
  connectedNow = false;
  old?.dispose();
});

/**
 * Subscribes; `onData` gets each message's data, `onEnd` an error message
 * when the server refused or ended the subscription. Returns the unsubscribe.
 */
export function subscribe<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  onData: (data: R) => void,
  onEnd?: (message: string) => void,
): () => void {
  const { operationName, documentId } = persisted(document as TypedDocumentString<unknown, unknown>);
  // By its hash, as over HTTP; graphql-ws insists on a `query` string, which
  // the server takes as absent when it is empty beside a `documentId`.
  const payload = { query: '', documentId, operationName, variables: variables as Record<string, unknown> };
  return getClient().subscribe<R>(
    payload,
    {
      next: (result) => {
        if (result.data) onData(result.data);
        else if (result.errors?.length) onEnd?.(result.errors[0]?.message ?? 'Live updates stopped.');
      },
      error: () => onEnd?.('Live updates stopped.'),
      complete: () => {},
    },
  );
}

/** Calls `listener` after the socket came back: refetch what the page shows. */
export function onResync(listener: () => void): () => void {
  resyncListeners.add(listener);
  return () => resyncListeners.delete(listener);
}

/**
 * Calls `listener` when the socket connects or drops, and at once when it
 * is open already (another page of this visit opened it).
 */
export function onStatus(listener: (connected: boolean) => void): () => void {
  statusListeners.add(listener);
  if (connectedNow) listener(true);
  return () => statusListeners.delete(listener);
}
