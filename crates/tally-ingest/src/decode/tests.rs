//! The bad-input corpus: every kind of event the contract refuses, each with its reason,
//! and the valid shapes that must pass.

use chrono::{DateTime, TimeDelta, Utc};
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
    serde_json::json!({
        "specversion": "1.0", "id": "e-1", "source": "gw/eu-1", "type": "llm.tokens",
        "subject": "customer-42", "time": "2026-11-23T11:00:00.123Z",
        "data": { "model": "gpt-4o", "direction": "input", "tokens": 1200 }
    })
}

fn with(path: &[&str], value: Option<serde_json::Value>) -> Vec<u8> {
    let mut event = good();
    let mut target = &mut event;
    for key in &path[..path.len() - 1] {
        target = target.get_mut(*key).unwrap();
    }
    let object = target.as_object_mut().unwrap();
    match value {
        Some(v) => {
            object.insert(path[path.len() - 1].to_owned(), v);
        }
        None => {
            object.remove(path[path.len() - 1]);
        }
    }
    serde_json::to_vec(&event).unwrap()
}

fn reason_of(bytes: &[u8]) -> Rejection {
    match decoder().decode(bytes, now()) {
        Err(r) => r,
        Ok(d) => panic!("accepted {:?}", d.event),
    }
}

#[test]
fn the_corpus_of_bad_input_is_rejected_with_the_right_reason() {
    use serde_json::json;
    let future = (now() + TimeDelta::hours(1)).to_rfc3339();
    let old = (now() - TimeDelta::days(400)).to_rfc3339();
    let text = serde_json::to_vec(&good()).unwrap();
    let mut huge = good();
    huge["data"]["padding"] = json!("x".repeat(1 << 20));
    let huge = serde_json::to_vec(&huge).unwrap();
    let mut invalid_utf8 = text.clone();
    let at = invalid_utf8.iter().position(|b| *b == b'g').unwrap(); // inside "gpt-4o"
    invalid_utf8[at] = 0xff;
    let corpus: Vec<(&str, Vec<u8>, Reason, &str)> = vec![
        ("empty message", vec![], Reason::NotJson, "EOF"),
        ("not JSON", b"hello".to_vec(), Reason::NotJson, "expected value"),
        ("truncated", text[..text.len() / 2].to_vec(), Reason::NotJson, "EOF"),
        ("invalid UTF-8", invalid_utf8, Reason::NotUtf8, "UTF-8"),
        ("1 MB payload", huge, Reason::TooLarge, "over the limit"),
        ("a JSON array", b"[1,2]".to_vec(), Reason::NotCloudEvent, "array"),
        ("a JSON string", b"\"event\"".to_vec(), Reason::NotCloudEvent, "string"),
        ("no specversion", with(&["specversion"], None), Reason::NotCloudEvent, "specversion"),
        ("specversion 0.3", with(&["specversion"], Some(json!("0.3"))), Reason::NotCloudEvent, "specversion"),
        ("unknown top-level field, malformed name", with(&["Customer-Name"], Some(json!("x"))), Reason::NotCloudEvent, "Customer-Name"),
        ("missing id", with(&["id"], None), Reason::MissingField, "id: missing"),
        ("missing source", with(&["source"], None), Reason::MissingField, "source: missing"),
        ("missing type", with(&["type"], None), Reason::MissingField, "type: missing"),
        ("missing subject", with(&["subject"], None), Reason::MissingField, "subject: missing"),
        ("missing time", with(&["time"], None), Reason::MissingField, "time: missing"),
        ("empty id", with(&["id"], Some(json!(""))), Reason::MissingField, "id: empty"),
        ("null subject", with(&["subject"], Some(json!(null))), Reason::MissingField, "subject: missing"),
        ("id is a number", with(&["id"], Some(json!(17))), Reason::InvalidField, "id: a number"),
        ("subject is an object", with(&["subject"], Some(json!({"id": 1}))), Reason::InvalidField, "subject: a object"),
        ("data is an array", with(&["data"], Some(json!([1]))), Reason::InvalidField, "data: a array"),
        ("data is a string", with(&["data"], Some(json!("tokens=5"))), Reason::InvalidField, "data: a string"),
        ("binary data", with(&["data_base64"], Some(json!("AAAA"))), Reason::InvalidField, "data_base64"),
        ("xml content type", with(&["datacontenttype"], Some(json!("application/xml"))), Reason::InvalidField, "datacontenttype"),
        ("unparsable time", with(&["time"], Some(json!("yesterday"))), Reason::BadTime, "time: \"yesterday\""),
        ("time without offset", with(&["time"], Some(json!("2026-11-23T11:00:00"))), Reason::BadTime, "time"),
        ("time is a number", with(&["time"], Some(json!(1_790_000_000))), Reason::InvalidField, "time: a number"),
        ("time far in the future", with(&["time"], Some(json!(future))), Reason::TimeInFuture, "ahead"),
        ("time too old", with(&["time"], Some(json!(old))), Reason::TimeTooOld, "late window"),
        ("metered value missing", with(&["data", "tokens"], None), Reason::MissingValue, "data.tokens: missing (meter llm_tokens)"),
        ("no data at all", with(&["data"], None), Reason::MissingValue, "data.tokens"),
        ("non-numeric value", with(&["data", "tokens"], Some(json!("many"))), Reason::NonNumericValue, "\"many\" is not a number"),
        ("boolean value", with(&["data", "tokens"], Some(json!(true))), Reason::NonNumericValue, "data.tokens"),
        ("value is an object", with(&["data", "tokens"], Some(json!({"n": 1}))), Reason::MissingValue, "data.tokens"),
        ("negative value", with(&["data", "tokens"], Some(json!(-5))), Reason::NegativeValue, "-5 is negative"),
        ("negative numeric string", with(&["data", "tokens"], Some(json!("-0.5"))), Reason::NegativeValue, "negative"),
        ("too many decimals", with(&["data", "tokens"], Some(serde_json::from_str("0.0000000000001").unwrap())), Reason::ValueOutOfRange, "data.tokens"),
        ("too large", with(&["data", "tokens"], Some(serde_json::from_str("1e40").unwrap())), Reason::ValueOutOfRange, "data.tokens"),
    ];
    assert!(corpus.len() >= 25);
    for (name, bytes, reason, detail) in corpus {
        let r = reason_of(&bytes);
        assert_eq!(r.reason, reason, "{name}: {}", r.detail);
        assert!(r.detail.contains(detail), "{name}: detail {:?} lacks {detail:?}", r.detail);
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
