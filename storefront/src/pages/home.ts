// "/": restaurants, filtered by cuisine, and the menu search box.

import { h, announce } from '../dom';
import { HomeDocument, type HomeQuery } from '../generated/graphql';
import { request, signedIn } from '../graphql';
import { setViewer } from '../layout';
import { navigate, type Page } from '../router';

type RestaurantCard = NonNullable<HomeQuery['restaurants']>['nodes'][number];

export function searchForm(value = ''): HTMLFormElement {
  const submit = (event: Event) => {
    event.preventDefault();
    const q = new FormData(event.target as HTMLFormElement).get('q');
    navigate(`/search?q=${encodeURIComponent(String(q ?? '').trim())}`);
  };
  return h(
    'form',
    { role: 'search', action: '/search', method: 'get', class: 'search', onsubmit: submit },
    h('label', { for: 'search-q' }, 'Search every menu'),
    h('input', { id: 'search-q', name: 'q', type: 'search', value, required: true, placeholder: 'e.g. spicy curry' }),
    h('button', { type: 'submit' }, 'Search'),
  );
}

function title(cuisine: string): string {
  return cuisine.charAt(0).toUpperCase() + cuisine.slice(1);
}

function rating(r: RestaurantCard['rating']): string {
  if (!r || r.count === 0 || r.average === null) return 'No reviews yet';
  return `Rated ${r.average.toFixed(1)} of 5 (${r.count} ${r.count === 1 ? 'review' : 'reviews'})`;
}

function card(r: RestaurantCard): HTMLElement {
  return h(
    'li',
    { class: 'card' },
    h('h2', null, h('a', { href: `/restaurants/${encodeURIComponent(r.slug)}` }, r.name)),
    h('p', { class: 'meta' }, `${title(r.cuisine)} · ${rating(r.rating)}`),
    h('p', null, r.description),
    h('p', { class: 'meta' }, r.address),
  );
}

export const home: Page = async (_params, query) => {
  const cuisine = query.get('cuisine') || null;
  const data = await request(HomeDocument, { cuisine, after: null, ...signedIn() });
  setViewer(data.me);
  const cuisines = data.cuisines ?? [];
  const total = cuisines.reduce((sum, c) => sum + c.restaurantCount, 0);
  const list = h('ul', { class: 'cards', 'aria-label': 'Restaurants' }, (data.restaurants?.nodes ?? []).map(card));
  let after = data.restaurants?.pageInfo.endCursor ?? null;
  const more = h('button', { type: 'button', hidden: !data.restaurants?.pageInfo.hasNextPage }, 'Show more restaurants');
  more.addEventListener('click', async () => {
    more.disabled = true;
    const next = await request(HomeDocument, { cuisine, after, ...signedIn() });
    const nodes = next.restaurants?.nodes ?? [];
    for (const r of nodes) list.append(card(r));
    after = next.restaurants?.pageInfo.endCursor ?? null;
    more.hidden = !next.restaurants?.pageInfo.hasNextPage;
    more.disabled = false;
    announce(`${nodes.length} more restaurants shown.`);
  });
  const filter = h(
    'nav',
    { 'aria-label': 'Cuisines', class: 'chips' },
    h(
      'ul',
      null,
      h('li', null, h('a', { href: '/', 'aria-current': cuisine === null ? 'page' : null }, `All (${total})`)),
      cuisines.map((c) =>
        h(
          'li',
          null,
          h(
            'a',
            { href: `/?cuisine=${encodeURIComponent(c.name)}`, 'aria-current': c.name === cuisine ? 'page' : null },
            `${title(c.name)} (${c.restaurantCount})`,
          ),
        ),
      ),
    ),
  );
  return {
    title: cuisine ? `${title(cuisine)} restaurants` : 'Restaurants',
    node: h(
      'section',
      null,
      h('h1', null, cuisine ? `${title(cuisine)} restaurants` : 'Restaurants'),
      searchForm(),
      filter,
      list.childElementCount ? list : h('p', null, 'No restaurants cook this yet.'),
      more,
    ),
  };
};
