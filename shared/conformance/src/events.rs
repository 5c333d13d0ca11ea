//! The contract of the event publisher: every event arrives once, in EventBridge's envelope, with
//! its detail intact; an event the bus cannot carry is reported, and the rest still arrive.

use dealpulse_domain::events::{CatalogEvent, EventEnvelope, EventPublisher, ProductSnapshot};
use dealpulse_domain::ids::ProductId;
use dealpulse_domain::money::{Currency, Money};
use futures::future::BoxFuture;
use jiff::Timestamp;
use std::any::Any;
use std::sync::Arc;

pub struct EventsFixture {
    pub publisher: Arc<dyn EventPublisher>,
    /// The events delivered since the previous call.
    pub delivered: Box<dyn Fn() -> BoxFuture<'static, Vec<EventEnvelope>> + Send + Sync>,
    pub guard: Box<dyn Any + Send>,
}

fn price_change(product_id: ProductId, cents: i64) -> CatalogEvent {
    let eur = Currency::parse("EUR").unwrap();
    CatalogEvent::PriceChanged {
        product: ProductSnapshot {
            product_id,
            url: format!("https://shop.example.com/p/{product_id}"),
            title: Some("Espresso X1".into()),
            price: Some(Money::from_minor(cents, eur).unwrap()),
            in_stock: Some(true),
        },
        from: Some(Money::from_minor(cents + 1000, eur).unwrap()),
        to: Money::from_minor(cents, eur).unwrap(),
        at: Timestamp::now(),
        score: None,
    }
}

async fn delivered_for(
    fixture: &EventsFixture,
    product: ProductId,
    want: usize,
) -> Vec<CatalogEvent> {
    let mut found = Vec::new();
    for _ in 0..50 {
        found.extend(
            (fixture.delivered)()
                .await
                .into_iter()
                .filter(|e| match &e.detail {
                    CatalogEvent::PriceChanged { product: p, .. }
                    | CatalogEvent::StockChanged { product: p, .. } => p.product_id == product,
                    CatalogEvent::ListingObserved { .. } => false,
                })
                .inspect(|e| {
                    assert_eq!(e.source, "dealpulse.ingest");
                    assert_eq!(e.detail_type, e.detail.kind());
                })
                .map(|e| e.detail),
        );
        if found.len() >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    found
}

pub async fn every_event_arrives_once_with_its_detail(fixture: &EventsFixture) {
    let product = ProductId::generate();
    let mut events: Vec<CatalogEvent> =
        (0..22).map(|i| price_change(product, 20_000 + i)).collect();
    events.push(CatalogEvent::StockChanged {
        product: ProductSnapshot {
            product_id: product,
            url: "https://shop.example.com/p/x".into(),
            title: None,
            price: None,
            in_stock: Some(false),
        },
        from: Some(true),
        to: false,
        at: Timestamp::now(),
    });
    fixture.publisher.publish(&events).await.unwrap();
    let mut got = delivered_for(fixture, product, events.len()).await;
    assert_eq!(got.len(), events.len(), "23 events in three batches");
    let key = |e: &CatalogEvent| serde_json::to_string(e).unwrap();
    got.sort_by_key(key);
    events.sort_by_key(key);
    assert_eq!(got, events);
}

pub async fn an_event_too_large_for_the_bus_is_reported_and_the_rest_arrive(
    fixture: &EventsFixture,
) {
    let product = ProductId::generate();
    let mut huge = price_change(product, 1);
    if let CatalogEvent::PriceChanged { product, .. } = &mut huge {
        product.title = Some("x".repeat(300 * 1024));
    }
    let events = vec![price_change(product, 5), huge, price_change(product, 7)];
    let error = fixture.publisher.publish(&events).await.unwrap_err();
    assert!(
        matches!(
            error,
            dealpulse_domain::events::PublishError::Rejected {
                failed: 1,
                total: 3,
                ..
            }
        ),
        "{error:?}"
    );
    let got = delivered_for(fixture, product, 2).await;
    assert_eq!(got.len(), 2);
}

pub async fn publishing_nothing_is_fine(fixture: &EventsFixture) {
    fixture.publisher.publish(&[]).await.unwrap();
}

#[macro_export]
macro_rules! events_conformance {
    ($fixture:path) => {
        $crate::events_conformance!(@cases $fixture;
            every_event_arrives_once_with_its_detail,
            an_event_too_large_for_the_bus_is_reported_and_the_rest_arrive,
            publishing_nothing_is_fine
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::events::$case(&fixture).await;
                drop(fixture);
            }
        )*
    };
}
