//! Kafka behind TLS (issue 19): a private broker reachable only through stunnel, with a
//! CA and certificate generated for the test. With `ingest.kafka.properties` naming
//! `security.protocol = "ssl"` and the CA, every client a Tally process makes
//! connects: the producer of `tally produce`, the consumer, the dead-letter producer,
//! the HTTP events producer and the readiness probe of `tally run`, the reader of
//! `tally replay-dlq`. Without the CA each fails with a message that says why (the
//! certificate could not be verified), not a bare timeout. On the way: a file of usage
//! feeds the Kafka pipeline, and the rejects of every path are counted once.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use tally_tests::PrivateService;

fn settings(dir: &Path, kafka: &PrivateService, properties: &str, api: SocketAddr, metrics: SocketAddr) -> String {
    format!(
        "catalog = \"{catalog}\"\n[store.embedded]\npath = \"{db}\"\n[ingest]\nsource = \"kafka\"\nfiles = [\"events.ndjson\"]\n\
         [ingest.kafka]\nbrokers = \"{brokers}\"\ntopics = [\"usage\"]\ndead_letter_topic = \"usage-dlq\"\n\
         group = \"tls-test\"\n[ingest.kafka.properties]\n{properties}\n[invoicer]\nenabled = false\n\
         [http]\nlisten = \"{api}\"\n[metrics]\nlisten = \"{metrics}\"\n{tokens}",
        catalog = common::sample_catalog().display(),
        db = dir.join("tally.db").display(),
        brokers = kafka.brokers(),
        tokens = common::tokens_toml(),
    )
}

fn tally(dir: &Path, args: &[&str]) -> std::process::Output {
    common::tally().current_dir(dir).args(args).env_remove("TALLY_LOG").output().unwrap()
}

/// The two topics, created over TLS by a client of the test's own.
fn create_topics(kafka: &PrivateService) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka.brokers())
        .set("security.protocol", "ssl")
        .set("ssl.ca.location", kafka.tls_ca().display().to_string())
        .create()
        .unwrap();
    let topics = [
        NewTopic::new("usage", 2, TopicReplication::Fixed(1)),
        NewTopic::new("usage-dlq", 1, TopicReplication::Fixed(1)),
    ];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in runtime.block_on(admin.create_topics(&topics, &options)).unwrap() {
        result.unwrap();
    }
}

fn event(id: &str) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"tls-test","type":"llm.tokens","time":"{now}","subject":"acme","data":{{"model":"gpt-4o","tokens":15}}}}"#
    )
}

#[test]
fn every_kafka_client_speaks_tls_with_the_ca_and_fails_clearly_without_it() {
    let kafka = PrivateService::kafka_behind_tls();
    create_topics(&kafka);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (api, metrics) = (common::free_port(), common::free_port());
    let ca = kafka.tls_ca().display().to_string();
    let with_ca = format!("\"security.protocol\" = \"ssl\"\n\"ssl.ca.location\" = \"{ca}\"");
    std::fs::write(d.join("tls.toml"), settings(d, &kafka, &with_ca, api, metrics)).unwrap();

    // The producer of `tally produce`.
    let out = tally(d, &["produce", "--config", "tls.toml", "--topic", "usage", "--events", "300"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let produced: u64 = err.split_whitespace().nth(1).unwrap().parse().unwrap();
    let malformed: u64 = err.split(" malformed").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();

    // `tally run`: the consumer, the readiness probe, the events producer (a file of
    // usage and HTTP) and the dead-letter producer.
    let file = format!("{}\n{}\n{{\"specversion\": \"1.0\", \"id\": \"no-type\"}}\n", event("file-1"), event("file-2"));
    std::fs::write(d.join("events.ndjson"), file).unwrap();
    let running = common::Running::start(d, "tls.toml");
    common::wait_for_port(metrics);
    common::wait_for("/readyz", || common::request(metrics, "GET", "/readyz", None, "text/plain", b"").0 == 200);
    let batch = format!("[{}, {{\"specversion\": \"1.0\"}}, {{\"id\": 3}}]", event("http-1"));
    let token = Some(common::token("ingest"));
    let (status, body) =
        common::request(api, "POST", "/v1/events", token, "application/cloudevents-batch+json", batch.as_bytes());
    assert_eq!(status, 202, "{body}");
    let rejected = |m: SocketAddr| -> f64 {
        let (_, text) = common::request(m, "GET", "/metrics", None, "text/plain", b"");
        text.lines()
            .filter(|l| l.starts_with("tally_ingest_rejected_events_total{"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum()
    };
    common::wait_for("every message through the TLS consumer", || {
        common::metric(metrics, "tally_ingest_messages_total") == Some((produced + 6) as f64)
    });
    // What the worker refused plus what the file and HTTP paths refused: one count each.
    assert_eq!(rejected(metrics), (malformed + 3) as f64);
    running.stop();

    // The reader of `tally replay-dlq` finds every dead letter, both paths'.
    let out = tally(d, &["replay-dlq", "--config", "tls.toml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with(&format!("read {} dead letters", malformed + 3)), "{text}");

    // Without the CA: each client fails, saying the certificate could not be verified.
    let without = "\"security.protocol\" = \"ssl\"\n\"message.timeout.ms\" = \"5000\"";
    std::fs::write(d.join("no-ca.toml"), settings(d, &kafka, without, api, metrics)).unwrap();
    for args in [
        &["produce", "--config", "no-ca.toml", "--topic", "usage", "--events", "10"][..],
        &["replay-dlq", "--config", "no-ca.toml"],
    ] {
        let out = tally(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} must fail without the CA");
        assert!(err.contains("certificate verify failed"), "{args:?}: the error must say why:\n{err}");
    }
    let running = common::Running::start(d, "no-ca.toml");
    common::wait_for_port(metrics);
    common::wait_for("/readyz to say why", || {
        let (status, body) = common::request(metrics, "GET", "/readyz", None, "text/plain", b"");
        status == 503 && body.contains("certificate verify failed")
    });
    drop(running);
}
