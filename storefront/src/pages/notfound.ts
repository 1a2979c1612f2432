import { h } from '../dom';
import type { Page } from '../router';

export const notFound: Page = async () => ({
  title: 'Page not found',
  node: h('section', null, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '/' }, 'See every restaurant'))),
});
