//! The broker is real: messages produced here are consumed by separate consumer-group
//! processes (`tally-kafka-probe`), and the offsets one process commits survive its
//! exit, so the next member of the group resumes exactly where it stopped.
//!
//! The producer batches (linger 5 ms), so the first member stops in the middle of
//! record batches: the resume is from offsets inside a batch, the case tansu's memory
//! engine gets wrong (see deploy/local/services).

use std::collections::BTreeSet;
use std::process::Command;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tally_tests::{unique_name, TestTopic};

const MESSAGES: usize = 1000;

async fn produce(topic: &TestTopic) -> BTreeSet<String> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", topic.brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut sent = BTreeSet::new();
    let mut deliveries = Vec::new();
    for i in 0..MESSAGES {
        let payload = format!("event-{i:05}");
        let key = format!("customer-{}", i % 37);
        let record = FutureRecord::to(topic.name()).key(&key).payload(&payload);
        deliveries.push(producer.send_result(record).unwrap());
        sent.insert(payload);
    }
    for delivery in deliveries {
        delivery.await.unwrap().unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
    }
    sent
}

/// Runs one consumer-group member as a separate process; returns what it printed.
/// Runs one consumer-group member as a separate process; returns what it printed.
fn consume_in_another_process(topic: &TestTopic, group: &str, max: usize, idle_ms: u64) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_tally-kafka-probe"))
        .args(["consume", "--brokers", topic.brokers(), "--topic", topic.name(), "--group", group])
        .args(["--max", &max.to_string(), "--idle-ms", &idle_ms.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "consumer failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_group_resumes_from_committed_offsets_after_a_restart() {
    let topic = TestTopic::new(4).await;
    let sent = produce(&topic).await;
    assert_eq!(sent.len(), MESSAGES);
    let group = unique_name("group");

    let first = consume_in_another_process(&topic, &group, 400, 8000);
    assert_eq!(first.len(), 400, "the first member stops after 400 messages");

    // A new process in the same group: it must start from the committed offsets.
    let second = consume_in_another_process(&topic, &group, MESSAGES - 400, 8000);
    assert_eq!(second.len(), MESSAGES - 400, "the second member reads what the first did not commit");

    let first: BTreeSet<String> = first.into_iter().collect();
    let second: BTreeSet<String> = second.into_iter().collect();
    assert!(first.is_disjoint(&second), "no message is read twice across the restart");
    let all: BTreeSet<String> = first.union(&second).cloned().collect();
    assert_eq!(all, sent, "every produced message is read exactly once");

    // And a third member finds nothing left.
    let third = consume_in_another_process(&topic, &group, 1, 3000);
    assert!(third.is_empty(), "nothing left after both members committed: {third:?}");
}

#[tokio::test]
async fn topics_are_isolated_per_test() {
    let a = TestTopic::new(1).await;
    let b = TestTopic::new(1).await;
    assert_ne!(a.name(), b.name());
}
