//! The router in process: back-pressure on `POST /v1/events` (429 while the permits
//! are taken, 202 once one is free).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tally_domain::Catalog;
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::{IngestMetrics, Intake, IntakeConfig};
use tally_store::embedded::EmbeddedStore;
use tally_store::AnyStore;
use tower::ServiceExt;

use crate::{hash_token, router, Api, Events, Role, Token, Tokens};

const CATALOG: &str = r#"
[[meters]]
key = "tokens"
event_type = "llm.tokens"
aggregation = "sum"
value = "tokens"

[[plans]]
key = "daily"
currency = "USD"
interval = "day"

[[plans.charges]]
key = "tokens"
meter = "tokens"
price = { model = "per_unit", unit_price = "0.01" }
"#;

fn api(dir: &std::path::Path, permits: usize) -> Api {
    let store = Arc::new(AnyStore::Embedded(EmbeddedStore::open(&dir.join("tally.db")).unwrap()));
    let catalog = Arc::new(Catalog::from_toml_str(CATALOG, "catalog.toml").unwrap());
    let metrics = IngestMetrics::register(&prometheus_registry()).unwrap();
    let decoder = Decoder::new(&catalog, DecodeRules::default());
    let intake =
        Intake::new(decoder, store.clone(), metrics, IntakeConfig::default(), Arc::new(AtomicBool::new(false)));
    let token = Token { name: "t".into(), role: Role::Ingest, sha256: hash_token("secret") };
    Api {
        store,
        catalog,
        events: Events::Store(Arc::new(intake)),
        tokens: Arc::new(Tokens::new(&[token]).unwrap()),
        issuer: std::sync::Arc::new(tally_invoicing::document::Issuer { name: "Tally".into(), ..Default::default() }),
        fonts: std::sync::Arc::new(tally_pdf::Fonts::load(&[]).unwrap()),
        horizon: tally_domain::DateHorizon {
            past: chrono::TimeDelta::days(400),
            future: chrono::TimeDelta::days(1830),
        },
        prefixes: ("INV-".into(), "CN-".into()),
        terms: tally_invoicer::receivables::Terms { payment_terms: chrono::TimeDelta::days(30), reporting: None },
        exports: tally_books::exports::ExportOptions {
            date_order: String::new(),
            receivable_account: "Accounts Receivable".into(),
            deposit_account: "Undeposited Funds".into(),
            tax_account: "Sales Tax Payable".into(),
            currency: None,
        },
        in_flight: Arc::new(tokio::sync::Semaphore::new(permits)),
    }
}

fn prometheus_registry() -> prometheus::Registry {
    prometheus::Registry::new()
}

fn post_event() -> Request<Body> {
    let event = serde_json::json!({"specversion": "1.0", "id": "e1", "source": "s", "type": "llm.tokens",
        "subject": "acme", "time": chrono::Utc::now().to_rfc3339(), "data": {"tokens": 5}});
    Request::post("/v1/events")
        .header("authorization", "Bearer secret")
        .header("content-type", "application/cloudevents+json")
        .body(Body::from(event.to_string()))
        .unwrap()
}

#[tokio::test]
async fn event_requests_beyond_the_limit_get_429_then_pass_once_a_permit_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), 1);
    let held = api.in_flight.clone().try_acquire_owned().unwrap();
    let app = router(
        api,
        crate::RequestLimits { max_body_bytes: 1 << 20, timeout: std::time::Duration::from_secs(60) },
        crate::HttpMetrics::register(&prometheus_registry()).unwrap(),
    );
    let busy = app.clone().oneshot(post_event()).await.unwrap();
    assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(busy.headers()["retry-after"], "1");
    drop(held);
    let ok = app.oneshot(post_event()).await.unwrap();
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
}

fn post_events(first: usize, count: usize) -> Request<Body> {
    let now = chrono::Utc::now().to_rfc3339();
    let events: Vec<serde_json::Value> = (first..first + count)
        .map(|i| {
            serde_json::json!({"specversion": "1.0", "id": format!("e{i}"), "source": "s", "type": "llm.tokens",
                "subject": "acme", "time": now, "data": {"tokens": 1}})
        })
        .collect();
    Request::post("/v1/events")
        .header("authorization", "Bearer secret")
        .header("content-type", "application/cloudevents-batch+json")
        .body(Body::from(serde_json::Value::Array(events).to_string()))
        .unwrap()
}

/// Concurrent requests: every one is answered once its events are durable, and every
/// event is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_event_requests_are_all_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), 64);
    let store = api.store.clone();
    let app = router(
        api,
        crate::RequestLimits { max_body_bytes: 1 << 20, timeout: std::time::Duration::from_secs(60) },
        crate::HttpMetrics::register(&prometheus_registry()).unwrap(),
    );
    let requests: Vec<_> = (0..32).map(|r| tokio::spawn(app.clone().oneshot(post_events(r * 10, 10)))).collect();
    for request in requests {
        let response = request.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    // A request that repeats events already stored: accepted, counted once.
    assert_eq!(app.oneshot(post_events(0, 10)).await.unwrap().status(), StatusCode::ACCEPTED);
    let day = chrono::TimeDelta::days(1);
    let period = tally_domain::Period::new(chrono::Utc::now() - day, chrono::Utc::now() + day).unwrap();
    use tally_store::UsageStore;
    assert_eq!(store.count_events(&period).await.unwrap(), 320);
}
