// A first visit, as a newcomer makes it, once per store pair: the search
// box's own example, choosing a dish before having an account, the options
// dialog's price, the fee on every receipt, and an order page whose
// headline follows the order. Every wait is on page state (or, for the
// confirmation email, on the mailbox folder), never on a timer.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DEMO_PASSWORD,
  STAFF_EMAIL,
  buildServer,
  launchBrowser,
  newPerson,
  sendOperation,
  startServer,
  storePairs,
} from './harness.mjs';
import { accessible, settled } from './steps.mjs';

const binary = buildServer();
const RESTAURANT = 'Tandoor Hughes'; // the demo data's first restaurant, in Chicago (US dollars)
const DISH = 'Butter Chicken'; // its first main: $12.70, with Extras (cheese +$1.00, side salad +$2.50)

/** Creates an account on the sign-up page the browser is on. */
async function signUp(page, name) {
  await page.getByRole('heading', { level: 1, name: 'Create an account' }).waitFor();
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(`${name.toLowerCase().replace(/\W+/g, '-')}-${Date.now()}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill('a quiet walk by the canal');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: `Sign out ${name}` }).waitFor();
}

/** The receipt's lines under an order: `{ Subtotal: '$27.40', … }`. */
async function receipt(page) {
  await page.locator('dl.totals').waitFor();
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('dl.totals > div')].map((row) => [
        row.querySelector('dt').textContent.trim(),
        row.querySelector('dd').textContent.trim(),
      ]),
    ),
  );
}

/** Runs a mutation as staff (a restaurant's side of an order), by its documentId. */
async function asStaff(page, base, name, input) {
  const login = await sendOperation(page.request, base, 'Login', { input: { email: STAFF_EMAIL, password: DEMO_PASSWORD } });
  const token = login.data.login.session.accessToken;
  const body = await sendOperation(page.request, base, name, { input }, token);
  assert.deepEqual(Object.values(body.data)[0].userErrors, [], JSON.stringify(body));
}

const ADVANCE = 'AdvanceOrder';
const REJECT = 'RejectOrder';

/** The id of the order whose page is open. */
function orderIdOf(page) {
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
}

/** Puts one Butter Chicken in the cart from the restaurant's page and checks out for pickup. */
async function orderAgain(page, base) {
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: RESTAURANT }).click();
  await page.getByRole('button', { name: `Add ${DISH} to cart` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Add to cart' }).click();
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
  await page.getByRole('link', { name: /^Cart/ }).click();
  await page.getByRole('link', { name: 'Go to checkout' }).click();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.locator('[data-order-status="PLACED"]').waitFor();
  return orderIdOf(page);
}

for (const pair of storePairs()) {
  describe(`a first visit on ${pair.name}`, { concurrency: false }, () => {
    let server;
    let browser;
    const people = [];
    const person = async () => {
      const p = await newPerson(browser);
      people.push(p);
      return p;
    };

    before(async () => {
      server = await startServer(binary, pair);
      browser = await launchBrowser();
    });

    after(async () => {
      for (const p of people) {
        assert.deepEqual(p.refused, [], 'requests that tried to leave 127.0.0.1');
        assert.deepEqual(p.problems, [], 'page errors, console errors, CSP violations');
      }
      await browser?.close();
      await server?.stop();
    });

    test('the search box’s own example finds spicy curries first, then other curries and spicy dishes', async () => {
      const { context } = await person();
      const page = await context.newPage();
      await page.goto(`${server.base}/`);
      await settled(page);
      const box = page.getByLabel('Search every menu');
      const example = (await box.getAttribute('placeholder')).replace(/^e\.g\. /, '');
      assert.equal(example, 'spicy curry');
      await box.fill(example);
      await box.press('Enter');
      await page.getByRole('heading', { level: 1, name: `Dishes matching “${example}”` }).waitFor();
      const found = page.getByRole('list', { name: 'Dishes found' }).getByRole('listitem').filter({ has: page.locator('h2') });
      await found.first().waitFor();
      const dishes = await found.evaluateAll((cards) =>
        cards.map((card) => ({
          name: card.querySelector('h2').textContent,
          text: card.textContent.toLowerCase(),
          spicy: [...card.querySelectorAll('.tags li')].some((t) => t.textContent === 'Spicy'),
        })),
      );
      console.log(`  "${example}": ${dishes.map((d) => d.name).join(', ')}`);
      assert.equal(await page.getByText('Nothing on any menu matches these words.').count(), 0);
      // Both words first: a spicy curry.
      assert.ok(dishes[0].spicy && dishes[0].text.includes('curry'), JSON.stringify(dishes[0]));
      const firstPartial = dishes.findIndex((d) => !(d.spicy && d.text.includes('curry')));
      assert.ok(firstPartial > 1, 'several spicy curries lead');
      // Then dishes with one of the words, never before a dish with both.
      const rest = dishes.slice(firstPartial);
      assert.ok(rest.every((d) => !(d.spicy && d.text.includes('curry'))), 'ranked: both words before one');
      assert.ok(rest.some((d) => d.text.includes('curry') && !d.spicy), 'a mild curry is found too');
      assert.ok(rest.some((d) => d.spicy && !d.text.includes('curry')), 'a spicy dish that is no curry is found too');
      await accessible(page, 'search, spicy curry');
      await page.close();
    });

    test('a visitor who chose a dish signs up from the header and is back at it, its dialog open with the live price', async () => {
      const { context } = await person();
      const page = await context.newPage();
      await page.goto(`${server.base}/`);
      await page.getByRole('link', { name: RESTAURANT }).click();
      await page.getByRole('heading', { level: 1, name: RESTAURANT }).waitFor();
      await page.getByRole('button', { name: `Add ${DISH} to cart` }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      const next = new URL(page.url()).searchParams.get('next');
      assert.match(next, /^\/restaurants\/tandoor-hughes-1\?add=/);

      // The header's "Create account" keeps where the visitor was going.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Create account' }).click();
      await page.getByRole('heading', { level: 1, name: 'Create an account' }).waitFor();
      assert.equal(new URL(page.url()).searchParams.get('next'), next);
      // And back to signing in, and again to signing up: still kept.
      await page.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      assert.equal(new URL(page.url()).searchParams.get('next'), next);
      await page.getByRole('link', { name: 'Create an account' }).click();
      await signUp(page, 'Ada Newcomer');

      // Back at the dish, its dialog open; the address forgets the dish.
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('heading', { name: DISH }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/restaurants/tandoor-hughes-1');
      assert.equal(new URL(page.url()).search, '');
      await accessible(page, 'dish dialog after signing up');

      // The dialog: real choices only, and the price of what is chosen.
      const labels = await dialog.locator('label').allTextContents();
      assert.ok(!labels.some((l) => /^(None|No extra)/.test(l)), labels.join(' | '));
      const price = dialog.locator('[data-dialog-price]');
      assert.equal(await price.textContent(), '$12.70');
      await dialog.getByLabel(/^Extra cheese/).check();
      assert.equal(await price.textContent(), '$13.70');
      await dialog.getByLabel('Quantity').fill('2');
      assert.equal(await price.textContent(), '$27.40 (2 × $13.70)');
      await dialog.getByLabel(/^Side salad/).check();
      assert.equal(await price.textContent(), '$32.40 (2 × $16.20)');
      await dialog.getByLabel(/^Side salad/).uncheck();
      assert.equal(await price.textContent(), '$27.40 (2 × $13.70)');
      await dialog.getByRole('button', { name: 'Add to cart' }).click();
      await page.waitForFunction(() => !document.querySelector('dialog[open]'));
      // The cart counts what the dialog said.
      await page.getByRole('link', { name: /^Cart/ }).click();
      const line = page.getByRole('list', { name: 'Cart lines' }).getByRole('listitem').first();
      await line.getByText(/Extra cheese/).waitFor();
      assert.equal(await line.locator('.price').textContent(), '$27.40');

      // Checkout: subtotal, and the delivery fee as a line of its own when delivering.
      await page.getByRole('link', { name: 'Go to checkout' }).click();
      await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();
      assert.deepEqual(await receipt(page), { Subtotal: '$27.40', Total: '$27.40' });
      await page.getByLabel('Delivery (+$3.50 delivery fee)').check();
      assert.deepEqual(await receipt(page), { Subtotal: '$27.40', 'Delivery fee': '$3.50', Total: '$30.90' });
      await accessible(page, 'checkout, delivery');
      await page.getByLabel('Delivery address').fill('12 Canal Street, Chicago');
      await page.getByRole('button', { name: 'Place order' }).click();

      // The order page: thanks while it is placed, and the same three lines.
      await page.locator('[data-order-status="PLACED"]').waitFor();
      await page.locator('[data-headline="PLACED"]').getByText('Thank you! Your order was placed.').waitFor();
      assert.deepEqual(await receipt(page), { Subtotal: '$27.40', 'Delivery fee': '$3.50', Total: '$30.90' });
      await accessible(page, 'order placed, delivery');
      const delivered = orderIdOf(page);

      // The confirmation email has them too (the server's outbox worker writes it).
      const email = await new Promise((resolve, reject) => {
        const deadline = Date.now() + 30_000;
        const look = () => {
          const files = existsSync(server.mailbox) ? readdirSync(server.mailbox).filter((f) => f.endsWith('.eml')) : [];
          const mine = files.map((f) => readFileSync(join(server.mailbox, f), 'utf8')).find((text) => text.includes('12 Canal Street'));
          if (mine) resolve(mine);
          else if (Date.now() > deadline) reject(new Error(`no confirmation email in ${server.mailbox}: ${files}`));
          else setTimeout(look, 100);
        };
        look();
      });
      assert.match(email, /Subtotal: 27\.40 USD\r?\nDelivery fee: 3\.50 USD\r?\nTotal: 30\.90 USD/);

      // The headline follows the order: cancelled by the customer...
      await page.getByRole('button', { name: 'Cancel order' }).click();
      await page.locator('[data-order-status="CANCELLED"]').waitFor();
      await page.locator('[data-headline="CANCELLED"]').getByText('Your order was cancelled. Your card was not charged.').waitFor();
      assert.equal(await page.getByText('Thank you!').count(), 0);

      // ...rejected by the restaurant, live and after a reload...
      const rejected = await orderAgain(page, server.base);
      await page.locator('[data-live="on"]').waitFor();
      await asStaff(page, server.base, REJECT, { orderId: rejected, reason: 'The tandoor is being repaired' });
      await page.locator('[data-order-status="REJECTED"]').waitFor();
      const sorry = `Sorry, ${RESTAURANT} could not take your order: The tandoor is being repaired. Your card was not charged.`;
      await page.locator('[data-headline="REJECTED"]').getByText(sorry).waitFor();
      assert.equal(await page.getByText('Thank you!').count(), 0);
      await page.goto(`${server.base}/orders/${encodeURIComponent(rejected)}`);
      await page.locator('[data-headline="REJECTED"]').getByText(sorry).waitFor();
      await accessible(page, 'order rejected');

      // ...and completed.
      const completed = await orderAgain(page, server.base);
      await page.locator('[data-live="on"]').waitFor();
      for (const to of ['ACCEPTED', 'PREPARING', 'READY', 'COMPLETED']) {
        await asStaff(page, server.base, ADVANCE, { orderId: completed, to });
      }
      await page.locator('[data-headline="COMPLETED"]').getByText('Your order is complete. Enjoy your meal!').waitFor();
      assert.deepEqual(await receipt(page), { Subtotal: '$12.70', Total: '$12.70' });
      assert.notEqual(completed, delivered);
      await page.close();
    });

    test('signing up from the cart page comes back to the cart', async () => {
      const { context } = await person();
      const page = await context.newPage();
      await page.goto(`${server.base}/cart`);
      await page.getByRole('heading', { level: 1, name: 'Your cart' }).waitFor();
      await page.getByRole('main').getByRole('link', { name: 'create an account' }).click();
      assert.equal(new URL(page.url()).searchParams.get('next'), '/cart');
      await signUp(page, 'Cart Visitor');
      await page.getByRole('heading', { level: 1, name: 'Your cart' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/cart');
      await page.getByText('Your cart is empty.').waitFor();
      await page.close();
    });
  });
}
