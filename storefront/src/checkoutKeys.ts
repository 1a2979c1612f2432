// One idempotency key per version of a cart, kept in localStorage: a reload,
// a second tab or a retry after a lost answer sends the same key for the same
// cart, so the server answers with the order that key placed instead of
// placing (and charging) a second one. A cart that changes is a new version
// and gets a new key; the key of a version that placed its order is forgotten,
// so the same dishes ordered again later are a new checkout.

const STORE = 'bistro.checkoutKeys';
/** Versions kept at most: the oldest go first. */
const KEEP = 20;

type Keys = Record<string, { key: string; at: number }>;

interface CartShape {
  restaurant?: { id: string } | null;
  lines: ReadonlyArray<{
    quantity: number;
    menuItem?: { id: string } | null;
    options?: ReadonlyArray<{ id: string }> | null;
  }>;
}

function read(): Keys {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(STORE) ?? '{}');
    return parsed && typeof parsed === 'object' ? (parsed as Keys) : {};
  } catch {
    return {};
  }
}

function write(keys: Keys): void {
  const newest = Object.entries(keys)
    .sort(([, a], [, b]) => b.at - a.at)
    .slice(0, KEEP);
  try {
    localStorage.setItem(STORE, JSON.stringify(Object.fromEntries(newest)));
  } catch {
    // Storage full or off: the key then lives as long as the page.
  }
}

/** What makes a cart this cart: its owner, restaurant, lines and options. */
export function cartVersion(viewerId: string, cart: CartShape): string {
  const lines = cart.lines
    .map((line) => `${line.menuItem?.id ?? ''}x${line.quantity}[${(line.options ?? []).map((o) => o.id).sort().join(',')}]`)
    .sort();
  return `${viewerId}|${cart.restaurant?.id ?? ''}|${lines.join(';')}`;
}

/** The key of this cart version, made the first time it is asked for. */
export function keyFor(version: string): string {
  const keys = read();
  const known = keys[version];
  if (known) return known.key;
  const key = crypto.randomUUID();
  keys[version] = { key, at: Date.now() };
  write(keys);
  return key;
}

/** A new key for this version (the old one was refused as reused or invalid). */
export function renew(version: string): string {
  const keys = read();
  delete keys[version];
  write(keys);
  return keyFor(version);
}

/** Forgets the key of a version whose order was placed. */
export function forget(version: string): void {
  const keys = read();
  delete keys[version];
  write(keys);
}
