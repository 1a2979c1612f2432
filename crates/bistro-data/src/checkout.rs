//! Checkout: a customer's cart becomes an order, paid once, whatever the
//! retries.
//!
//! **Idempotency.** The client sends an idempotency key with each checkout
//! and the same key with each retry of it. The key is the customer's (two
//! customers may use the same one). A checkout:
//!
//! 1. fingerprints what it asks for: the input (fulfilment, table,
//!    address, payment token, expected total) and the cart (restaurant,
//!    lines, options);
//! 2. claims the key in the key-value store with set-if-absent and an
//!    expiry ([`CheckoutKey`], [`Claim::Pending`]). If another request holds
//!    the claim, this one compares fingerprints — a different request is
//!    refused (`KeyReused`) — and otherwise waits for that request's result
//!    instead of paying again: an order ([`Claim::Done`]) is returned as
//!    this checkout's, a released claim is claimed anew;
//! 3. with the claim, looks for an order with this key in SQL: when the
//!    key-value entry was lost (expired, flushed) after an earlier attempt
//!    succeeded, that order is the answer (if the fingerprint matches: the
//!    input must be the same, and the cart the same or already emptied by
//!    that checkout);
//! 4. prices the cart from SQL through the loaders (items, options,
//!    availability; the client's `expectedTotal` must equal the computed
//!    total, else `PriceChanged` and nothing happens);
//! 5. reserves limited stock, all lines or none (`stock`);
//! 6. authorizes the payment, outside any transaction (a slow processor
//!    holds no lock), passing the provider a key derived from the
//!    customer's, so a repeated authorization returns the same one;
//! 7. writes the order, its lines, its payment, its first event and its
//!    confirmation email in one transaction. Should the unique index on
//!    (customer, key) refuse it — a concurrent attempt that lost its claim
//!    committed first — that order is the answer, and this attempt's
//!    authorization is voided if it is a different one;
//! 8. after the commit: records the claim as done, empties the cart (only
//!    if it is still the cart that was ordered), counts popularity, and
//!    publishes `PLACED`.
//!
//! Any failure after the claim gives the reserved stock back and releases
//! the claim: a key is spent only by an order, so a customer whose card was
//! declined (or whose cart changed price) fixes it and retries with the same
//! key. An authorization no order will use (another attempt's order won the
//! key) is voided; one made for an order that could not be written (the
//! database failed) is kept for the retry of the same checkout, which gets
//! it back from the provider by the same key — voided, it would come back
//! voided — and lapses at the processor if no retry comes.
//!
//! **Layout** `checkout:v1:{user id}:{key}` (string): `pending|{fingerprint}|{claim}`
//! while a checkout runs, `done|{fingerprint}|{order id}` after. Expires
//! after [`CLAIM_TTL`] (a pending claim whose request died lapses). Written
//! and read by checkout only; lost, the SQL unique index decides.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use bistro_kv::typed::Codec;
use bistro_payments::{AuthorizeRequest, PaymentError, PaymentProvider};
use bistro_sql::entity::{Fulfilment, order};
use bistro_sql::ordering::{self, NewEmail, NewOrder, NewOrderLine, NewPayment, PlaceOrderError};
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::cart::{CartKey, StoredCart};
use crate::events::{self, EventActor};
use crate::money::{format_minor, to_minor};
use crate::stock::{self, Want};
use crate::{Result, Scope, options, popularity};

/// How long a claim (pending or done) is kept.
pub const CLAIM_TTL: Duration = Duration::from_secs(24 * 3600);

/// Longest a checkout waits for another request holding its key.
pub const WAIT_FOR_CLAIM: Duration = Duration::from_secs(10);

/// Added to delivery orders, in minor units of the restaurant's currency.
pub const DELIVERY_FEE: i64 = 350;

/// Longest idempotency key accepted.
pub const MAX_KEY_CHARS: usize = 100;

/// Longest delivery address accepted.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// Highest table number accepted.
pub const MAX_TABLE_NUMBER: i32 = 9_999;

bistro_kv::kv_key! {
    /// A customer's checkout with one idempotency key.
    pub struct CheckoutKey { pub user_id: i64, pub key: String } => value Claim = "checkout:v1:{user_id}:{key}";
}

/// The state of an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A checkout with this key is running.
    Pending {
        /// What it asks for.
        fingerprint: Fingerprint,
        /// Which attempt holds the claim (only it releases it).
        claim_id: String,
    },
    /// The key placed this order.
    Done {
        /// What the checkout asked for.
        fingerprint: Fingerprint,
        /// The order.
        order_id: i64,
    },
}

impl Codec for Claim {
    fn encode(&self) -> String {
        match self {
            Self::Pending {
                fingerprint,
                claim_id,
            } => format!("pending|{}|{claim_id}", fingerprint.encode()),
            Self::Done {
                fingerprint,
                order_id,
            } => format!("done|{}|{order_id}", fingerprint.encode()),
        }
    }

    fn decode(raw: &str) -> Option<Self> {
        let mut parts = raw.splitn(3, '|');
        let (state, fingerprint, rest) = (parts.next()?, parts.next()?, parts.next()?);
        let fingerprint = Fingerprint::decode(fingerprint)?;
        match state {
            "pending" => Some(Self::Pending {
                fingerprint,
                claim_id: rest.to_owned(),
            }),
            "done" => Some(Self::Done {
                fingerprint,
                order_id: rest.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// What a checkout asks for: hashes of its input and of its cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    input: String,
    cart: String,
}

impl Fingerprint {
    fn encode(&self) -> String {
        format!("{}.{}", self.input, self.cart)
    }

    fn decode(raw: &str) -> Option<Self> {
        let (input, cart) = raw.split_once('.')?;
        Some(Self {
            input: input.to_owned(),
            cart: cart.to_owned(),
        })
    }

    /// Whether a request with this fingerprint is a retry of the checkout
    /// that placed an order with `placed`: same input, and the same cart or
    /// the empty cart that checkout left behind.
    fn retries(&self, placed: &Self, empty_cart: &str) -> bool {
        self.input == placed.input && (self.cart == placed.cart || self.cart == empty_cart)
    }
}

fn hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..16]
        .iter()
        .fold(String::with_capacity(32), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn cart_hash(cart: Option<&StoredCart>) -> String {
    let Some(cart) = cart else {
        return hash("");
    };
    let mut lines: Vec<String> = cart
        .lines
        .iter()
        .map(|l| format!("{}x{}:{:?}", l.menu_item_id, l.quantity, l.option_ids))
        .collect();
    lines.sort();
    hash(&format!("{}|{}", cart.restaurant_id, lines.join(",")))
}

/// A checkout, as the customer asks for it.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    /// The customer.
    pub user_id: i64,
    /// How the order reaches them.
    pub fulfilment: Fulfilment,
    /// Table, for dine-in.
    pub table_number: Option<i32>,
    /// Address, for delivery.
    pub delivery_address: Option<String>,
    /// The card token.
    pub payment_token: String,
    /// The customer's idempotency key.
    pub idempotency_key: String,
    /// The total the customer saw, as they sent it (a decimal in the restaurant's currency).
    pub expected_total: String,
}

impl CheckoutRequest {
    fn input_hash(&self) -> String {
        // "12.5" and "12.50" are the same total.
        let total = if self.expected_total.contains('.') {
            self.expected_total
                .trim_end_matches('0')
                .trim_end_matches('.')
        } else {
            &self.expected_total
        };
        hash(&format!(
            "{:?}|{:?}|{:?}|{}|{}",
            self.fulfilment,
            self.table_number,
            self.delivery_address.as_deref().map(str::trim),
            self.payment_token,
            total
        ))
    }
}

/// What came of a checkout.
#[derive(Debug, Clone)]
pub enum CheckoutOutcome {
    /// The order (new, or the one an earlier attempt with the key placed).
    Placed(order::Model),
    /// Nothing was ordered, for this reason.
    Refused(CheckoutProblem),
}

/// Why a checkout placed no order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutProblem {
    /// The idempotency key is empty, too long, or has characters other than letters, digits, `-` and `_`.
    KeyInvalid,
    /// The key was used for a different checkout.
    KeyReused,
    /// Another request with this key is still running; retry shortly.
    InProgress,
    /// The fulfilment's details are missing or out of place.
    InvalidFulfilment(&'static str),
    /// The cart is empty.
    CartEmpty,
    /// An item cannot be ordered now (gone, switched off, or its options no longer fit).
    ItemUnavailable(i64),
    /// Fewer units of an item are left today than the cart holds.
    OutOfStock(i64),
    /// The total is not what the customer saw; here is the current one (minor units, currency).
    PriceChanged(i64, String),
    /// The card was declined.
    CardDeclined(String),
    /// The payment could not be made; nothing was charged.
    PaymentFailed(String),
}

/// A checkout that holds the key's claim; dropping it without finishing
/// leaves the claim to lapse, so every path finishes it.
struct Held {
    key: CheckoutKey,
    claim: Claim,
}

/// A priced cart.
struct Priced {
    restaurant_id: i64,
    restaurant_name: String,
    currency: String,
    lines: Vec<NewOrderLine>,
    subtotal: i64,
    total: i64,
    wants: Vec<Want>,
}

impl Scope {
    /// Checks a customer's cart out. See the module documentation.
    pub async fn checkout(
        &self,
        provider: &dyn PaymentProvider,
        request: CheckoutRequest,
    ) -> Result<CheckoutOutcome> {
        use CheckoutOutcome::Refused;
        let key = &request.idempotency_key;
        if key.is_empty()
            || key.chars().count() > MAX_KEY_CHARS
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Ok(Refused(CheckoutProblem::KeyInvalid));
        }
        if let Some(problem) = fulfilment_problem(&request) {
            return Ok(Refused(problem));
        }
        let cart_key = bistro_kv::typed::Key::render(&CartKey {
            user_id: request.user_id,
        });
        let key = CheckoutKey {
            user_id: request.user_id,
            key: key.clone(),
        };
        let empty_cart = cart_hash(None);
        let deadline = tokio::time::Instant::now() + WAIT_FOR_CLAIM;
        let mut pause = Duration::from_millis(10);
        // Claim the key, or wait for whoever holds it.
        let (held, raw_cart, cart, fingerprint) = loop {
            let raw_cart = self.kv.get(&cart_key).await?;
            let cart = raw_cart.as_deref().and_then(StoredCart::decode);
            let fingerprint = Fingerprint {
                input: request.input_hash(),
                cart: cart_hash(cart.as_ref()),
            };
            let claim = Claim::Pending {
                fingerprint: fingerprint.clone(),
                claim_id: claim_id(),
            };
            if self
                .kv
                .store_if_absent(&key, &claim, Some(CLAIM_TTL))
                .await?
            {
                break (Held { key, claim }, raw_cart, cart, fingerprint);
            }
            match self.kv.load(&key).await? {
                Some(Claim::Done {
                    fingerprint: placed,
                    order_id,
                }) => {
                    if !fingerprint.retries(&placed, &empty_cart) {
                        return Ok(Refused(CheckoutProblem::KeyReused));
                    }
                    if let Some(order) = self.loaders.order.load_one(order_id).await? {
                        return Ok(CheckoutOutcome::Placed(order));
                    }
                    // A done claim naming no order (the order table was
                    // reset): let SQL decide, as if the claim were lost.
                    self.kv.remove(std::slice::from_ref(&key)).await?;
                }
                Some(Claim::Pending {
                    fingerprint: running,
                    ..
                }) => {
                    if running != fingerprint {
                        return Ok(Refused(CheckoutProblem::KeyReused));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(Refused(CheckoutProblem::InProgress));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                // Released (or lapsed) meanwhile: claim it again.
                None => {}
            }
        };
        let outcome = self
            .checkout_holding(provider, &request, &held, raw_cart, cart, &fingerprint)
            .await;
        match &outcome {
            Ok(CheckoutOutcome::Placed(order)) => {
                let done = Claim::Done {
                    fingerprint: order
                        .checkout_fingerprint
                        .as_deref()
                        .and_then(Fingerprint::decode)
                        .unwrap_or(fingerprint),
                    order_id: order.id,
                };
                if let Err(error) = self.kv.store(&held.key, &done, Some(CLAIM_TTL)).await {
                    // The SQL unique index still answers retries.
                    tracing::warn!(%error, order.id = order.id, "recording a finished checkout failed");
                }
            }
            _ => {
                if let Err(error) = self.kv.remove_if(&held.key, &held.claim).await {
                    tracing::warn!(%error, "releasing a checkout claim failed; it lapses on its own");
                }
            }
        }
        outcome
    }

    async fn checkout_holding(
        &self,
        provider: &dyn PaymentProvider,
        request: &CheckoutRequest,
        held: &Held,
        raw_cart: Option<String>,
        cart: Option<StoredCart>,
        fingerprint: &Fingerprint,
    ) -> Result<CheckoutOutcome> {
        use CheckoutOutcome::Refused;
        // An earlier attempt may have placed the order and lost its claim.
        if let Some(existing) =
            ordering::order_by_idempotency_key(&self.db, request.user_id, &held.key.key).await?
        {
            let placed = existing
                .checkout_fingerprint
                .as_deref()
                .and_then(Fingerprint::decode);
            return Ok(match placed {
                Some(placed) if fingerprint.retries(&placed, &cart_hash(None)) => {
                    CheckoutOutcome::Placed(existing)
                }
                _ => Refused(CheckoutProblem::KeyReused),
            });
        }
        let (Some(cart), Some(raw_cart)) = (cart, raw_cart) else {
            return Ok(Refused(CheckoutProblem::CartEmpty));
        };
        if cart.lines.is_empty() {
            return Ok(Refused(CheckoutProblem::CartEmpty));
        }
        let priced = match self.price(&cart).await? {
            Ok(priced) => priced,
            Err(problem) => return Ok(Refused(problem)),
        };
        let expected = to_minor(&request.expected_total, &priced.currency);
        let total = priced.total + fee(request.fulfilment);
        if expected != Some(total) {
            return Ok(Refused(CheckoutProblem::PriceChanged(
                total,
                priced.currency,
            )));
        }
        let day = popularity::today();
        match stock::reserve(&self.db, &self.kv, day, priced.restaurant_id, &priced.wants).await? {
            Ok(_) => {}
            Err(item) => return Ok(Refused(CheckoutProblem::OutOfStock(item))),
        }
        let reserved: Vec<(i64, i64)> = priced
            .wants
            .iter()
            .map(|w| (w.menu_item_id, w.quantity))
            .collect();
        let give_back = || stock::release(&self.kv, day, priced.restaurant_id, &reserved);

        // The payment, before any transaction. The provider's key names this
        // checkout exactly (customer, key, input): a retry of it gets the same
        // authorization back, another card is another authorization.
        let provider_key = format!(
            "checkout-{}-{}-{}",
            request.user_id, held.key.key, fingerprint.input
        );
        let authorized = provider
            .authorize(AuthorizeRequest {
                idempotency_key: provider_key.clone(),
                token: request.payment_token.clone(),
                amount: total,
                currency_code: priced.currency.clone(),
            })
            .await;
        let authorization = match authorized {
            Ok(authorization) => authorization,
            Err(error) => {
                give_back().await;
                return Ok(Refused(match error {
                    PaymentError::Declined { code } => CheckoutProblem::CardDeclined(code),
                    PaymentError::Failed { code } => CheckoutProblem::PaymentFailed(code),
                }));
            }
        };
        let void = |reason: &'static str| {
            let reference = authorization.reference.clone();
            let key = format!("{provider_key}-void");
            async move {
                if let Err(error) = provider.void(&reference, &key).await {
                    tracing::error!(
                        code = error.code(),
                        reason,
                        "voiding an unused authorization failed; it expires with the processor"
                    );
                }
            }
        };

        let customer = match self.loaders.user.load_one(request.user_id).await {
            Ok(Some(customer)) => customer,
            Ok(None) => {
                give_back().await;
                void("customer gone").await;
                return Ok(Refused(CheckoutProblem::CartEmpty));
            }
            Err(error) => {
                give_back().await;
                void("store error").await;
                return Err(error);
            }
        };
        let new = NewOrder {
            user_id: request.user_id,
            restaurant_id: priced.restaurant_id,
            fulfilment: request.fulfilment,
            table_number: request.table_number,
            delivery_address: request
                .delivery_address
                .as_deref()
                .map(|a| a.trim().to_owned()),
            subtotal_amount: priced.subtotal,
            total_amount: total,
            currency_code: priced.currency.clone(),
            idempotency_key: held.key.key.clone(),
            checkout_fingerprint: fingerprint.encode(),
            confirmation: confirmation_email(&customer.email, request, &priced, total),
            lines: priced.lines,
            payment: NewPayment {
                provider: provider.name().to_owned(),
                reference: authorization.reference.clone(),
            },
            placed_at: Utc::now(),
        };
        let placed = match ordering::place_order(&self.db, new).await {
            Ok(written) => {
                // The answer reads the order's lines, payment and events:
                // hand them the rows just written instead of reading them back.
                let id = written.order.id;
                self.loaders.order_lines.prime([(id, written.lines.into())]);
                self.loaders.payment.prime([(id, written.payment)]);
                self.loaders
                    .order_events
                    .prime([(id, vec![written.event].into())]);
                self.loaders.order.prime([(id, written.order.clone())]);
                written.order
            }
            Err(PlaceOrderError::DuplicateKey) => {
                // A concurrent attempt that lost its claim committed first.
                give_back().await;
                let Some(existing) =
                    ordering::order_by_idempotency_key(&self.db, request.user_id, &held.key.key)
                        .await?
                else {
                    void("duplicate key without an order").await;
                    return Ok(Refused(CheckoutProblem::InProgress));
                };
                let kept = ordering::payments_by_orders(&self.db, &[existing.id])
                    .await?
                    .into_iter()
                    .any(|p| p.provider_reference.as_deref() == Some(&authorization.reference));
                if !kept {
                    void("another attempt placed the order").await;
                }
                return Ok(CheckoutOutcome::Placed(existing));
            }
            Err(PlaceOrderError::Store(error)) => {
                // Kept, not voided: the retry of this checkout asks the
                // provider with the same key and gets this authorization
                // back; a voided one would come back voided. Unused, it
                // lapses at the processor.
                give_back().await;
                tracing::warn!(reference = %authorization.reference, "the order was not written; its authorization is kept for the retry");
                return Err(error.into());
            }
        };

        // Committed: the rest is bookkeeping that must not undo the order.
        match self
            .kv
            .delete_if(
                &bistro_kv::typed::Key::render(&CartKey {
                    user_id: request.user_id,
                }),
                &raw_cart,
            )
            .await
        {
            Ok(_) => self.loaders.cart.clear(),
            Err(error) => {
                tracing::warn!(%error, order.id = placed.id, "emptying the ordered cart failed")
            }
        }
        let mut units: HashMap<i64, i64> = HashMap::new();
        for line in &cart.lines {
            *units.entry(line.menu_item_id).or_default() += i64::from(line.quantity);
        }
        for (menu_item_id, quantity) in units {
            if let Err(error) =
                popularity::record(&self.kv, day, placed.restaurant_id, menu_item_id, quantity)
                    .await
            {
                tracing::warn!(%error, order.id = placed.id, "counting popularity failed");
            }
        }
        events::publish_order_transition(
            &self.kv,
            &placed,
            None,
            EventActor::customer(request.user_id),
            placed.created_at,
        )
        .await;
        Ok(CheckoutOutcome::Placed(placed))
    }

    /// Prices a cart from SQL through the loaders: every item must exist,
    /// belong to the cart's restaurant, be available, and its options must
    /// still fit it.
    async fn price(
        &self,
        cart: &StoredCart,
    ) -> Result<std::result::Result<Priced, CheckoutProblem>> {
        let ids: Vec<i64> = cart.lines.iter().map(|l| l.menu_item_id).collect();
        let (items, groups, restaurant) = tokio::join!(
            self.loaders.menu_item.load_many(ids.iter().copied()),
            self.loaders.option_groups.load_many(ids.iter().copied()),
            self.loaders.restaurant.load_one(cart.restaurant_id),
        );
        let (items, groups) = (items?, groups?);
        let Some(restaurant) = restaurant? else {
            return Ok(Err(CheckoutProblem::ItemUnavailable(ids[0])));
        };
        let mut lines = Vec::with_capacity(cart.lines.len());
        let mut subtotal = 0i64;
        let mut wanted: HashMap<i64, (i32, i64)> = HashMap::new();
        for line in &cart.lines {
            let id = line.menu_item_id;
            let Some(item) = items.get(&id) else {
                return Ok(Err(CheckoutProblem::ItemUnavailable(id)));
            };
            if !item.available
                || item.restaurant_id != cart.restaurant_id
                || item.currency_code != restaurant.currency_code
            {
                return Ok(Err(CheckoutProblem::ItemUnavailable(id)));
            }
            let item_groups = groups.get(&id).cloned().unwrap_or_default();
            let Ok(chosen) = options::validate(&item_groups, &line.option_ids) else {
                return Ok(Err(CheckoutProblem::ItemUnavailable(id)));
            };
            let unit = options::unit_price(item.price_amount, &chosen);
            let line_total = unit * i64::from(line.quantity);
            subtotal += line_total;
            let options_json = serde_json::Value::Array(
                chosen
                    .iter()
                    .map(|(group, option)| {
                        serde_json::json!({
                            "group": group,
                            "option": option.name,
                            "priceDelta": option.price_delta_amount,
                        })
                    })
                    .collect(),
            )
            .to_string();
            lines.push(NewOrderLine {
                menu_item_id: id,
                name: item.name.clone(),
                quantity: line.quantity,
                unit_price_amount: unit,
                options: options_json,
                line_total_amount: line_total,
            });
            if let Some(daily_stock) = item.daily_stock {
                wanted.entry(id).or_insert((daily_stock, 0)).1 += i64::from(line.quantity);
            }
        }
        let mut wants: Vec<Want> = wanted
            .into_iter()
            .map(|(menu_item_id, (daily_stock, quantity))| Want {
                menu_item_id,
                daily_stock,
                quantity,
            })
            .collect();
        wants.sort_by_key(|w| w.menu_item_id);
        Ok(Ok(Priced {
            restaurant_id: restaurant.id,
            restaurant_name: restaurant.name.clone(),
            currency: restaurant.currency_code.clone(),
            lines,
            subtotal,
            total: subtotal,
            wants,
        }))
    }
}

/// The fee a fulfilment adds.
pub fn fee(fulfilment: Fulfilment) -> i64 {
    if fulfilment == Fulfilment::Delivery {
        DELIVERY_FEE
    } else {
        0
    }
}

fn fulfilment_problem(request: &CheckoutRequest) -> Option<CheckoutProblem> {
    let address = request
        .delivery_address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    match request.fulfilment {
        Fulfilment::Delivery => match address {
            None => Some(CheckoutProblem::InvalidFulfilment(
                "A delivery needs a delivery address.",
            )),
            Some(a) if a.chars().count() > MAX_ADDRESS_CHARS || a.chars().any(char::is_control) => {
                Some(CheckoutProblem::InvalidFulfilment(
                    "The delivery address is too long or has control characters.",
                ))
            }
            _ if request.table_number.is_some() => Some(CheckoutProblem::InvalidFulfilment(
                "A delivery has no table number.",
            )),
            _ => None,
        },
        Fulfilment::DineIn => match request.table_number {
            None => Some(CheckoutProblem::InvalidFulfilment(
                "Dining in needs a table number.",
            )),
            Some(n) if !(1..=MAX_TABLE_NUMBER).contains(&n) => Some(
                CheckoutProblem::InvalidFulfilment("The table number is out of range."),
            ),
            _ if address.is_some() => Some(CheckoutProblem::InvalidFulfilment(
                "Dining in has no delivery address.",
            )),
            _ => None,
        },
        Fulfilment::Pickup => {
            if request.table_number.is_some() || address.is_some() {
                Some(CheckoutProblem::InvalidFulfilment(
                    "A pickup has neither a table number nor a delivery address.",
                ))
            } else {
                None
            }
        }
    }
}

fn claim_id() -> String {
    // Unique enough to tell two attempts apart: time and a counter.
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:x}-{:x}-{:x}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The confirmation email: the order (its id is filled in when it is
/// written), the lines, the total and how it reaches the customer.
fn confirmation_email(
    recipient: &str,
    request: &CheckoutRequest,
    priced: &Priced,
    total: i64,
) -> NewEmail {
    let money = |minor: i64| {
        format!(
            "{} {}",
            format_minor(minor, &priced.currency),
            priced.currency
        )
    };
    let fulfilment = match request.fulfilment {
        Fulfilment::Pickup => "Pickup at the counter".to_owned(),
        Fulfilment::Delivery => format!(
            "Delivery to {}",
            request
                .delivery_address
                .as_deref()
                .unwrap_or_default()
                .trim()
        ),
        Fulfilment::DineIn => format!(
            "Dine-in, table {}",
            request.table_number.unwrap_or_default()
        ),
    };
    let mut body = format!(
        "Thank you for your order at {}.\n\nOrder number: {{order_id}}\nFulfilment: {fulfilment}\n\n",
        priced.restaurant_name
    );
    for line in &priced.lines {
        let options: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&line.options)
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o["option"].as_str().map(str::to_owned))
            .collect();
        let options = if options.is_empty() {
            String::new()
        } else {
            format!(" ({})", options.join(", "))
        };
        let _ = writeln!(
            body,
            "  {} x {}{options}: {}",
            line.quantity,
            line.name,
            money(line.line_total_amount)
        );
    }
    let _ = writeln!(body, "\nSubtotal: {}", money(priced.subtotal));
    if fee(request.fulfilment) > 0 {
        let _ = writeln!(body, "Delivery fee: {}", money(fee(request.fulfilment)));
    }
    let _ = writeln!(body, "Total: {}", money(total));
    // Lines under 76 characters keep the message plain text, unencoded.
    body.push_str(
        "\nYour card is authorized for the total; it is charged when the\nrestaurant accepts the order.\n",
    );
    NewEmail {
        recipient: recipient.to_owned(),
        subject: format!("Your order {{order_id}} at {}", priced.restaurant_name),
        body,
        kind: "ORDER_CONFIRMATION".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_round_trip() {
        let fingerprint = Fingerprint {
            input: "ab".into(),
            cart: "cd".into(),
        };
        for claim in [
            Claim::Pending {
                fingerprint: fingerprint.clone(),
                claim_id: "x-1".into(),
            },
            Claim::Done {
                fingerprint,
                order_id: 42,
            },
        ] {
            assert_eq!(Claim::decode(&claim.encode()), Some(claim));
        }
        assert_eq!(Claim::decode("done|ab.cd|x"), None);
    }

    #[test]
    fn a_retry_matches_the_same_input_with_the_same_or_the_emptied_cart() {
        let placed = Fingerprint {
            input: "in".into(),
            cart: "cart".into(),
        };
        let empty = cart_hash(None);
        let same = placed.clone();
        let emptied = Fingerprint {
            input: "in".into(),
            cart: empty.clone(),
        };
        let other_cart = Fingerprint {
            input: "in".into(),
            cart: "other".into(),
        };
        let other_input = Fingerprint {
            input: "else".into(),
            cart: "cart".into(),
        };
        assert!(same.retries(&placed, &empty));
        assert!(emptied.retries(&placed, &empty));
        assert!(!other_cart.retries(&placed, &empty));
        assert!(!other_input.retries(&placed, &empty));
    }

    fn request(
        fulfilment: Fulfilment,
        table: Option<i32>,
        address: Option<&str>,
    ) -> CheckoutRequest {
        CheckoutRequest {
            user_id: 1,
            fulfilment,
            table_number: table,
            delivery_address: address.map(str::to_owned),
            payment_token: "tok_visa".into(),
            idempotency_key: "k".into(),
            expected_total: "12.50".into(),
        }
    }

    #[test]
    fn fulfilment_details_must_fit_the_fulfilment() {
        use Fulfilment::{Delivery, DineIn, Pickup};
        assert_eq!(fulfilment_problem(&request(Pickup, None, None)), None);
        assert!(fulfilment_problem(&request(Pickup, Some(3), None)).is_some());
        assert_eq!(fulfilment_problem(&request(DineIn, Some(3), None)), None);
        assert!(fulfilment_problem(&request(DineIn, None, None)).is_some());
        assert!(fulfilment_problem(&request(DineIn, Some(0), None)).is_some());
        assert_eq!(
            fulfilment_problem(&request(Delivery, None, Some("1 Main St"))),
            None
        );
        assert!(fulfilment_problem(&request(Delivery, None, Some("  "))).is_some());
        assert!(fulfilment_problem(&request(Delivery, Some(2), Some("1 Main St"))).is_some());
        // The same total written two ways is the same input.
        let mut a = request(Pickup, None, None);
        let b = a.clone();
        a.expected_total = "12.5".into();
        assert_eq!(a.input_hash(), b.input_hash());
    }
}
