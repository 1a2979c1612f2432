// Steps the browser tests share: waiting for a page, checking it with
// axe-core, signing in, reading the header's cart count.

import assert from 'node:assert/strict';
import { axe } from './harness.mjs';

/** Waits until the router has shown a page (no request in flight for it). */
export async function settled(page) {
  await page.waitForFunction(() => {
    const main = document.getElementById('main');
    return main && !main.hasAttribute('aria-busy') && !main.querySelector('.loading');
  });
}

/** axe-core's violations of the page, printed; none may be serious or critical. */
export async function accessible(page, what) {
  const violations = await axe(page);
  for (const v of violations) console.log(`  axe [${what}] ${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`);
  if (!violations.length) console.log(`  axe [${what}] no violations`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: serious or critical accessibility violations`);
}

export async function signIn(page, base, email, password) {
  await page.goto(`${base}/sign-in`);
  await settled(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: /^Sign out/ }).waitFor();
}

/** The number of units the header says the cart holds. */
export async function cartCount(page) {
  return Number(await page.locator('[data-cart-count]').getAttribute('data-cart-count'));
}
