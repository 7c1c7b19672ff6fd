//! The corpus of bad input: every kind of event the events contract refuses, each with
//! the reason code it must get and a piece of the detail that names the field. The
//! decoder's unit tests and the Kafka dead-letter test both run it.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

/// One bad message.
pub struct BadEvent {
    /// What is wrong with it.
    pub name: &'static str,
    /// The bytes sent.
    pub bytes: Vec<u8>,
    /// The contract's reason code.
    pub reason: &'static str,
    /// A piece of the detail message.
    pub detail: &'static str,
}

/// A valid `llm.tokens` event one hour before `now` (id `e-1`, source `gw/eu-1`).
pub fn good_event(now: DateTime<Utc>) -> Value {
    json!({
        "specversion": "1.0", "id": "e-1", "source": "gw/eu-1", "type": "llm.tokens",
        "subject": "customer-42", "time": (now - TimeDelta::hours(1) + TimeDelta::milliseconds(123)).to_rfc3339(),
        "data": { "model": "gpt-4o", "direction": "input", "tokens": 1200 }
    })
}

/// The good event with `path` set to `value`, or removed if `None`.
pub fn event_with(now: DateTime<Utc>, path: &[&str], value: Option<Value>) -> Vec<u8> {
    let mut event = good_event(now);
    let mut target = &mut event;
    for key in &path[..path.len() - 1] {
        target = target.get_mut(*key).expect("a path of the good event");
    }
    let object = target.as_object_mut().expect("an object");
    let last = path[path.len() - 1];
    match value {
        Some(v) => {
            object.insert(last.to_owned(), v);
        }
        None => {
            object.remove(last);
        }
    }
    serde_json::to_vec(&event).expect("JSON")
}

/// Every kind of bad input, for a decoder whose clock reads `now`, whose size limit is
/// 64 KiB and whose late window is 35 days.
pub fn bad_events(now: DateTime<Utc>) -> Vec<BadEvent> {
    let with = |path: &[&str], value: Option<Value>| event_with(now, path, value);
    let number = |text: &str| -> Value { serde_json::from_str(text).expect("a JSON number") };
    let text = serde_json::to_vec(&good_event(now)).expect("JSON");
    let mut huge = good_event(now);
    huge["data"]["padding"] = json!("x".repeat(1 << 20));
    let huge = serde_json::to_vec(&huge).expect("JSON");
    let mut invalid_utf8 = text.clone();
    let at = invalid_utf8.iter().position(|b| *b == b'g').expect("a g"); // inside "gpt-4o"
    invalid_utf8[at] = 0xff;
    let future = (now + TimeDelta::hours(1)).to_rfc3339();
    let old = (now - TimeDelta::days(400)).to_rfc3339();
    let bad = |name, bytes, reason, detail| BadEvent { name, bytes, reason, detail };
    // Nesting that once overflowed the decoder's stack (42 KB, under the size limit).
    let deep = |open: &str, close: &str, depth: usize| -> Vec<u8> {
        let event = String::from_utf8(with(&["data", "x"], Some(json!("HOLE")))).expect("UTF-8");
        event.replace("\"HOLE\"", &format!("{}1{}", open.repeat(depth), close.repeat(depth))).into_bytes()
    };
    vec![
        bad("empty message", vec![], "not_json", "EOF"),
        bad("not JSON", b"hello".to_vec(), "not_json", "expected value"),
        bad("truncated", text[..text.len() / 2].to_vec(), "not_json", "EOF"),
        bad("invalid UTF-8", invalid_utf8, "not_utf8", "UTF-8"),
        bad("1 MB payload", huge, "too_large", "over the limit"),
        bad("a JSON array", b"[1,2]".to_vec(), "not_cloudevent", "array"),
        bad("a JSON string", b"\"event\"".to_vec(), "not_cloudevent", "string"),
        bad("no specversion", with(&["specversion"], None), "not_cloudevent", "specversion"),
        bad("specversion 0.3", with(&["specversion"], Some(json!("0.3"))), "not_cloudevent", "specversion"),
        bad(
            "unknown top-level field, malformed name",
            with(&["Customer-Name"], Some(json!("x"))),
            "not_cloudevent",
            "Customer-Name",
        ),
        bad("missing id", with(&["id"], None), "missing_field", "id: missing"),
        bad("missing source", with(&["source"], None), "missing_field", "source: missing"),
        bad("missing type", with(&["type"], None), "missing_field", "type: missing"),
        bad("missing subject", with(&["subject"], None), "missing_field", "subject: missing"),
        bad("missing time", with(&["time"], None), "missing_field", "time: missing"),
        bad("empty id", with(&["id"], Some(json!(""))), "missing_field", "id: empty"),
        bad("null subject", with(&["subject"], Some(json!(null))), "missing_field", "subject: missing"),
        bad("id is a number", with(&["id"], Some(json!(17))), "invalid_field", "id: a number"),
        bad("subject is an object", with(&["subject"], Some(json!({"id": 1}))), "invalid_field", "subject: a object"),
        bad("data is an array", with(&["data"], Some(json!([1]))), "invalid_field", "data: a array"),
        bad("data is a string", with(&["data"], Some(json!("tokens=5"))), "invalid_field", "data: a string"),
        bad("binary data", with(&["data_base64"], Some(json!("AAAA"))), "invalid_field", "data_base64"),
        bad(
            "xml content type",
            with(&["datacontenttype"], Some(json!("application/xml"))),
            "invalid_field",
            "datacontenttype",
        ),
        bad("unparsable time", with(&["time"], Some(json!("yesterday"))), "bad_time", "time: \"yesterday\""),
        bad("time without offset", with(&["time"], Some(json!("2026-11-23T11:00:00"))), "bad_time", "time"),
        bad("time is a number", with(&["time"], Some(json!(1_790_000_000))), "invalid_field", "time: a number"),
        bad("time far in the future", with(&["time"], Some(json!(future))), "time_in_future", "ahead"),
        bad("time too old", with(&["time"], Some(json!(old))), "time_too_old", "late window"),
        bad(
            "metered value missing",
            with(&["data", "tokens"], None),
            "missing_value",
            "data.tokens: missing (meter llm_tokens)",
        ),
        bad("no data at all", with(&["data"], None), "missing_value", "data.tokens"),
        bad(
            "non-numeric value",
            with(&["data", "tokens"], Some(json!("many"))),
            "non_numeric_value",
            "\"many\" is not a number",
        ),
        bad("boolean value", with(&["data", "tokens"], Some(json!(true))), "non_numeric_value", "data.tokens"),
        bad("value is an object", with(&["data", "tokens"], Some(json!({"n": 1}))), "missing_value", "data.tokens"),
        bad("negative value", with(&["data", "tokens"], Some(json!(-5))), "negative_value", "-5 is negative"),
        bad("negative numeric string", with(&["data", "tokens"], Some(json!("-0.5"))), "negative_value", "negative"),
        bad(
            "too many decimals",
            with(&["data", "tokens"], Some(number("0.0000000000001"))),
            "value_out_of_range",
            "data.tokens",
        ),
        bad("too large", with(&["data", "tokens"], Some(number("1e40"))), "value_out_of_range", "data.tokens"),
        bad("80 digits", with(&["data", "tokens"], Some(number(&"9".repeat(80)))), "value_out_of_range", "data.tokens"),
        bad("data nests 8,000 objects", deep("{\"a\":", "}", 8_000), "too_deep", "32 levels"),
        bad("data nests 40 objects", deep("{\"a\":", "}", 40), "too_deep", "nests more than 33 levels"),
        bad("data nests 30,000 arrays", deep("[", "]", 30_000), "too_deep", "32 levels"),
        bad("NUL in subject", with(&["subject"], Some(json!("acme\u{0}"))), "invalid_field", "U+0000"),
        bad("escape in id", with(&["id"], Some(json!("e-\u{1b}[31m"))), "invalid_field", "id: contains"),
    ]
}
