// "/restaurants/:slug": a restaurant and its menu by course, with dietary
// tags, options, and what is sold out (kept live while the page is open).
// "?add=<item id>" opens that dish's dialog: where a visitor who chose a
// dish before signing in or up comes back to.

import { announce, h, replace, uid } from '../dom';
import {
  AddToCartDocument,
  MenuAvailabilityDocument,
  RestaurantMenuDocument,
  type MenuItemFieldsFragment,
  type RestaurantMenuQuery,
} from '../generated/graphql';
import { COURSE, COURSE_ORDER, DIETARY, delta, money, plus, times, type MoneyLike } from '../format';
import { ApiError, request, signedIn } from '../graphql';
import { setCartCount, setViewer } from '../layout';
import * as live from '../live';
import { apiErrorMessage, userErrorMessage } from '../messages';
import { accountLink, navigate, type Page } from '../router';
import * as session from '../session';

type Restaurant = NonNullable<RestaurantMenuQuery['restaurant']>;

function orderable(item: MenuItemFieldsFragment): boolean {
  return item.available && item.stockRemaining !== 0;
}

function stockNote(item: MenuItemFieldsFragment): Node | null {
  if (!item.available) return h('span', { class: 'badge sold-out' }, 'Sold out');
  if (item.stockRemaining === 0) return h('span', { class: 'badge sold-out' }, 'Sold out today');
  if (item.stockRemaining !== null && item.stockRemaining !== undefined) {
    return h('span', { class: 'badge' }, `${item.stockRemaining} left today`);
  }
  return null;
}

export const restaurant: Page = async (params, query) => {
  const slug = params.slug ?? '';
  const data = await request(RestaurantMenuDocument, { slug, ...signedIn() });
  setViewer(data.me);
  const place = data.restaurant;
  if (!place) {
    return {
      title: 'Restaurant not found',
      node: h('section', null, h('h1', null, 'Restaurant not found'), h('p', null, h('a', { href: '/' }, 'See every restaurant'))),
    };
  }
  const items = new Map<string, MenuItemFieldsFragment>((place.menu?.nodes ?? []).map((i) => [i.id, i]));
  const dialog = h('dialog', { class: 'add-dialog', 'aria-labelledby': 'add-title' });
  const menu = h('div', { class: 'menu' });

  const renderItem = (item: MenuItemFieldsFragment): HTMLElement => {
    const headingId = `item-${item.id}`;
    const can = orderable(item);
    return h(
      'li',
      { class: can ? 'item' : 'item unavailable', 'data-item': item.id },
      h('div', null,
        h('h3', { id: headingId }, item.name),
        h('p', null, item.description),
        item.dietary.length ? h('ul', { class: 'tags', 'aria-label': 'Dietary' }, item.dietary.map((d) => h('li', null, DIETARY[d]))) : null,
        item.optionGroups?.length ? h('p', { class: 'meta' }, `Options: ${item.optionGroups.map((g) => g.name).join(', ')}`) : null,
      ),
      h('div', { class: 'buy' },
        h('p', { class: 'price' }, money(item.price)),
        stockNote(item),
        h('button', {
          type: 'button',
          disabled: !can,
          'aria-label': `Add ${item.name} to cart`,
          onclick: () => openAdd(item),
        }, 'Add'),
      ),
    );
  };

  const renderMenu = () => {
    const byCourse = COURSE_ORDER.map((course) => ({
      course,
      items: [...items.values()].filter((i) => i.course === course),
    })).filter((c) => c.items.length);
    replace(
      menu,
      byCourse.map(({ course, items: list }) =>
        h('section', { 'aria-labelledby': `course-${course}` },
          h('h2', { id: `course-${course}` }, COURSE[course]),
          h('ul', { class: 'items' }, list.map(renderItem)),
        ),
      ),
    );
  };

  const refresh = async () => {
    const again = await request(RestaurantMenuDocument, { slug, ...signedIn() });
    items.clear();
    for (const i of again.restaurant?.menu?.nodes ?? []) items.set(i.id, i);
    renderMenu();
  };

  const openAdd = (item: MenuItemFieldsFragment) => {
    if (!session.isSignedIn()) {
      // Back here after signing in (or up), with this dish's dialog open again.
      const back = `${location.pathname}?add=${encodeURIComponent(item.id)}`;
      navigate(accountLink('/sign-in', back));
      return;
    }
    replace(dialog, addForm(place, item, dialog));
    dialog.showModal();
  };

  // Coming back with a dish chosen: once the page is shown, its dialog opens
  // (once: the address loses `add`, so a reload shows the menu).
  const wanted = query.get('add');
  const reopen = () => {
    if (!dialog.isConnected || !wanted) return;
    history.replaceState(null, '', location.pathname);
    const item = items.get(wanted);
    if (!item) return;
    if (!orderable(item)) {
      announce(`${item.name} is sold out.`);
      return;
    }
    if (session.isSignedIn()) openAdd(item);
  };
  if (wanted) document.addEventListener('bistro:rendered', reopen, { once: true });

  renderMenu();
  const stop = live.subscribe(MenuAvailabilityDocument, { restaurantId: place.id }, (update) => {
    const change = update.menuItemAvailability;
    if (change.kind === 'MISSED_UPDATES') {
      void refresh();
      return;
    }
    const item = change.menuItemId ? items.get(change.menuItemId) : undefined;
    if (!item) return;
    const before = orderable(item);
    items.set(item.id, { ...item, available: change.available ?? item.available, stockRemaining: change.stockRemaining ?? null });
    const now = items.get(item.id);
    menu.querySelector(`[data-item="${CSS.escape(item.id)}"]`)?.replaceWith(renderItem(now ?? item));
    if (now && before !== orderable(now)) announce(`${item.name} is ${orderable(now) ? 'available again' : 'sold out'}.`);
  });
  const stopResync = live.onResync(() => void refresh());

  const hours = place.openingHours.length
    ? h('details', null, h('summary', null, 'Opening hours'),
        h('table', null, h('tbody', null, place.openingHours.map((o) =>
          h('tr', null, h('th', { scope: 'row' }, o.day.charAt(0) + o.day.slice(1).toLowerCase()), h('td', null, `${o.opens}–${o.closes}`))))))
    : null;
  const r = place.rating;
  return {
    title: place.name,
    node: h(
      'article',
      { class: 'restaurant' },
      h('h1', null, place.name),
      h('p', { class: 'meta' }, `${place.cuisine.charAt(0).toUpperCase()}${place.cuisine.slice(1)} · ${place.address}`),
      h('p', { class: 'meta' }, r && r.count && r.average !== null ? `Rated ${r.average.toFixed(1)} of 5 (${r.count} reviews)` : 'No reviews yet'),
      h('p', null, place.description),
      hours,
      menu,
      dialog,
    ),
    dispose: () => {
      stop();
      stopResync();
      document.removeEventListener('bistro:rendered', reopen);
      if (dialog.open) dialog.close();
    },
  };
};

/**
 * The "add to cart" dialog's form: options, quantity, the price of what is
 * chosen (kept as the choice changes), and the answer to a cart of another
 * restaurant.
 */
function addForm(place: Restaurant, item: MenuItemFieldsFragment, dialog: HTMLDialogElement): HTMLElement {
  const error = h('div', { class: 'error', role: 'alert' });
  const quantityId = uid('quantity');
  const deltas = new Map<string, MoneyLike>();
  const groups = (item.optionGroups ?? []).map((group, index) => {
    // One optional choice is a checkbox: unticked is the plain dish, so no "None" beside it.
    const single = group.maxChoices === 1 && !(group.minChoices === 0 && group.options.length === 1);
    const name = `group-${index}`;
    const choices = group.options.map((option, i) => {
      const id = uid('option');
      deltas.set(option.id, option.priceDelta);
      return h('div', { class: 'choice' },
        h('input', {
          type: single ? 'radio' : 'checkbox',
          id,
          name,
          value: option.id,
          checked: single && group.minChoices > 0 && i === 0,
          required: single && group.minChoices > 0,
          'data-max': single ? null : group.maxChoices,
        }),
        h('label', { for: id }, `${option.name}${delta(option.priceDelta)}`),
      );
    });
    if (single && group.minChoices === 0) {
      const id = uid('option');
      choices.unshift(h('div', { class: 'choice' },
        h('input', { type: 'radio', id, name, value: '', checked: true }),
        h('label', { for: id }, 'None')));
    }
    const hint = group.maxChoices > 1 ? ` (up to ${group.maxChoices})` : group.minChoices > 0 ? ' (required)' : '';
    return h('fieldset', null, h('legend', null, `${group.name}${hint}`), choices);
  });
  const replaceChoice = h('div', { class: 'replace', hidden: true });
  const submit = h('button', { type: 'submit' }, 'Add to cart');
  const price = h('p', { class: 'price', 'data-dialog-price': '', 'aria-live': 'polite' });
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'add-title' }, item.name),
    price,
    groups,
    h('div', { class: 'field' },
      h('label', { for: quantityId }, 'Quantity'),
      h('input', { id: quantityId, name: 'quantity', type: 'number', min: 1, max: 50, value: 1, required: true, inputmode: 'numeric' }),
    ),
    error,
    replaceChoice,
    h('div', { class: 'actions' },
      submit,
      h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel'),
    ),
  );
  const chosen = (data: FormData) =>
    [...data.entries()].filter(([key, value]) => key.startsWith('group-') && value !== '').map(([, value]) => String(value));
  // The price of what is chosen, as the cart will count it: the dish with its options, times the quantity.
  const showPrice = () => {
    const data = new FormData(form);
    const unit = chosen(data).reduce((sum, id) => {
      const change = deltas.get(id);
      return change ? plus(sum, change) : sum;
    }, item.price as MoneyLike);
    const quantity = Number(data.get('quantity'));
    const count = Number.isInteger(quantity) && quantity >= 1 && quantity <= 50 ? quantity : 1;
    replace(price, count > 1 ? `${money(times(unit, count))} (${count} × ${money(unit)})` : money(unit));
    price.dataset.amount = times(unit, count).amount;
    // No more ticks than a group allows.
    for (const group of form.querySelectorAll('fieldset')) {
      const boxes = [...group.querySelectorAll<HTMLInputElement>('input[type="checkbox"][data-max]')];
      const max = Number(boxes[0]?.dataset.max ?? 0);
      const full = boxes.filter((b) => b.checked).length >= max;
      for (const box of boxes) box.disabled = full && !box.checked;
    }
  };
  form.addEventListener('input', showPrice);
  form.addEventListener('change', showPrice);
  showPrice();
  const add = async (replaceCart: boolean) => {
    const data = new FormData(form);
    const optionIds = chosen(data);
    const quantity = Number(data.get('quantity') ?? 1);
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const result = await request(AddToCartDocument, {
        input: { menuItemId: item.id, quantity, optionIds, replaceCart },
      });
      const payload = result.addToCart;
      const problem = payload?.userErrors[0];
      if (problem?.code === 'CART_OTHER_RESTAURANT') {
        replace(replaceChoice,
          h('p', null, `Your cart has items from another restaurant. Start a new cart with ${item.name} from ${place.name}?`),
          h('button', { type: 'button', onclick: () => void add(true) }, 'Start a new cart'),
        );
        replaceChoice.hidden = false;
        (replaceChoice.querySelector('button') as HTMLButtonElement | null)?.focus();
        return;
      }
      if (problem || !payload) {
        replace(error, problem ? userErrorMessage(problem) : apiErrorMessage(undefined));
        return;
      }
      const count = payload.cart?.itemCount ?? 0;
      setCartCount(count);
      dialog.close();
      announce(`Added ${quantity} × ${item.name}. Your cart has ${count} ${count === 1 ? 'item' : 'items'}.`);
    } catch (e) {
      replace(error, e instanceof ApiError ? apiErrorMessage(e.code) : apiErrorMessage(undefined));
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void add(false);
  });
  return form;
}
