//! Dead letters through the real broker: each bad event lands in the dead-letter topic
//! with its original bytes, reason and origin, is recorded in the store, and
//! `tally replay-dlq` stores those a catalog fix made valid, once however often it runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tally_tests::{clickhouse_url, TestDb, TestTopic};

const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/catalog.toml");

fn tally() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("tally"))
}

fn event(id: &str, event_type: &str, data: serde_json::Value) -> Vec<u8> {
    let time = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    serde_json::to_vec(&serde_json::json!({
        "specversion": "1.0", "id": id, "source": "dlq-test", "type": event_type, "subject": "customer-1",
        "time": time.to_rfc3339(), "data": data,
    }))
    .unwrap()
}

async fn count(db: &TestDb, sql: &str) -> u64 {
    db.client().query(sql).fetch_one::<u64>().await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Reads the whole dead-letter topic: (payload, reason, source offset).
fn dead_letters(brokers: &str, topic: &str, expected: usize) -> Vec<(Vec<u8>, String, i64)> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", brokers).set("group.id", "dlq-reader").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let header = |name: &str| {
                let h = m.headers().expect("headers");
                let v = h.iter().find(|h| h.key == name).and_then(|h| h.value).expect(name);
                String::from_utf8(v.to_vec()).unwrap()
            };
            out.push((
                m.payload().unwrap_or_default().to_vec(),
                header("tally-reason"),
                header("tally-source-offset").parse().unwrap(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_events_become_dead_letters_and_a_catalog_fix_replays_them_once() {
    let topic = TestTopic::new(1).await;
    let dlq = TestTopic::new(1).await;
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    // A stricter catalog: the pass-through cost is required, so GPU events without it are refused.
    let strict = dir.path().join("strict.toml");
    let text = std::fs::read_to_string(CATALOG).unwrap();
    assert!(text.contains("required = false"));
    std::fs::write(&strict, text.replace("required = false", "required = true")).unwrap();

    let gpu = |id: &str, seconds: u32| {
        event(id, "gpu.usage", serde_json::json!({"gpu_type": "h100", "region": "eu-1", "gpu_seconds": seconds}))
    };
    let messages: Vec<(Vec<u8>, Option<&str>)> = vec![
        (event("t1", "llm.tokens", serde_json::json!({"model": "gpt-4o", "direction": "input", "tokens": 100})), None),
        (gpu("g1", 3600), Some("missing_value")),
        (b"{\"specversion\": \"1.0\", \"id\": ".to_vec(), Some("not_json")),
        (
            event("t2", "llm.tokens", serde_json::json!({"model": "gpt-4o", "direction": "input", "tokens": -5})),
            Some("negative_value"),
        ),
        (gpu("g2", 1800), Some("missing_value")),
        (
            event("t3", "llm.tokens", serde_json::json!({"model": "gpt-4o", "direction": "output", "tokens": "0.5"})),
            None,
        ),
    ];
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", topic.brokers()).create().unwrap();
    for (payload, _) in &messages {
        let record: FutureRecord<'_, str, [u8]> =
            FutureRecord::to(topic.name()).key("customer-1").payload(payload.as_slice());
        producer.send(record, Duration::from_secs(10)).await.expect("produce");
    }

    let migrated =
        tally().args(["migrate", "--clickhouse", &clickhouse_url(), "--database", db.name()]).output().unwrap();
    assert!(migrated.status.success());
    // The worker and the replay get the broker and the topics from the same settings
    // keys, no flags: the dead letters one writes are the ones the other reads.
    let settings = dir.path().join("tally.toml");
    let group = tally_tests::unique_name("dlq-test");
    std::fs::write(
        &settings,
        format!(
            "[ingest.kafka]\nbrokers = \"{}\"\ntopics = [\"{}\"]\ndead_letter_topic = \"{}\"\ngroup = \"{group}\"\n",
            topic.brokers(),
            topic.name(),
            dlq.name()
        ),
    )
    .unwrap();
    let mut worker = tally()
        .args(["ingest", "--config"])
        .arg(&settings)
        .args(["--catalog"])
        .arg(&strict)
        .args(["--clickhouse", &clickhouse_url(), "--database", db.name(), "--batch-wait-ms", "100"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (
        count(&db, "SELECT count() FROM usage_events").await,
        count(&db, "SELECT count() FROM rejected_events").await,
    ) != (2, 4)
    {
        assert!(Instant::now() < deadline, "the worker did not store 2 events and 4 rejections within 120 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().unwrap().success());
    assert!(worker.wait().unwrap().success(), "SIGTERM exits 0");

    // Each bad message is in the dead-letter topic, byte for byte, with its reason and offset.
    let letters = dead_letters(topic.brokers(), dlq.name(), 4);
    let expected: Vec<(Vec<u8>, String, i64)> = messages
        .iter()
        .enumerate()
        .filter_map(|(offset, (payload, reason))| reason.map(|r| (payload.clone(), r.to_owned(), offset as i64)))
        .collect();
    assert_eq!(letters, expected);
    let reasons: Vec<(String, u64)> = db
        .client()
        .query("SELECT reason, count() FROM rejected_events GROUP BY reason ORDER BY reason")
        .fetch_all::<(String, u64)>()
        .await
        .unwrap();
    assert_eq!(reasons, vec![("missing_value".into(), 2), ("negative_value".into(), 1), ("not_json".into(), 1)]);

    // The fix: the shipped catalog makes the cost optional. Replay twice; count once.
    for _ in 0..2 {
        let out = tally()
            .args(["replay-dlq", "--catalog", CATALOG, "--config"])
            .arg(&settings)
            .args(["--clickhouse", &clickhouse_url(), "--database", db.name()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with("read 4 dead letters: 2 now valid and stored, 2 still invalid"), "{stdout}");
        assert!(
            stdout.contains("still invalid, negative_value: 1") && stdout.contains("still invalid, not_json: 1"),
            "{stdout}"
        );
    }
    assert_eq!(count(&db, "SELECT uniqExact(source, id) FROM usage_events").await, 4);
    let seconds: String = db
        .client()
        .query("SELECT toString(sum(v)) FROM (SELECT any(num_values[indexOf(num_keys, 'gpu_seconds')]) AS v FROM usage_events WHERE event_type = 'gpu.usage' GROUP BY source, id)")
        .fetch_one::<String>()
        .await
        .unwrap();
    assert_eq!(seconds.trim_end_matches('0').trim_end_matches('.'), "5400");
    assert!(Path::new(CATALOG).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_bad_input_becomes_a_dead_letter_with_its_reason_and_the_good_ones_pass() {
    let topic = TestTopic::new(1).await;
    let dlq = TestTopic::new(1).await;
    let db = TestDb::new().await;
    let now = chrono::Utc::now();
    let corpus = tally_tests::bad_events(now);
    assert!(corpus.len() >= 25, "{} kinds", corpus.len());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("worker.log");
    // Each bad message is followed by a good one: the pipeline must go on past every kind.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", topic.brokers())
        .set("message.max.bytes", "2000000")
        .create()
        .unwrap();
    let mut sent = Vec::new();
    for (i, bad) in corpus.iter().enumerate() {
        let good = tally_tests::event_with(now, &["id"], Some(serde_json::json!(format!("after-{i}"))));
        for payload in [&bad.bytes, &good] {
            let record: FutureRecord<'_, str, [u8]> =
                FutureRecord::to(topic.name()).key("k").payload(payload.as_slice());
            producer.send(record, Duration::from_secs(10)).await.unwrap_or_else(|(e, _)| panic!("{}: {e}", bad.name));
        }
        sent.push((2 * i) as i64);
    }
    let mut worker = tally()
        .args([
            "ingest",
            "--brokers",
            topic.brokers(),
            "--group",
            &tally_tests::unique_name("corpus"),
            "--topic",
            topic.name(),
        ])
        .args(["--dead-letter-topic", dlq.name(), "--catalog", CATALOG])
        .args(["--clickhouse", &clickhouse_url(), "--database", db.name(), "--batch-wait-ms", "100"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let letters = dead_letters(topic.brokers(), dlq.name(), corpus.len());
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&db, "SELECT uniqExact(source, id) FROM usage_events").await < corpus.len() as u64 {
        assert!(Instant::now() < deadline, "the good events after the bad ones were not all stored within 120 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The worker's metrics count what it read, stored and refused, by reason.
    // (Counted after each commit: wait for the last one.)
    let n = corpus.len() as f64;
    let mut metrics = scrape(&std::fs::read_to_string(&log).unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics.get("tally_ingest_events_total") != Some(&n) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = scrape(&std::fs::read_to_string(&log).unwrap());
    }
    assert!(Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().unwrap().success());
    assert!(worker.wait().unwrap().success(), "SIGTERM exits 0");
    assert_eq!(metrics.get("tally_ingest_messages_total"), Some(&(2.0 * n)), "{metrics:?}");
    assert_eq!(metrics.get("tally_ingest_events_total"), Some(&n));
    let mut by_reason = std::collections::BTreeMap::<String, f64>::new();
    for bad in &corpus {
        *by_reason.entry(format!("tally_ingest_rejected_events_total{{reason=\"{}\"}}", bad.reason)).or_default() +=
            1.0;
    }
    for (series, value) in &by_reason {
        assert_eq!(metrics.get(series), Some(value), "{series}");
    }

    assert_eq!(letters.len(), corpus.len(), "one dead letter per bad message");
    for ((payload, reason, offset), (bad, sent_at)) in letters.iter().zip(corpus.iter().zip(&sent)) {
        assert_eq!((reason.as_str(), *offset), (bad.reason, *sent_at), "{}", bad.name);
        let whole = bad.bytes.len() <= tally_ingest::MAX_DEAD_LETTER_BYTES;
        let expected = if whole { &bad.bytes[..] } else { &bad.bytes[..tally_ingest::MAX_DEAD_LETTER_BYTES] };
        assert!(payload.as_slice() == expected, "{}: the dead letter carries the original bytes", bad.name);
    }
    // The store keeps every rejected message whole, the 1 MB one included.
    let raw_bytes = count(&db, "SELECT toUInt64(sum(length(raw))) FROM rejected_events").await;
    assert_eq!(raw_bytes, corpus.iter().map(|b| b.bytes.len() as u64).sum::<u64>());
    assert_eq!(count(&db, "SELECT count() FROM usage_events").await, corpus.len() as u64);
}

/// Reads `GET /metrics` from the address the worker logged, as `series -> value`.
fn scrape(log: &str) -> std::collections::BTreeMap<String, f64> {
    use std::io::{Read, Write};
    let addr = log
        .lines()
        .find(|l| l.contains("serving /metrics"))
        .and_then(|l| l.split("bound=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no metrics address in the log: {log}"));
    let mut stream = std::net::TcpStream::connect(addr).expect("connecting to /metrics");
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).expect("a body");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').and_then(|(series, v)| Some((series.to_owned(), v.parse().ok()?))))
        .collect()
}
