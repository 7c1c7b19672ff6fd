//! Any request to the HTTP API in process (the router `tally run` serves, on an
//! embedded store): every route and method, every role, any path segment and body.
//! The API must never answer 500, and every error must be its JSON `{code, message}`.
#![no_main]

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tally_api::{hash_token, router, Api, Events, RequestLimits, Role, Token, Tokens};
use tally_domain::Catalog;
use tally_ingest::decode::{DecodeRules, Decoder};
use tally_ingest::{IngestMetrics, Intake, IntakeConfig};
use tally_store::embedded::EmbeddedStore;
use tally_store::AnyStore;
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

const ROUTES: [(&str, &str); 16] = [
    ("POST", "/v1/events"),
    ("GET", "/v1/customers"),
    ("POST", "/v1/customers"),
    ("GET", "/v1/customers/{}"),
    ("PATCH", "/v1/customers/{}"),
    ("GET", "/v1/customers/{}/usage?{}"),
    ("GET", "/v1/customers/{}/invoice-preview"),
    ("POST", "/v1/subscriptions"),
    ("PATCH", "/v1/subscriptions/{}"),
    ("GET", "/v1/invoices?{}"),
    ("GET", "/v1/invoices/{}"),
    ("POST", "/v1/invoices/{}/void"),
    ("GET", "/v1/invoices/{}/lines/{}/explain"),
    ("POST", "/v1/invoices/{}/payments"),
    ("GET", "/v1/receivables/aging?{}"),
    ("DELETE", "/v1/{}"),
];

const CONTENT_TYPES: [&str; 4] =
    ["application/json", "application/cloudevents-batch+json", "application/x-ndjson", "text/plain"];

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let store = Arc::new(AnyStore::Embedded(EmbeddedStore::open(&dir.path().join("tally.db")).expect("a store")));
        let text = include_str!("../../config/catalog.toml");
        let catalog = Arc::new(Catalog::from_toml_str(text, "config/catalog.toml").expect("the sample catalog"));
        let registry = prometheus::Registry::new();
        let decoder = Decoder::new(&catalog, DecodeRules::default());
        let metrics = IngestMetrics::register(&registry).expect("metrics");
        let intake = Intake::new(decoder, store.clone(), metrics, IntakeConfig::default(), Arc::new(AtomicBool::new(false)));
        let tokens: Vec<Token> = [("i", Role::Ingest), ("r", Role::Read), ("a", Role::Admin)]
            .iter()
            .map(|(t, role)| Token { name: (*t).into(), role: *role, sha256: hash_token(t) })
            .collect();
        let api = Api {
            store,
            catalog,
            events: Events::Store(Arc::new(intake)),
            tokens: Arc::new(Tokens::new(&tokens).expect("tokens")),
            issuer: Arc::new(tally_invoicing::document::Issuer { name: "Tally".into(), ..Default::default() }),
            fonts: Arc::new(tally_pdf::Fonts::load(&[]).expect("the bundled fonts")),
            horizon: tally_domain::DateHorizon { past: chrono::TimeDelta::days(400), future: chrono::TimeDelta::days(1830) },
            prefixes: ("INV-".into(), "CN-".into()),
            terms: tally_invoicer::receivables::Terms { payment_terms: chrono::TimeDelta::days(30), reporting: None },
            exports: tally_books::exports::ExportOptions {
                date_order: String::new(),
                receivable_account: "Accounts Receivable".into(),
                deposit_account: "Undeposited Funds".into(),
                tax_account: "Sales Tax Payable".into(),
                currency: None,
            },
            in_flight: Arc::new(tokio::sync::Semaphore::new(64)),
        };
        let limits = RequestLimits { max_body_bytes: 1 << 16, timeout: std::time::Duration::from_secs(10) };
        let app = router(api, limits, tally_api::HttpMetrics::register(&registry).expect("metrics"));
        World { runtime, app, _dir: dir }
    })
}

fuzz_target!(|bytes: &[u8]| {
    let [route, who, rest @ ..] = bytes else { return };
    let (method, template) = ROUTES[usize::from(*route) % ROUTES.len()];
    let content_type = CONTENT_TYPES[usize::from(*route / 16) % CONTENT_TYPES.len()];
    let (segments, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    // Path segments and the query as raw bytes, %-encoded where a URI needs it.
    let mut parts = segments.split(|b| *b == b'/').map(|s| {
        s.iter().map(|b| if b.is_ascii_alphanumeric() || b"-_.~=&".contains(b) { char::from(*b).to_string() } else { format!("%{b:02X}") }).collect::<String>()
    });
    let mut path = String::new();
    for (i, piece) in template.split("{}").enumerate() {
        if i > 0 {
            path.push_str(&parts.next().unwrap_or_default());
        }
        path.push_str(piece);
    }
    let mut request = Request::builder().method(method).uri(&path).header("content-type", content_type);
    if let Some(token) = ["i", "r", "a"].get(usize::from(*who) % 4) {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else { return };
    let world = world();
    let response = world.runtime.block_on(world.app.clone().oneshot(request)).expect("the router is infallible");
    let status = response.status();
    assert!(status.as_u16() != 500, "{method} {path}: 500");
    let json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = world.runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX)).expect("a body");
    if status.as_u16() >= 400 {
        assert!(json, "{method} {path}: {status} is not JSON: {}", String::from_utf8_lossy(&body));
        let error: serde_json::Value = serde_json::from_slice(&body).expect("an error body is JSON");
        assert!(error["code"].is_string() && error["message"].is_string(), "{error}");
    }
});
