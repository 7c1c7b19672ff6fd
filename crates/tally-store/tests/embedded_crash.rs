//! The embedded store loses nothing it acknowledged when its process is killed in the
//! middle of writing: a child process writes batches and reports each acknowledged
//! batch; the parent kills it with SIGKILL, reopens the file and finds every
//! acknowledged event, each once.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tally_domain::{Aggregation, CustomerId, Meter, MeterKey, Period, UsageEvent};
use tally_store::embedded::EmbeddedStore;
use tally_store::{IncomingEvent, UsageItem, UsageQuery, UsageStore};

const CHILD_ENV: &str = "TALLY_CRASH_CHILD_DB";
const BATCH: usize = 200;

fn batch(n: usize) -> Vec<IncomingEvent> {
    (0..BATCH)
        .map(|i| {
            let data = serde_json::json!({ "model": "m", "tokens": "1" });
            UsageEvent::from_data(
                CustomerId::new("acme"),
                "src",
                format!("{n}-{i}"),
                "llm.tokens",
                "2026-11-02T10:00:00Z".parse().unwrap(),
                &data.to_string(),
            )
            .unwrap()
            .into()
        })
        .collect()
}

/// Not a test on its own: the child's body, run when the parent sets the variable.
#[tokio::test]
async fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = EmbeddedStore::open(std::path::Path::new(&path)).unwrap();
    for n in 0.. {
        store.insert_events(&batch(n)).await.unwrap();
        println!("acked {}", (n + 1) * BATCH);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_writer_loses_nothing_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = 0usize;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(n) = line.unwrap().strip_prefix("acked ") {
            acked = n.parse().unwrap();
            if acked >= 20 * BATCH {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, most likely in the middle of the next batch
    child.wait().unwrap();
    assert!(acked >= 20 * BATCH);

    let store = EmbeddedStore::open(&path).unwrap();
    let meter = Meter {
        key: MeterKey::new("n"),
        event_type: "llm.tokens".into(),
        aggregation: Aggregation::Count,
        value: None,
        value_required: true,
        dimensions: vec![],
    };
    let query = UsageQuery {
        period: Period::new("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap()).unwrap(),
        customer: None,
        customers: None,
        items: vec![UsageItem { meter, filter: Default::default(), group_by: vec![] }],
    };
    let rows = store.aggregate(&query).await.unwrap();
    let stored: usize = rows[0].quantity.try_into().unwrap();
    assert!(stored >= acked, "stored {stored} < acknowledged {acked}");
    assert_eq!(stored % BATCH, 0, "batches are all or nothing");
    // Writing the acknowledged batches again adds nothing: each event is there once.
    for n in 0..acked / BATCH {
        store.insert_events(&batch(n)).await.unwrap();
    }
    let again: usize = store.aggregate(&query).await.unwrap()[0].quantity.try_into().unwrap();
    assert_eq!(again, stored);
}
