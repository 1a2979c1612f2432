// GraphQL over HTTP with the session's access token, one refresh and retry
// when the server answers 401, and typed results (the documents are
// generated from src/operations/*.graphql).
//
// Every operation goes out by its hash, never its text: `documentId`
// (sha256, from GraphQL Code Generator's persisted documents, whose
// manifest the server trusts), queries as GET (short URLs a cache may keep
// when they are public), mutations as POST.

import type { TypedDocumentString } from './generated/graphql';
import { RefreshSessionDocument } from './generated/graphql';
import { userErrorMessage } from './messages';
import * as session from './session';

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

/** A request that came back without data (or could not be sent). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly status: number,
  ) {
    super(message);
  }
}

interface Response<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

let refreshing: Promise<boolean> | null = null;

/**
 * Exchanges the refresh token for new tokens. Resolves `false` when the
 * session is over (the refresh token was refused, or used before: then the
 * server ended the session), after forgetting it; rejects when the server
 * could not be asked (the session stays, a later call tries again).
 */
export function refresh(): Promise<boolean> {
  refreshing ??= doRefresh().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function doRefresh(): Promise<boolean> {
  const before = session.current();
  if (!before) return false;
  return session.withRefreshLock(async () => {
    const now = session.current();
    if (!now) return false;
    // Another tab refreshed while this one waited for the lock.
    if (now.refreshToken !== before.refreshToken) return true;
    const result = await send(
      RefreshSessionDocument,
      { input: { refreshToken: now.refreshToken } },
      null,
    );
    const payload = result.data?.refreshSession;
    if (payload?.session) {
      session.start(payload.session);
      return true;
    }
    const problem = payload?.userErrors[0];
    if (problem) {
      session.endWith(userErrorMessage(problem));
      return false;
    }
    throw new ApiError('The session could not be refreshed.', result.errors?.[0]?.extensions?.code, 200);
  });
}

/** The access token to send: refreshed first when it is about to expire. */
export async function accessToken(): Promise<string | null> {
  const now = session.current();
  if (!now) return null;
  if (session.expiresSoon(now)) {
    const ok = await refresh().catch(() => true);
    if (!ok) return null;
  }
  return session.current()?.accessToken ?? null;
}

/** How the server knows a document: its operation, and its trusted hash. */
export function persisted(document: TypedDocumentString<unknown, unknown>): {
  kind: 'query' | 'mutation' | 'subscription';
  operationName: string;
  documentId: string;
} {
  const found = /(query|mutation|subscription)\s+(\w+)/.exec(document.toString());
  const documentId = document.__meta__?.hash;
  if (!found?.[1] || !found[2] || typeof documentId !== 'string') {
    throw new Error('a document without a name or a persisted hash: run `npm run codegen`');
  }
  return { kind: found[1] as 'query' | 'mutation' | 'subscription', operationName: found[2], documentId };
}

async function send<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  token: string | null,
): Promise<Response<R> & { status: number }> {
  const { kind, operationName, documentId } = persisted(document as TypedDocumentString<unknown, unknown>);
  const headers: Record<string, string> = {
    accept: 'application/graphql-response+json, application/json;q=0.9',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  let response: globalThis.Response;
  try {
    if (kind === 'query') {
      const params = new URLSearchParams({ documentId, operationName, variables: JSON.stringify(variables ?? {}) });
      response = await fetch(`/graphql?${params.toString()}`, { method: 'GET', headers });
    } else {
      headers['content-type'] = 'application/json';
      response = await fetch('/graphql', {
        method: 'POST',
        headers,
        body: JSON.stringify({ documentId, operationName, variables }),
      });
    }
  } catch {
    throw new ApiError('Bistro could not be reached. Check your connection and try again.', 'NETWORK', 0);
  }
  let body: Response<R>;
  try {
    body = (await response.json()) as Response<R>;
  } catch {
    throw new ApiError('Bistro answered in a way the page did not understand.', 'BAD_RESPONSE', response.status);
  }
  return { ...body, status: response.status };
}

/**
 * Runs an operation and returns its data. A 401 (an expired or ended
 * session) refreshes the session once and retries; data with field errors
 * is returned as it is (the fields are null).
 */
export async function request<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
  const token = await accessToken();
  let result = await send(document, variables, token);
  if (result.status === 401 && token) {
    const ok = await refresh();
    result = await send(document, variables, ok ? session.current()?.accessToken ?? null : null);
  }
  if (result.data) {
    for (const error of result.errors ?? []) {
      console.warn('GraphQL field error', error.path?.join('.'), error.extensions?.code, error.message);
    }
    return result.data;
  }
  const first = result.errors?.[0];
  throw new ApiError(first?.message ?? 'The request failed.', first?.extensions?.code, result.status);
}

/** The viewer variable every page query takes: whether to read `me`. */
export function signedIn(): { signedIn: boolean } {
  return { signedIn: session.isSignedIn() };
}
