// Client-side routes over the History API. The server answers every path
// under these routes with index.html (crates/bistro-server/src/storefront.rs
// lists the same first segments), so each page has a real URL.

import { h, replace } from './dom';
import { ApiError } from './graphql';
import { apiErrorMessage } from './messages';

export interface View {
  title: string;
  node: Node;
  /** Ends what the page started (live subscriptions). */
  dispose?: () => void;
  /** Runs once the page is in the document (what needs it there: Stripe's card field). */
  mounted?: () => void;
}

export type Params = Record<string, string>;
export type Page = (params: Params, query: URLSearchParams) => Promise<View>;

interface Route {
  pattern: RegExp;
  names: string[];
  page: Page;
}

const routes: Route[] = [];
let notFound: Page = async () => ({ title: 'Not found', node: h('h1', null, 'Not found') });

export function route(path: string, page: Page): void {
  const names: string[] = [];
  const source = path.replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push({ pattern: new RegExp(`^${source}/?$`), names, page });
}

export function fallback(page: Page): void {
  notFound = page;
}

let currentView: View | null = null;
let navigation = 0;
let firstRender = true;

/**
 * `value` when it is a path of this storefront (so following it after
 * signing in can lead nowhere else), else null.
 */
export function localPath(value: string | null | undefined): string | null {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return null;
  // Control characters (a tab, a newline) are dropped by the URL parser:
  // `/\t/evil` would become `//evil`, another origin.
  if (/[\u0000-\u001f\u007f]/.test(value)) return null;
  return value;
}

/**
 * Where signing in or up should lead back to from the current page: the
 * page's own `next` on the sign-in and sign-up pages (passed along from
 * one to the other), else the page itself; null on the home page.
 */
export function returnPath(): string | null {
  if (location.pathname === '/sign-in' || location.pathname === '/sign-up') {
    return localPath(new URLSearchParams(location.search).get('next'));
  }
  const here = `${location.pathname}${location.search}`;
  return here === '/' ? null : here;
}

/** `/sign-in` or `/sign-up`, with `?next=` when there is somewhere to come back to. */
export function accountLink(page: '/sign-in' | '/sign-up', next: string | null = returnPath()): string {
  const back = localPath(next);
  return back ? `${page}?next=${encodeURIComponent(back)}` : page;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  void render();
}

/** Renders the current URL again (after signing in or out, say). */
export function reload(): void {
  void render();
}

export function start(): void {
  window.addEventListener('popstate', () => void render());
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest?.('a');
    if (!link || link.target || link.hasAttribute('download')) return;
    const href = link.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('//')) return;
    event.preventDefault();
    navigate(href);
  });
  void render();
}

async function render(): Promise<void> {
  const main = document.getElementById('main');
  if (!main) return;
  const mine = ++navigation;
  currentView?.dispose?.();
  currentView = null;
  main.setAttribute('aria-busy', 'true');
  const url = new URL(location.href);
  let view: View;
  try {
    view = await pageFor(url.pathname)(paramsOf(url.pathname), url.searchParams);
  } catch (error) {
    view = errorView(error);
  }
  if (mine !== navigation) {
    // A newer navigation started meanwhile; this page is not shown.
    view.dispose?.();
    return;
  }
  currentView = view;
  document.title = `${view.title} · Bistro`;
  replace(main, view.node);
  view.mounted?.();
  main.removeAttribute('aria-busy');
  if (!firstRender) {
    // Move focus to the new page's heading, as a full page load would.
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
    window.scrollTo(0, 0);
  }
  firstRender = false;
  document.dispatchEvent(new CustomEvent('bistro:rendered'));
}

function match(pathname: string): { route: Route; values: string[] } | null {
  for (const route of routes) {
    const found = route.pattern.exec(pathname);
    if (found) return { route, values: found.slice(1) };
  }
  return null;
}

function pageFor(pathname: string): Page {
  return match(pathname)?.route.page ?? notFound;
}

function paramsOf(pathname: string): Params {
  const found = match(pathname);
  const params: Params = {};
  found?.route.names.forEach((name, i) => {
    params[name] = decodeURIComponent(found.values[i] ?? '');
  });
  return params;
}

export function errorView(error: unknown): View {
  const message =
    error instanceof ApiError && error.code === 'NETWORK'
      ? error.message
      : apiErrorMessage(error instanceof ApiError ? error.code : undefined);
  console.error(error);
  return {
    title: 'Something went wrong',
    node: h(
      'section',
      null,
      h('h1', null, 'Something went wrong'),
      h('p', { role: 'alert' }, message),
      h('p', null, h('a', { href: location.pathname + location.search }, 'Try again')),
    ),
  };
}
