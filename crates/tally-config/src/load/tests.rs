use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use super::*;
use crate::settings::{Source, StoreKind};

fn env(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

fn with_env(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    load(&Sources { file: None, env: env(pairs), ..Default::default() })
}

fn with_file(toml: &str, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    load(&Sources { file: Some(file.path()), env: env(pairs), ..Default::default() })
}

#[test]
fn the_defaults_are_the_embedded_mode() {
    let s = with_env(&[]).unwrap();
    assert_eq!(s.store.kind, StoreKind::Embedded);
    assert_eq!(s.ingest.source, Source::Files);
    assert_eq!(s.invoicer.grace.get(), Duration::from_secs(3600));
    assert_eq!(s.ingest.batch_max_wait.get(), Duration::from_millis(500));
    assert_eq!(s.invoicer.late_window.get(), Duration::from_secs(35 * 86_400));
}

#[test]
fn the_kafka_clickhouse_file_loads_over_the_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/kafka-clickhouse.toml");
    let s = load(&Sources { file: Some(std::path::Path::new(path)), env: env(&[]), ..Default::default() }).unwrap();
    assert_eq!(s.store.kind, StoreKind::Clickhouse);
    assert_eq!(s.ingest.source, Source::Kafka);
    assert_eq!(s.ingest.kafka.topics, ["usage"]);
    // Untouched options keep their defaults.
    assert_eq!(s.invoicer.number_prefix, "INV-");
}

#[test]
fn the_environment_wins_over_the_file() {
    let s = with_file(
        "[invoicer]\ngrace = \"2h\"\n[ingest]\nbatch_max_events = 10\n",
        &[
            ("TALLY__INVOICER__GRACE", "30m"),
            ("TALLY__INGEST__KAFKA__TOPICS", "a,b"),
            ("TALLY__STORE__CLICKHOUSE__PASSWORD", "hunter2"),
            ("TALLY__HTTP__ENABLED", "false"),
            ("TALLY_LOG", "debug"),
        ],
    )
    .unwrap();
    assert_eq!(s.invoicer.grace.get(), Duration::from_secs(1800));
    assert_eq!(s.ingest.batch_max_events, 10);
    assert_eq!(s.ingest.kafka.topics, ["a", "b"]);
    assert_eq!(s.store.clickhouse.password, "hunter2");
    assert!(!s.http.enabled);
}

#[test]
fn an_unknown_key_is_named_with_a_suggestion() {
    let err = with_file("[ingest]\nbatch_max_event = 10\n", &[]).unwrap_err().to_string();
    assert_eq!(err, "unknown key `ingest.batch_max_event` (did you mean `ingest.batch_max_events`?)");
    let err = with_env(&[("TALLY__INVOICER__GRACE_PERIOD", "1h")]).unwrap_err().to_string();
    assert!(err.starts_with("unknown key `invoicer.grace_period`"), "{err}");
    let err = with_file("[storage]\nkind = \"embedded\"\n", &[]).unwrap_err().to_string();
    assert_eq!(err, "unknown key `storage` (did you mean `store`?)");
}

#[test]
fn a_wrong_value_names_its_key_and_the_reason() {
    let cases = [
        ("[store]\nkind = \"sqlite\"\n", "store.kind", "sqlite"),
        ("[invoicer]\ngrace = \"soon\"\n", "invoicer.grace", "not a duration"),
        ("[http]\nlisten = \"localhost\"\n", "http.listen", "address"),
        ("[ingest]\nbatch_max_events = 0\n", "ingest.batch_max_events", "at least 1"),
        ("[ingest]\nenabled = \"yes please\"\n", "ingest.enabled", "bool"),
        (
            "[store]\nkind = \"clickhouse\"\n[store.clickhouse]\nurl = \"tcp://x:9000\"\n",
            "store.clickhouse.url",
            "http",
        ),
        (
            "[store.clickhouse]\ndatabase = \"a-b\"\n[store]\nkind = \"clickhouse\"\n",
            "store.clickhouse.database",
            "letters",
        ),
        (
            "[ingest]\nsource = \"kafka\"\n[ingest.kafka]\ntopics = []\n[http]\nenabled = false\n",
            "ingest.kafka.topics",
            "at least one",
        ),
        ("[invoicer]\nevery = \"0s\"\n", "invoicer.every", "above zero"),
        ("[metrics]\nlisten = \"127.0.0.1:8080\"\n", "metrics.listen", "also http.listen"),
        (
            "[[http.tokens]]\nname = \"portal\"\nrole = \"owner\"\nsha256 = \"ab\"\n",
            "http.tokens[0].role",
            "expected ingest, read or admin",
        ),
        ("[[http.tokens]]\nname = \"portal\"\nrole = \"read\"\nsha256 = \"ab\"\n", "http.tokens[0].sha256", "64 hex"),
        // Typed bounds: what once passed `config check` and then panicked or lied.
        ("[invoicer]\ngrace = \"300000years\"\n", "invoicer.grace", "over the limit"),
        ("[invoicer]\npayment_terms = \"300000years\"\n", "invoicer.payment_terms", "over the limit"),
        ("[invoicer]\nlate_window = \"11years\"\n", "invoicer.late_window", "over the limit"),
        ("[http]\nmax_body_bytes = 1e300\n", "max_body_bytes", "not a whole number"),
        ("[http]\nmax_body_bytes = 2000000000000\n", "http.max_body_bytes", "over the limit"),
        ("[http]\nmax_in_flight = 2.7\n", "max_in_flight", "2.7 is not a whole number"),
        ("[http]\nmax_connections = 0\n", "http.max_connections", "above zero"),
        ("[http]\nheader_timeout = \"2h\"\n", "http.header_timeout", "over the limit"),
    ];
    for (toml, key, reason) in cases {
        let err = with_file(toml, &[]).expect_err(toml).to_string();
        assert!(err.contains(key) && err.contains(reason), "{toml:?}: {err}");
    }
    for (var, value) in [("TALLY__HTTP__MAX_IN_FLIGHT", "2.7"), ("TALLY__HTTP__MAX_BODY_BYTES", "1e400")] {
        let err = with_env(&[(var, value)]).unwrap_err().to_string();
        assert!(err.contains(&var[13..].to_ascii_lowercase()) && err.contains("not a whole number"), "{err}");
    }
    assert_eq!(with_env(&[("TALLY__HTTP__MAX_IN_FLIGHT", "7")]).unwrap().http.max_in_flight, 7);
}

#[test]
fn a_missing_file_is_named() {
    let err = load(&Sources {
        file: Some(std::path::Path::new("/nonexistent/tally.toml")),
        env: env(&[]),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert_eq!(err, "configuration file /nonexistent/tally.toml not found");
}

#[test]
fn secrets_are_masked_when_shown() {
    let s = with_file(
        "[store.clickhouse]\nurl = \"https://billing:pa55@ch.example:8443/?user=billing&password=qu3ry\"\n[ingest.kafka.properties]\n\"sasl.password\" = \"s3cret\"\n\"sasl.oauthbearer.config\" = \"clientSecret=0auth\"\n\"security.protocol\" = \"SASL_SSL\"\n",
        &[("TALLY__STORE__CLICKHOUSE__PASSWORD", "hunter2")],
    )
    .unwrap();
    let shown = s.to_masked_toml();
    for secret in ["hunter2", "s3cret", "pa55", "qu3ry", "0auth"] {
        assert!(!shown.contains(secret), "{secret} shown:\n{shown}");
    }
    assert!(
        shown.contains("SASL_SSL")
            && shown.contains("https://billing:********@ch.example:8443/?user=billing&password=********"),
        "{shown}"
    );
    // What is shown loads back to the same settings, secrets aside.
    let back: Settings = toml::from_str(&shown).unwrap();
    assert_eq!(back, s.masked());
}
