//! The bad-input corpus: every kind of event the contract refuses, each with its reason,
//! and the valid shapes that must pass.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_domain::Catalog;

use super::*;

const NOW: &str = "2026-11-23T12:00:00Z";

fn decoder() -> Decoder {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml");
    let catalog = Catalog::load(std::path::Path::new(path)).expect("config/catalog.toml loads");
    Decoder::new(&catalog, DecodeRules::default())
}

fn now() -> DateTime<Utc> {
    NOW.parse().unwrap()
}

fn good() -> serde_json::Value {
    tally_tests::good_event(now())
}

fn with(path: &[&str], value: Option<serde_json::Value>) -> Vec<u8> {
    tally_tests::event_with(now(), path, value)
}

fn reason_of(bytes: &[u8]) -> Rejection {
    match decoder().decode(bytes, now()) {
        Err(r) => r,
        Ok(d) => panic!("accepted {:?}", d.event),
    }
}

#[test]
fn the_corpus_of_bad_input_is_rejected_with_the_right_reason() {
    let corpus = tally_tests::bad_events(now());
    assert!(corpus.len() >= 25);
    for bad in corpus {
        let r = reason_of(&bad.bytes);
        assert_eq!(r.reason.code(), bad.reason, "{}: {}", bad.name, r.detail);
        assert!(r.detail.contains(bad.detail), "{}: detail {:?} lacks {:?}", bad.name, r.detail, bad.detail);
    }
}

#[test]
fn a_rejection_keeps_the_identity_it_could_read() {
    let r = reason_of(&with(&["time"], Some(serde_json::json!("bad"))));
    assert_eq!((r.source.as_deref(), r.id.as_deref()), (Some("gw/eu-1"), Some("e-1")));
    assert_eq!(reason_of(b"nope").source, None);
}

#[test]
fn valid_shapes_pass_exactly() {
    use serde_json::json;
    let d = decoder();
    let ok = |bytes: Vec<u8>| d.decode(&bytes, now()).unwrap_or_else(|r| panic!("{r:?}"));
    let e = ok(serde_json::to_vec(&good()).unwrap());
    assert!(e.metered);
    assert_eq!(e.event.number("tokens"), Some(Decimal::from(1200)));
    assert_eq!(e.event.time_millis() % 1000, 123);
    // Numbers read exactly, from numbers and numeric strings.
    let e = ok(with(&["data", "tokens"], Some(serde_json::from_str("0.1").unwrap())));
    assert_eq!(e.event.number("tokens").unwrap().to_string(), "0.1");
    let e = ok(with(&["data", "tokens"], Some(json!("1200"))));
    assert_eq!(e.event.number("tokens"), Some(Decimal::from(1200)));
    // Any offset, stored as UTC.
    let e = ok(with(&["time"], Some(json!("2026-11-23T12:30:00+02:00"))));
    assert_eq!(e.event.time.to_rfc3339(), "2026-11-23T10:30:00+00:00");
    // A CloudEvents extension attribute and unknown fields inside data are kept.
    let e = ok(with(&["traceparent"], Some(json!("00-abc"))));
    assert!(e.metered);
    let mut nested = good();
    nested["data"]["usage"] = json!({"cached": {"tokens": 5}, "extra": [1, 2]});
    let e = ok(serde_json::to_vec(&nested).unwrap());
    assert_eq!(e.event.number("usage.cached.tokens"), Some(Decimal::from(5)));
    // Zero is not negative.
    ok(with(&["data", "tokens"], Some(json!(0))));
    // An unmetered type is kept, and flagged.
    let e = ok(with(&["type"], Some(json!("embedding.requests"))));
    assert!(!e.metered);
    // An unmetered number beyond the store's range stays as text only.
    let e = ok(with(&["data", "huge"], Some(serde_json::from_str("1e40").unwrap())));
    assert_eq!(e.event.number("huge"), None);
    assert!(e.event.string("huge").is_some_and(|t| t.contains("e+40")), "{:?}", e.event.string("huge"));
}

#[test]
fn an_optional_value_may_be_missing_but_not_wrong() {
    use serde_json::json;
    let d = decoder();
    let gpu = |cost: Option<serde_json::Value>| {
        let mut e = json!({
            "specversion": "1.0", "id": "g-1", "source": "gpu", "type": "gpu.usage", "subject": "c",
            "time": "2026-11-23T11:00:00Z", "data": { "gpu_type": "h100", "region": "eu", "gpu_seconds": 3600 }
        });
        if let Some(c) = cost {
            e["data"]["cost_usd"] = c;
        }
        d.decode(&serde_json::to_vec(&e).unwrap(), now())
    };
    assert!(gpu(None).is_ok(), "cost_usd is optional (required = false)");
    assert!(gpu(Some(json!("2.50"))).is_ok());
    assert_eq!(gpu(Some(json!("n/a"))).unwrap_err().reason, Reason::NonNumericValue);
    assert_eq!(gpu(Some(json!(-1))).unwrap_err().reason, Reason::NegativeValue);
}

#[test]
fn reason_codes_round_trip() {
    for r in Reason::ALL {
        assert_eq!(Reason::from_code(r.code()), Some(r));
    }
}
