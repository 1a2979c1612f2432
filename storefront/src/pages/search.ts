// "/search?q=…": menu items of every restaurant matching the words.

import { h, announce } from '../dom';
import { SearchMenuDocument, type SearchMenuQuery } from '../generated/graphql';
import { money, DIETARY } from '../format';
import { request, signedIn } from '../graphql';
import { setViewer } from '../layout';
import type { Page } from '../router';
import { searchForm } from './home';

type Hit = NonNullable<SearchMenuQuery['searchMenu']>['nodes'][number];

function hit(item: Hit): HTMLElement {
  return h(
    'li',
    { class: 'card' },
    h('h2', null, item.name),
    h('p', { class: 'meta' }, money(item.price), ' · ',
      item.restaurant ? h('a', { href: `/restaurants/${encodeURIComponent(item.restaurant.slug)}` }, item.restaurant.name) : null),
    h('p', null, item.description),
    item.dietary.length ? h('ul', { class: 'tags', 'aria-label': 'Dietary' }, item.dietary.map((d) => h('li', null, DIETARY[d]))) : null,
  );
}

export const search: Page = async (_params, query) => {
  const q = (query.get('q') ?? '').trim();
  if (!q) {
    return { title: 'Search', node: h('section', null, h('h1', null, 'Search every menu'), searchForm()) };
  }
  const data = await request(SearchMenuDocument, { query: q, after: null, ...signedIn() });
  setViewer(data.me);
  const nodes = data.searchMenu?.nodes ?? [];
  const list = h('ul', { class: 'cards', 'aria-label': 'Dishes found' }, nodes.map(hit));
  let after = data.searchMenu?.pageInfo.endCursor ?? null;
  const more = h('button', { type: 'button', hidden: !data.searchMenu?.pageInfo.hasNextPage }, 'Show more dishes');
  more.addEventListener('click', async () => {
    more.disabled = true;
    const next = await request(SearchMenuDocument, { query: q, after, ...signedIn() });
    const found = next.searchMenu?.nodes ?? [];
    for (const item of found) list.append(hit(item));
    after = next.searchMenu?.pageInfo.endCursor ?? null;
    more.hidden = !next.searchMenu?.pageInfo.hasNextPage;
    more.disabled = false;
    announce(`${found.length} more dishes shown.`);
  });
  return {
    title: `Search: ${q}`,
    node: h(
      'section',
      null,
      h('h1', null, `Dishes matching “${q}”`),
      searchForm(q),
      nodes.length ? list : h('p', null, 'Nothing on any menu matches these words.'),
      more,
    ),
  };
};
