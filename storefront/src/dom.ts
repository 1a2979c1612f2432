// A small helper to build DOM elements: h('button', { type: 'button', onclick }, 'Add').
// Text is always set as text (never parsed as HTML), so nothing a server or a
// user wrote can become markup.

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined;
type Handler = (event: Event) => void;
export type Attrs = { [name: string]: AttrValue | Handler };

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === 'function') {
      element.addEventListener(name.replace(/^on/, ''), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces everything inside `parent` with `children`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Says `message` to screen readers (a polite live region in the page). */
export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // A change of text is what a live region reads; clear first so the same
  // message twice is read twice.
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

let ids = 0;
/** A fresh id for label/aria links. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}
