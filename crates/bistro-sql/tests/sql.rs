//! The relational store on both backends: migrations, seeding, batched
//! queries (one statement per batch) and failure classification.
//!
//! SQLite always; PostgreSQL too when `BISTRO_TEST_DATABASE_URL` is set (each
//! test in its own schema, dropped afterwards). A set but unreachable URL fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bistro_sql::entity::{menu_item, restaurant};
use bistro_sql::query::{self, MenuPageArgs, PageWindow, RestaurantFilter};
use bistro_sql::seed::{SeedOptions, SeedSize};
use bistro_sql::{Error, SqlConfig};
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();

/// One database for one test, removed on [`TestDb::drop_all`].
struct TestDb {
    db: DatabaseConnection,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
}

/// A temporary directory removed on drop (no extra dependency for one helper).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    async fn drop_all(self) {
        self.db.close().await.ok();
        if let Some((admin_url, schema)) = self.cleanup {
            let admin = sea_orm::Database::connect(admin_url.as_str())
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!(r#"DROP SCHEMA "{schema}" CASCADE"#))
                .await
                .unwrap();
            admin.close().await.ok();
        }
    }
}

async fn databases() -> Vec<TestDb> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("bistro-sql-test-{id}"));
    let sqlite_url = format!("sqlite://{}/bistro.db?mode=rwc", dir.display());
    let sqlite = bistro_sql::connect(&sqlite_url, &SqlConfig::default())
        .await
        .unwrap();
    bistro_sql::migrate(&sqlite).await.unwrap();
    let mut out = vec![TestDb {
        db: sqlite,
        cleanup: None,
        _dir: Some(TempDir(dir)),
    }];
    if let Ok(url) = std::env::var("BISTRO_TEST_DATABASE_URL") {
        let schema = format!("t_{id}");
        let admin = sea_orm::Database::connect(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("BISTRO_TEST_DATABASE_URL is set but unreachable: {e}"));
        admin
            .execute_unprepared(&format!(r#"CREATE SCHEMA "{schema}""#))
            .await
            .unwrap();
        admin.close().await.ok();
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        let pg = bistro_sql::connect(&scoped, &SqlConfig::default())
            .await
            .unwrap();
        bistro_sql::migrate(&pg).await.unwrap();
        out.push(TestDb {
            db: pg,
            cleanup: Some((url, schema)),
            _dir: None,
        });
    }
    out
}

fn options(seed: u64) -> SeedOptions {
    SeedOptions {
        size: SeedSize::Small,
        seed,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        progress: false,
        today: TODAY,
    }
}

/// A clone of `db` that counts the statements it runs.
fn counted(db: &DatabaseConnection) -> (DatabaseConnection, Arc<AtomicU64>) {
    let counter = Arc::new(AtomicU64::new(0));
    let mut db = db.clone();
    let c = counter.clone();
    db.set_metric_callback(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    (db, counter)
}

#[tokio::test]
async fn migrations_are_idempotent_and_seeding_is_deterministic() {
    for t in databases().await {
        // A second run finds nothing to do.
        bistro_sql::migrate(&t.db).await.unwrap();
        assert!(bistro_sql::seed::is_empty(&t.db).await.unwrap());
        let summary = bistro_sql::seed::seed(&t.db, &options(7)).await.unwrap();
        assert_eq!(summary.restaurants, 12);
        assert_eq!(summary.menu_items, 144);
        assert_eq!(summary.users, 40);
        assert_eq!(summary.orders, 400);
        assert_eq!(summary.reviews, 150);
        assert!(summary.order_lines >= 400);
        assert!(!bistro_sql::seed::is_empty(&t.db).await.unwrap());

        let first = restaurant::Entity::find_by_id(1)
            .one(&t.db)
            .await
            .unwrap()
            .unwrap();
        // Same seed, same data, whatever the backend: compare with a fresh SQLite.
        let other = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        bistro_sql::migrate(&other).await.unwrap();
        bistro_sql::seed::seed(&other, &options(7)).await.unwrap();
        let again = restaurant::Entity::find_by_id(1)
            .one(&other)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.slug, again.slug);
        assert_eq!(first.opening_hours, again.opening_hours);
        let lines = bistro_sql::seed::todays_order_lines(&t.db, TODAY)
            .await
            .unwrap();
        assert!(!lines.is_empty(), "a tenth of the orders are today's");
        assert_eq!(
            lines,
            bistro_sql::seed::todays_order_lines(&other, TODAY)
                .await
                .unwrap()
        );
        // Carts: the demo customer first, one restaurant each, deterministic.
        let carts = bistro_sql::seed::cart_plan(&t.db, 7, 5).await.unwrap();
        assert_eq!(carts.len(), 5);
        assert_eq!(
            carts,
            bistro_sql::seed::cart_plan(&other, 7, 5).await.unwrap()
        );
        let demo = bistro_sql::query::user_by_email(&t.db, bistro_sql::seed::DEMO_CUSTOMER_EMAIL)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(carts[0].user_id, demo.id);
        for cart in &carts {
            assert!(!cart.lines.is_empty());
            let items = query::menu_items_by_ids(
                &t.db,
                &cart.lines.iter().map(|l| l.0).collect::<Vec<_>>(),
            )
            .await
            .unwrap();
            assert!(
                items
                    .iter()
                    .all(|i| i.restaurant_id == cart.restaurant_id && i.available)
            );
        }
        // A different seed gives different data.
        let third = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        bistro_sql::migrate(&third).await.unwrap();
        bistro_sql::seed::seed(&third, &options(8)).await.unwrap();
        assert_ne!(
            lines,
            bistro_sql::seed::todays_order_lines(&third, TODAY)
                .await
                .unwrap()
        );

        // Ids continue after the seeded ones (PostgreSQL sequences were moved).
        let inserted = restaurant::Entity::insert(restaurant::ActiveModel {
            slug: sea_orm::Set("new-place".into()),
            name: sea_orm::Set("New Place".into()),
            cuisine: sea_orm::Set("thai".into()),
            description: sea_orm::Set(String::new()),
            address: sea_orm::Set(String::new()),
            opening_hours: sea_orm::Set("[]".into()),
            currency_code: sea_orm::Set("EUR".into()),
            created_at: sea_orm::Set(chrono::Utc::now()),
            ..Default::default()
        })
        .exec(&t.db)
        .await
        .unwrap();
        assert_eq!(inserted.last_insert_id, 13);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn batched_queries_cost_one_statement_whatever_the_batch() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(1)).await.unwrap();
        let (db, statements) = counted(&t.db);
        let ids: Vec<i64> = (1..=12).collect();
        let args = MenuPageArgs {
            course: None,
            window: PageWindow {
                after: None,
                before: None,
                limit: 3,
                backward: false,
            },
        };
        for batch in [&ids[..1], &ids[..5], &ids[..]] {
            let before = statements.load(Ordering::Relaxed);
            query::restaurants_by_ids(&db, batch).await.unwrap();
            query::menu_pages(&db, batch, &args).await.unwrap();
            query::menu_counts(&db, batch, Some("MAIN")).await.unwrap();
            query::review_pages(
                &db,
                batch,
                &PageWindow {
                    after: None,
                    before: None,
                    limit: 2,
                    backward: false,
                },
            )
            .await
            .unwrap();
            query::rating_aggregates(&db, batch).await.unwrap();
            query::user_display_names(&db, batch).await.unwrap();
            assert_eq!(
                statements.load(Ordering::Relaxed) - before,
                6,
                "batch of {}",
                batch.len()
            );
        }
        t.drop_all().await;
    }
}

#[tokio::test]
async fn menu_pages_match_a_per_restaurant_query() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let ids = [2_i64, 5, 9];
        let window = PageWindow {
            after: None,
            before: None,
            limit: 4,
            backward: false,
        };
        let rows = query::menu_pages(
            &t.db,
            &ids,
            &MenuPageArgs {
                course: None,
                window: window.clone(),
            },
        )
        .await
        .unwrap();
        for id in ids {
            let expected_rows = menu_item::Entity::find()
                .filter(menu_item::Column::RestaurantId.eq(id))
                .order_by_asc(menu_item::Column::Position)
                .order_by_asc(menu_item::Column::Id)
                .all(&t.db)
                .await
                .unwrap();
            // Whole rows, not only ids: pages are decoded by position on PostgreSQL.
            let got_rows: Vec<&menu_item::Model> =
                rows.iter().filter(|m| m.restaurant_id == id).collect();
            assert_eq!(got_rows, expected_rows.iter().take(5).collect::<Vec<_>>());
            let expected: Vec<i64> = expected_rows.iter().map(|m| m.id).collect();
            let got: Vec<i64> = got_rows.iter().map(|m| m.id).collect();
            // limit + 1 rows: the extra one tells the caller a next page exists.
            assert_eq!(got, expected[..5]);

            // Backward from the 6th item gives items 2..=5 (plus the extra 1st), in display order.
            let sixth = menu_item::Entity::find_by_id(expected[5])
                .one(&t.db)
                .await
                .unwrap()
                .unwrap();
            let back = query::menu_pages(
                &t.db,
                &[id],
                &MenuPageArgs {
                    course: None,
                    window: PageWindow {
                        after: None,
                        before: Some(query::MenuCursor {
                            position: sixth.position,
                            id: sixth.id,
                        }),
                        limit: 4,
                        backward: true,
                    },
                },
            )
            .await
            .unwrap();
            let back: Vec<i64> = back.iter().map(|m| m.id).collect();
            assert_eq!(back, expected[..5]);
        }

        let counts = query::menu_counts(&t.db, &ids, None).await.unwrap();
        assert!(ids.iter().all(|id| counts[id] == 12));
        let mains = query::menu_counts(&t.db, &ids, Some("MAIN")).await.unwrap();
        assert!(ids.iter().all(|id| mains[id] == 5));
        t.drop_all().await;
    }
}

#[tokio::test]
async fn menu_items_by_id_are_the_rows_sea_orm_reads() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let mut expected = menu_item::Entity::find().all(&t.db).await.unwrap();
        expected.sort_by_key(|m| m.id);
        // Limited and unlimited items, so both sides of the one nullable column are read.
        assert!(expected.iter().any(|m| m.daily_stock.is_some()));
        assert!(expected.iter().any(|m| m.daily_stock.is_none()));
        let ids: Vec<i64> = expected.iter().map(|m| m.id).collect();
        let mut got = query::menu_items_by_ids(&t.db, &ids).await.unwrap();
        got.sort_by_key(|m| m.id);
        assert_eq!(got, expected, "{:?}", t.db.get_database_backend());
    }
}

#[tokio::test]
async fn restaurant_pages_filter_and_walk_both_ways() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(4)).await.unwrap();
        let all = RestaurantFilter::default();
        let page = |after, before, backward| PageWindow {
            after,
            before,
            limit: 5,
            backward,
        };
        let first = query::restaurants_page(&t.db, &all, &page(None, None, false))
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|r| r.id).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
        let last = query::restaurants_page(&t.db, &all, &page(None, None, true))
            .await
            .unwrap();
        assert_eq!(
            last.iter().map(|r| r.id).collect::<Vec<_>>(),
            [7, 8, 9, 10, 11, 12]
        );
        assert_eq!(query::count_restaurants(&t.db, &all).await.unwrap(), 12);

        let cuisine = first[0].cuisine.clone();
        let filter = RestaurantFilter {
            cuisine: Some(cuisine.to_uppercase()),
        };
        let matching = query::restaurants_page(&t.db, &filter, &page(None, None, false))
            .await
            .unwrap();
        assert!(!matching.is_empty());
        assert!(matching.iter().all(|r| r.cuisine == cuisine));
        let slugs = vec![first[0].slug.clone(), "no-such-place".to_owned()];
        let by_slug = query::restaurants_by_slugs(&t.db, &slugs).await.unwrap();
        assert_eq!(by_slug.len(), 1);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn rating_aggregates_include_restaurants_without_reviews() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(5)).await.unwrap();
        let ratings = query::rating_aggregates(&t.db, &[1, 2, 999]).await.unwrap();
        assert_eq!(
            ratings[&999],
            query::RatingAggregate {
                average: 0.0,
                count: 0
            }
        );
        let reviews = bistro_sql::entity::review::Entity::find()
            .filter(bistro_sql::entity::review::Column::RestaurantId.eq(1))
            .all(&t.db)
            .await
            .unwrap();
        let expected =
            reviews.iter().map(|r| f64::from(r.rating)).sum::<f64>() / reviews.len() as f64;
        assert_eq!(ratings[&1].count, reviews.len() as u64);
        assert!((ratings[&1].average - expected).abs() < 1e-9);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn search_ranks_names_above_descriptions_and_follows_edits() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(6)).await.unwrap();
        let hits = query::search_menu_items(&t.db, "ramen", 0, 50)
            .await
            .unwrap();
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|h| {
            let text = format!("{} {}", h.item.name, h.item.description).to_lowercase();
            text.contains("ramen")
        }));
        assert!(hits.windows(2).all(|w| w[0].rank >= w[1].rank));
        // Stemming: "dumpling" finds "dumplings".
        assert!(
            !query::search_menu_items(&t.db, "dumpling", 0, 5)
                .await
                .unwrap()
                .is_empty()
        );
        // Every word must match; punctuation and FTS syntax are inert.
        assert!(
            query::search_menu_items(&t.db, "ramen tiramisu", 0, 5)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            query::search_menu_items(&t.db, "\"ramen\" OR NEAR(", 0, 5)
                .await
                .is_ok()
        );
        assert!(
            query::search_menu_items(&t.db, "  --  ", 0, 5)
                .await
                .unwrap()
                .is_empty()
        );
        // Pages do not overlap.
        let page1 = query::search_menu_items(&t.db, "ramen", 0, 2)
            .await
            .unwrap();
        let page2 = query::search_menu_items(&t.db, "ramen", 2, 2)
            .await
            .unwrap();
        assert!(
            page1
                .iter()
                .all(|a| page2.iter().all(|b| a.item.id != b.item.id))
        );

        // A renamed item is found under its new name at once (triggers / generated column).
        let target = hits[0].item.id;
        menu_item::Entity::update_many()
            .col_expr(
                menu_item::Column::Name,
                sea_orm::sea_query::Expr::value("Zanzibar Pilau"),
            )
            .filter(menu_item::Column::Id.eq(target))
            .exec(&t.db)
            .await
            .unwrap();
        let renamed = query::search_menu_items(&t.db, "zanzibar", 0, 5)
            .await
            .unwrap();
        assert_eq!(
            renamed.iter().map(|h| h.item.id).collect::<Vec<_>>(),
            [target]
        );
        t.drop_all().await;
    }
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_and_fails_fast() {
    let config = SqlConfig {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
    };
    let started = Instant::now();
    let err = bistro_sql::connect("postgres://postgres@127.0.0.1:1/postgres", &config)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn constraint_violations_are_database_errors() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(2)).await.unwrap();
        let err =
            t.db.execute_unprepared("UPDATE reviews SET rating = 9 WHERE id = 1")
                .await
                .map_err(Error::from)
                .unwrap_err();
        assert!(matches!(err, Error::Db(_)), "{err:?}");
        t.drop_all().await;
    }
}

fn new_order(user_id: i64, key: &str) -> bistro_sql::ordering::NewOrder {
    use bistro_sql::ordering::{NewEmail, NewOrder, NewOrderLine, NewPayment};
    NewOrder {
        user_id,
        restaurant_id: 1,
        fulfilment: bistro_sql::entity::Fulfilment::Pickup,
        table_number: None,
        delivery_address: None,
        subtotal_amount: 1200,
        total_amount: 1200,
        currency_code: "EUR".into(),
        idempotency_key: key.into(),
        checkout_fingerprint: "fp".into(),
        lines: vec![NewOrderLine {
            menu_item_id: 1,
            name: "Soup".into(),
            quantity: 2,
            unit_price_amount: 600,
            options: "[]".into(),
            line_total_amount: 1200,
        }],
        payment: NewPayment {
            provider: "simulated".into(),
            reference: format!("auth_{user_id}_{key}"),
        },
        confirmation: NewEmail {
            recipient: "someone@example.com".into(),
            subject: "Order {order_id}".into(),
            body: "Thanks for order {order_id}.".into(),
            kind: "ORDER_CONFIRMATION".into(),
        },
        placed_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn idempotency_keys_are_unique_per_customer_not_across_customers() {
    use bistro_sql::ordering::{PlaceOrderError, order_by_idempotency_key, place_order};
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let placed = place_order(&t.db, new_order(1, "key-1")).await.unwrap();
        let first = placed.order.clone();
        // Another customer may use the same key.
        let other = place_order(&t.db, new_order(2, "key-1"))
            .await
            .unwrap()
            .order;
        assert_ne!(first.id, other.id);
        // The same customer may not.
        assert!(matches!(
            place_order(&t.db, new_order(1, "key-1")).await,
            Err(PlaceOrderError::DuplicateKey)
        ));
        let found = order_by_idempotency_key(&t.db, 1, "key-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, first.id);
        assert_eq!(found.checkout_fingerprint.as_deref(), Some("fp"));
        // Everything was written with the order, the email naming it.
        let outbox = bistro_sql::outbox::all(&t.db).await.unwrap();
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox[0].subject, format!("Order {}", first.id));
        let events = bistro_sql::ordering::events_by_orders(&t.db, &[first.id])
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        let payments = bistro_sql::ordering::payments_by_orders(&t.db, &[first.id])
            .await
            .unwrap();
        assert_eq!(payments[0].amount, 1200);
        // What place_order hands back is what was written.
        assert_eq!(events, vec![placed.event]);
        assert_eq!(payments, vec![placed.payment]);
        let lines = bistro_sql::query::order_lines_by_orders(&t.db, &[first.id])
            .await
            .unwrap();
        assert_eq!(lines, placed.lines);
        // Units sold today count it (and the seeded orders of the day).
        let sold =
            bistro_sql::ordering::units_sold_on(&t.db, chrono::Utc::now().date_naive(), &[1])
                .await
                .unwrap();
        assert!(sold[&1] >= 4, "{sold:?}");
        t.drop_all().await;
    }
}

#[tokio::test]
async fn transitions_apply_only_from_the_expected_status() {
    use bistro_sql::entity::{OrderStatus as S, PaymentStatus as P};
    use bistro_sql::ordering::{NewTransition, place_order, record_transition};
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let order = place_order(&t.db, new_order(1, "k")).await.unwrap().order;
        let accept = NewTransition {
            order_id: order.id,
            from: S::Placed,
            to: S::Accepted,
            payment: Some((P::Authorized, P::Captured)),
            actor_user_id: Some(2),
            note: None,
            at: chrono::Utc::now(),
        };
        let accepted = record_transition(&t.db, accept.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (accepted.status, accepted.payment_status),
            (S::Accepted, P::Captured)
        );
        // The same transition again finds the order moved on: nothing happens.
        assert_eq!(record_transition(&t.db, accept).await.unwrap(), None);
        let events = bistro_sql::ordering::events_by_orders(&t.db, &[order.id])
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        let payments = bistro_sql::ordering::payments_by_orders(&t.db, &[order.id])
            .await
            .unwrap();
        assert_eq!(payments[0].status, P::Captured);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn outbox_claims_never_overlap_and_lapsed_leases_are_claimable_again() {
    use bistro_sql::ordering::place_order;
    use bistro_sql::outbox;
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        for i in 0..6 {
            place_order(&t.db, new_order(1, &format!("k{i}")))
                .await
                .unwrap();
        }
        let now = chrono::Utc::now() + chrono::Duration::seconds(1);
        let lease = Duration::from_secs(60);
        let (a, b) = tokio::join!(
            outbox::claim_due(&t.db, "a", now, lease, 4),
            outbox::claim_due(&t.db, "b", now, lease, 4)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 6, "every row claimed once");
        assert!(
            a.iter()
                .all(|row| !b.iter().any(|other| other.id == row.id))
        );
        assert!(
            outbox::claim_due(&t.db, "c", now, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Only the lease holder finishes a row.
        assert!(!outbox::mark_sent(&t.db, a[0].id, "b", now).await.unwrap());
        assert!(outbox::mark_sent(&t.db, a[0].id, "a", now).await.unwrap());
        // After the leases lapse, the unfinished rows are claimable again, and count a second attempt.
        let later = now + chrono::Duration::seconds(61);
        let again = outbox::claim_due(&t.db, "c", later, lease, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 5);
        assert!(again.iter().all(|row| row.attempts == 2));
        // A retry waits until it is due.
        assert!(
            outbox::retry_later(
                &t.db,
                again[0].id,
                "c",
                later + chrono::Duration::seconds(30),
                "refused"
            )
            .await
            .unwrap()
        );
        let due = outbox::claim_due(&t.db, "d", later + chrono::Duration::seconds(61), lease, 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 5);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn option_groups_load_with_their_options_in_one_statement() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let (db, count) = counted(&t.db);
        let ids: Vec<i64> = (1..=144).collect();
        let groups = bistro_sql::ordering::option_groups_by_items(&db, &ids)
            .await
            .unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 1);
        assert!(!groups.is_empty());
        for item_groups in groups.values() {
            for group in item_groups {
                assert!(!group.options.is_empty());
                assert!(
                    group
                        .options
                        .windows(2)
                        .all(|w| w[0].position <= w[1].position)
                );
            }
        }
        t.drop_all().await;
    }
}
