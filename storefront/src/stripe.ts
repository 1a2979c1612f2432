// Stripe Elements for the checkout page, when the server's processor is
// Stripe: Stripe.js is loaded from the URL the server names (its
// Content-Security-Policy allows that origin, and only when the processor
// is Stripe), the card's number goes from Stripe's field to Stripe, and the
// page gets back a PaymentMethod id, which is all Bistro ever sees. A card
// whose bank asks its holder to confirm (3-D Secure) is confirmed with
// Stripe.js too, with the payment's client secret the checkout answered.

/** The parts of Stripe.js the page uses. */
interface StripeResult {
  error?: { message?: string; code?: string };
  paymentMethod?: { id: string };
  token?: { id: string; card?: { id: string } };
  paymentIntent?: { status: string };
}
interface CardElement {
  mount(target: HTMLElement): void;
  on(event: 'change', handler: (event?: { error?: { message?: string } }) => void): void;
}
interface Stripe {
  elements(): { create(kind: 'card', options?: Record<string, unknown>): CardElement };
  createPaymentMethod(data: { type: 'card'; card: CardElement }): Promise<StripeResult | undefined>;
  createToken?(card: CardElement): Promise<StripeResult | undefined>;
  handleNextAction?(data: { clientSecret: string }): Promise<StripeResult | undefined>;
  confirmCardPayment(clientSecret: string): Promise<StripeResult | undefined>;
}
declare global {
  interface Window {
    Stripe?: (publishableKey: string) => Stripe;
  }
}

let loading: Promise<void> | null = null;

/** Loads Stripe.js from `url` once per page. */
function load(url: string): Promise<void> {
  loading ??= new Promise<void>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.async = true;
    script.addEventListener('load', () => resolve());
    script.addEventListener('error', () => {
      loading = null;
      reject(new Error('Stripe.js could not be loaded'));
    });
    document.head.appendChild(script);
  });
  return loading;
}

/** A card field of Stripe's, mounted in `target`. */
export interface StripeCard {
  /** A PaymentMethod id for the card entered (or a refusal to show). */
  paymentMethod(): Promise<{ id: string } | { error: string }>;
  /** Lets the card's holder confirm the payment (3-D Secure); the checkout is then asked again. */
  confirm(clientSecret: string): Promise<void>;
}

export async function mountCard(scriptUrl: string, publishableKey: string, target: HTMLElement, onError: (message: string) => void): Promise<StripeCard> {
  await load(scriptUrl);
  if (!window.Stripe) throw new Error('Stripe.js did not load');
  const stripe = window.Stripe(publishableKey);
  const card = stripe.elements().create('card', { hidePostalCode: true });
  card.mount(target);
  // Stripe's field says what is wrong with the card as it is typed.
  card.on('change', (event) => onError(event?.error?.message ?? ''));
  return {
    async paymentMethod() {
      const made = await stripe.createPaymentMethod({ type: 'card', card });
      if (made?.paymentMethod) return { id: made.paymentMethod.id };
      if (made?.error) return { error: made.error.message ?? 'The card details are not complete.' };
      // A Stripe.js without PaymentMethods (localstripe's stand-in, which
      // the tests load): a card token's card, which Stripe takes as a
      // PaymentMethod too. Stripe's own Stripe.js never comes here.
      const token = await stripe.createToken?.(card);
      if (token?.token?.card) return { id: token.token.card.id };
      return { error: token?.error?.message ?? 'The card details are not complete.' };
    },
    async confirm(clientSecret: string) {
      // Whatever the holder does, the checkout asked again says what came of it.
      if (stripe.handleNextAction) await stripe.handleNextAction({ clientSecret });
      else await stripe.confirmCardPayment(clientSecret);
    },
  };
}
