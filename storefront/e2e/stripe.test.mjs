// The checkout with Stripe in a real browser, once per store pair, against
// localstripe (its Stripe.js stand-in, loaded from it as the page loads
// Stripe.js from payments.stripe_js_url): the card is typed into Stripe's
// field, becomes a payment method at Stripe, and only its id reaches Bistro;
// a card whose bank asks for 3-D Secure is confirmed in Stripe's dialog and
// the checkout sent again with the same key places one order. No request
// leaves 127.0.0.1, and the page's policy refuses nothing it needs.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildServer, launchBrowser, newPerson, startLocalstripe, startServer, storePairs, stripeEnv } from './harness.mjs';
import { accessible, cartCount, settled } from './steps.mjs';

const binary = buildServer();
const RESTAURANT = 'Tandoor Hughes';

/** Signs up a customer of its own (an empty cart) and puts a dish in the cart. */
async function customerWithADish(page, base) {
  await page.goto(`${base}/sign-up`);
  await settled(page);
  await page.getByLabel('Your name').fill('Ada Lovelace');
  await page.getByLabel('Email').fill(`e2e-stripe-${Date.now()}-${Math.random().toString(16).slice(2)}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill('the analytical engine weaves');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: /^Sign out/ }).waitFor();
  await addADish(page);
}

async function addADish(page) {
  await page.getByRole('link', { name: 'Restaurants' }).click();
  await page.getByRole('link', { name: RESTAURANT }).click();
  await page.getByRole('heading', { level: 1, name: RESTAURANT }).waitFor();
  const before = await cartCount(page);
  const item = page.locator('li.item:not(.unavailable)').first();
  await item.getByRole('button', { name: /^Add .* to cart$/ }).click();
  const dialog = page.locator('dialog[open]');
  if (await dialog.count()) await dialog.getByRole('button', { name: 'Add to cart' }).click();
  await page.waitForFunction((n) => Number(document.querySelector('[data-cart-count]')?.getAttribute('data-cart-count')) > n, before);
}

/** Types a card into the (stand-in) Stripe card field. */
async function typeCard(page, number) {
  const field = page.locator('[data-stripe-card]');
  await field.locator('input[placeholder="number"]').fill(number);
  await field.locator('input[placeholder="exp_month"]').fill('12');
  await field.locator('input[placeholder="exp_year"]').fill('34');
  await field.locator('input[placeholder="cvc"]').fill('123');
  await field.locator('input[placeholder="postal_code"]').fill('75001');
}

const localstripe = await startLocalstripe();

for (const pair of storePairs()) {
  describe(`checkout with Stripe on ${pair.name}`, { concurrency: false, skip: localstripe ? false : 'set BISTRO_TEST_STRIPE_URL or BISTRO_TEST_LOCALSTRIPE to run it against localstripe' }, () => {
    let server;
    let browser;
    const people = [];

    before(async () => {
      server = await startServer(binary, pair, stripeEnv(localstripe.url));
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

    test('a card typed into Stripe\'s field pays, and a 3-D Secure card is confirmed and pays once', async () => {
      const customer = await newPerson(browser);
      people.push(customer);
      const page = await customer.context.newPage();
      const sent = [];
      page.on('request', (request) => {
        if (request.url().endsWith('/graphql') && request.method() === 'POST') sent.push(request.postData() ?? '');
      });
      await customerWithADish(page, server.base);
      await page.getByRole('link', { name: /^Cart/ }).click();
      await page.getByRole('link', { name: 'Go to checkout' }).click();
      await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();
      // No test cards: Stripe's field.
      assert.equal(await page.getByText('tok_visa').count(), 0);
      await page.locator('[data-stripe-card] input').first().waitFor();
      await accessible(page, 'checkout with Stripe');

      await typeCard(page, '4242424242424242');
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.getByText('Thank you! Your order was placed.').waitFor();
      await page.locator('[data-order-status="PLACED"]').waitFor();
      // The card's number went to Stripe; Bistro got an id.
      assert.ok(sent.every((body) => !body.includes('4242424242424242')), 'no card number reached Bistro');
      assert.ok(sent.some((body) => /"paymentToken":"(pm|card)_/.test(body)), sent.join('\n'));

      // A card whose bank asks its holder to confirm.
      await addADish(page);
      await page.getByRole('link', { name: /^Cart/ }).click();
      await page.getByRole('link', { name: 'Go to checkout' }).click();
      await page.locator('[data-stripe-card] input').first().waitFor();
      await typeCard(page, '4000002760003184');
      // The storefront sends hashes: the operation is named beside its documentId.
      const checkouts = () => sent.filter((body) => JSON.parse(body).operationName === 'Checkout');
      const before = checkouts().length;
      await page.getByRole('button', { name: 'Place order' }).click();
      // Stripe's challenge (the stand-in's dialog): confirmed.
      await page.getByRole('button', { name: 'Complete authentication' }).click();
      await page.getByText('Thank you! Your order was placed.').waitFor();
      const sentNow = checkouts().slice(before);
      assert.equal(sentNow.length, 2, 'the checkout, then the same checkout after the challenge');
      const key = (body) => JSON.parse(body).variables.input.idempotencyKey;
      assert.equal(key(sentNow[0]), key(sentNow[1]), 'sent again with the same key');
      assert.equal(await cartCount(page), 0);
      await page.getByRole('link', { name: 'My orders' }).click();
      await page.getByRole('heading', { level: 1, name: 'My orders' }).waitFor();
      assert.equal(await page.locator('[data-order-status]').count(), 2);
      await page.close();
    });
  });
}

after(async () => {
  await localstripe?.stop();
});
