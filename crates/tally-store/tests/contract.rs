//! The store contract: every test here runs against the ClickHouse store (the real
//! server from deploy/local/services) and against the embedded store, and both must
//! give the same answers.

#[macro_use]
mod both_stores;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_domain::{Aggregation, CustomerId, Meter, MeterKey, Period, UsageEvent};
use tally_store::{IncomingEvent, KafkaOrigin, RejectedEvent, UsageAggregate, UsageItem, UsageQuery, UsageStore};

contract!(
    every_aggregation_with_filters_and_group_by,
    one_customer_or_all_customers,
    question_marks_in_customers_and_filters_are_values,
    period_bounds_are_half_open_to_the_millisecond,
    duplicates_count_once_before_and_after_merges,
    a_copy_stored_while_rows_are_handed_over_counts_once,
    ten_thousand_copies_of_one_event_count_once,
    huge_and_tiny_decimals_stay_exact,
    values_beyond_the_limits_are_refused,
    concurrent_writers_never_double_count,
    events_without_a_meter_are_kept_and_ignored,
    events_lacking_the_value_are_ignored_by_value_aggregations,
    rejected_events_keep_their_bytes_reason_and_origin,
);

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn november() -> Period {
    Period::new(t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z")).unwrap()
}

fn event(customer: &str, id: &str, event_type: &str, time: &str, data: serde_json::Value) -> IncomingEvent {
    UsageEvent::from_data(CustomerId::new(customer), "gateway/eu-1", id, event_type, t(time), &data.to_string())
        .unwrap()
        .into()
}

fn tokens(customer: &str, id: &str, time: &str, model: &str, direction: &str, n: &str) -> IncomingEvent {
    event(customer, id, "llm.tokens", time, serde_json::json!({ "model": model, "direction": direction, "tokens": n }))
}

fn meter(key: &str, event_type: &str, aggregation: Aggregation, value: Option<&str>) -> Meter {
    Meter {
        key: MeterKey::new(key),
        event_type: event_type.into(),
        aggregation,
        value: value.map(str::to_owned),
        value_required: true,
        dimensions: vec![],
    }
}

fn item(meter: Meter, filter: &[(&str, &str)], group_by: &[&str]) -> UsageItem {
    UsageItem {
        meter,
        filter: filter.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        group_by: group_by.iter().map(|g| g.to_string()).collect(),
    }
}

/// The one item most tests need: the sum of `tokens` over `llm.tokens`.
fn sum_of_tokens() -> Vec<UsageItem> {
    vec![item(meter("t", "llm.tokens", Aggregation::Sum, Some("tokens")), &[], &[])]
}

fn query(items: Vec<UsageItem>) -> UsageQuery {
    UsageQuery { period: november(), customer: None, customers: None, items }
}

/// Rows as (customer, item, "k=v,k=v", quantity) for compact assertions.
fn table(rows: Vec<UsageAggregate>) -> Vec<(String, usize, String, String)> {
    rows.into_iter()
        .map(|r| {
            let dims: Vec<String> = r.dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (r.customer.to_string(), r.item, dims.join(","), r.quantity.to_string())
        })
        .collect()
}

fn row(customer: &str, item: usize, dims: &str, q: &str) -> (String, usize, String, String) {
    (customer.into(), item, dims.into(), q.into())
}

async fn every_aggregation_with_filters_and_group_by(store: &impl UsageStore) {
    let gpu = |c: &str, id: &str, time: &str, gpu: &str, region: &str, secs: &str| {
        event(c, id, "gpu.usage", time, serde_json::json!({ "gpu_type": gpu, "region": region, "gpu_seconds": secs }))
    };
    let session = |c: &str, id: &str, time: &str, session: &str, status: &str, hours: &str| {
        event(
            c,
            id,
            "training.session",
            time,
            serde_json::json!({ "session_id": session, "status": status, "gpu_hours": hours }),
        )
    };
    store
        .insert_events(&[
            tokens("acme", "1", "2026-11-02T10:00:00Z", "gpt-4o", "input", "1000"),
            tokens("acme", "2", "2026-11-03T10:00:00Z", "gpt-4o", "output", "250"),
            tokens("acme", "3", "2026-11-04T10:00:00Z", "gpt-4o", "input", "0.5"),
            tokens("acme", "4", "2026-11-05T10:00:00Z", "llama", "input", "7000"),
            tokens("beta", "5", "2026-11-05T11:00:00Z", "gpt-4o", "input", "40"),
            gpu("acme", "g1", "2026-11-06T00:00:00Z", "h100", "eu", "3600"),
            gpu("acme", "g2", "2026-11-07T00:00:00Z", "h100", "us", "1800.25"),
            gpu("acme", "g3", "2026-11-08T00:00:00Z", "a100", "us", "60"),
            gpu("acme", "g4", "2026-11-09T00:00:00Z", "h100", "eu", "10"),
            session("acme", "s1", "2026-11-10T00:00:00Z", "run-1", "completed", "2"),
            session("acme", "s2", "2026-11-11T00:00:00Z", "run-1", "completed", "3"),
            session("acme", "s3", "2026-11-12T00:00:00Z", "run-2", "failed", "1"),
        ])
        .await
        .unwrap();
    let tokens_sum = meter("llm_tokens", "llm.tokens", Aggregation::Sum, Some("tokens"));
    let gpu_of = |agg| meter("gpu", "gpu.usage", agg, Some("gpu_seconds"));
    let items = vec![
        item(tokens_sum.clone(), &[("model", "gpt-4o")], &["direction"]),
        item(meter("requests", "llm.tokens", Aggregation::Count, None), &[], &["model"]),
        item(gpu_of(Aggregation::Max), &[], &["gpu_type"]),
        item(gpu_of(Aggregation::Min), &[("region", "us")], &[]),
        item(gpu_of(Aggregation::Latest), &[], &["region"]),
        item(meter("sessions", "training.session", Aggregation::UniqueCount, Some("session_id")), &[], &[]),
        item(
            meter("sessions", "training.session", Aggregation::UniqueCount, Some("session_id")),
            &[("status", "completed")],
            &[],
        ),
        item(tokens_sum, &[], &[]),
    ];
    let expected = vec![
        row("acme", 0, "direction=input,model=gpt-4o", "1000.5"),
        row("acme", 0, "direction=output,model=gpt-4o", "250"),
        row("acme", 1, "model=gpt-4o", "3"),
        row("acme", 1, "model=llama", "1"),
        row("acme", 2, "gpu_type=a100", "60"),
        row("acme", 2, "gpu_type=h100", "3600"),
        row("acme", 3, "region=us", "60"),
        row("acme", 4, "region=eu", "10"),
        row("acme", 4, "region=us", "60"),
        row("acme", 5, "", "2"),
        row("acme", 6, "status=completed", "1"),
        row("acme", 7, "", "8250.5"),
        row("beta", 0, "direction=input,model=gpt-4o", "40"),
        row("beta", 1, "model=gpt-4o", "1"),
        row("beta", 7, "", "40"),
    ];
    assert_eq!(table(store.aggregate(&query(items.clone())).await.unwrap()), expected);
    // Without the `latest` item (4) the ClickHouse store takes its pre-aggregating
    // path: the same rows must come back, items after 4 numbered one lower.
    let mut without_latest = items.clone();
    without_latest.remove(4);
    let expected_without: Vec<_> = expected
        .iter()
        .filter(|r| r.1 != 4)
        .cloned()
        .map(|(c, item, dims, q)| (c, if item > 4 { item - 1 } else { item }, dims, q))
        .collect();
    assert_eq!(table(store.aggregate(&query(without_latest.clone())).await.unwrap()), expected_without);

    // The same rows handed to a sink as they are read, both queries at once, each row
    // with its query's position and its group values only (the filter's are the
    // caller's to know).
    let queries = [query(items.clone()), query(without_latest.clone())];
    let group_by = queries.iter().map(|q| q.items.iter().map(|i| i.group_by.clone()).collect()).collect();
    let mut sink = Handed { group_by, rows: Vec::new() };
    store.aggregate_into(&queries, &mut sink).await.unwrap();
    sink.rows.sort();
    let groups_only = |q: usize, items: &[UsageItem], rows: &[(String, usize, String, String)]| {
        rows.iter()
            .map(|(c, item, dims, quantity)| {
                let kept: Vec<&str> = dims
                    .split(',')
                    .filter(|kv| items[*item].group_by.iter().any(|g| kv.starts_with(&format!("{g}="))))
                    .collect();
                (q, c.clone(), *item, kept.join(","), quantity.clone())
            })
            .collect::<Vec<_>>()
    };
    let mut both = groups_only(0, &items, &expected);
    both.extend(groups_only(1, &without_latest, &expected_without));
    both.sort();
    assert_eq!(sink.rows, both);
}

/// Rows an [`UsageStore::aggregate_into`] handed over, as (query, customer, item,
/// "group=value,..." sorted by name, quantity); `group_by` names each query's items' groups.
struct Handed {
    group_by: Vec<Vec<Vec<String>>>,
    rows: Vec<(usize, String, usize, String, String)>,
}

impl tally_store::UsageSink for Handed {
    fn push(&mut self, query: usize, row: tally_store::UsageRow<'_>) {
        let names = &self.group_by[query][row.item];
        assert_eq!(names.len(), row.groups.len(), "one value per group_by name");
        let mut groups: Vec<String> = names
            .iter()
            .zip(row.groups)
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        groups.sort();
        self.rows.push((query, row.customer.to_owned(), row.item, groups.join(","), row.quantity.to_string()));
    }

    fn restart(&mut self, query: usize) {
        self.rows.retain(|r| r.0 != query);
    }
}

async fn one_customer_or_all_customers(store: &impl UsageStore) {
    store
        .insert_events(&[
            tokens("acme", "1", "2026-11-02T10:00:00Z", "gpt-4o", "input", "10"),
            tokens("beta", "2", "2026-11-02T10:00:00Z", "gpt-4o", "input", "20"),
            tokens("gamma", "3", "2026-11-02T10:00:00Z", "gpt-4o", "input", "30"),
        ])
        .await
        .unwrap();
    let items = sum_of_tokens();
    let all = store.aggregate(&query(items.clone())).await.unwrap();
    assert_eq!(all.len(), 3);
    let one =
        store.aggregate(&UsageQuery { customer: Some(CustomerId::new("beta")), ..query(items.clone()) }).await.unwrap();
    assert_eq!(table(one), vec![row("beta", 0, "", "20")]);

    // A set of customers (the invoicer's per-plan queries), named in the SQL when short
    // and filtered after reading when long (ClickHouse), answered in one shared scan
    // (embedded): each query gets exactly its customers' rows.
    let set = |names: &[&str], padding: usize| {
        let mut set: BTreeSet<CustomerId> = names.iter().map(|n| CustomerId::new(*n)).collect();
        set.extend((0..padding).map(|i| CustomerId::new(format!("nobody-{i:05}"))));
        Some(Arc::new(set))
    };
    let of = |customers| UsageQuery { customers, ..query(items.clone()) };
    let queries = [
        of(set(&["acme", "gamma"], 0)),
        of(set(&["beta", "gamma"], 1_500)),
        of(set(&[], 0)),
        of(set(&["nobody"], 0)),
        query(items.clone()),
        UsageQuery { customer: Some(CustomerId::new("beta")), ..of(set(&["acme"], 0)) },
        UsageQuery { customer: Some(CustomerId::new("acme")), ..of(set(&["acme"], 0)) },
    ];
    let expected = [
        vec![row("acme", 0, "", "10"), row("gamma", 0, "", "30")],
        vec![row("beta", 0, "", "20"), row("gamma", 0, "", "30")],
        vec![],
        vec![],
        vec![row("acme", 0, "", "10"), row("beta", 0, "", "20"), row("gamma", 0, "", "30")],
        vec![],
        vec![row("acme", 0, "", "10")],
    ];
    let many = store.aggregate_many(&queries).await.unwrap();
    for (i, (rows, expected)) in many.into_iter().zip(&expected).enumerate() {
        assert_eq!(&table(rows), expected, "query {i} of aggregate_many");
    }
    for (i, (query, expected)) in queries.iter().zip(&expected).enumerate() {
        assert_eq!(&table(store.aggregate(query).await.unwrap()), expected, "query {i} alone");
    }
}

/// The ClickHouse client reads `?` as a bind placeholder anywhere in the SQL text: a
/// customer id or a filter value with `?` must be matched as written (`a??b` is not `a?b`).
async fn question_marks_in_customers_and_filters_are_values(store: &impl UsageStore) {
    store
        .insert_events(&[
            tokens("a?b", "1", "2026-11-02T10:00:00Z", "gpt?4", "input", "10"),
            tokens("a??b", "2", "2026-11-02T10:00:00Z", "gpt?4", "input", "20"),
            tokens("a?b", "3", "2026-11-02T10:00:00Z", "gpt??4", "input", "40"),
        ])
        .await
        .unwrap();
    let model = |value: &str| {
        vec![item(meter("t", "llm.tokens", Aggregation::Sum, Some("tokens")), &[("model", value)], &["model"])]
    };
    let of = |customer: &str, items| UsageQuery { customer: Some(CustomerId::new(customer)), ..query(items) };
    assert_eq!(
        table(store.aggregate(&of("a?b", model("gpt?4"))).await.unwrap()),
        vec![row("a?b", 0, "model=gpt?4", "10")]
    );
    assert_eq!(
        table(store.aggregate(&of("a??b", model("gpt?4"))).await.unwrap()),
        vec![row("a??b", 0, "model=gpt?4", "20")]
    );
    assert_eq!(
        table(store.aggregate(&of("a?b", model("gpt??4"))).await.unwrap()),
        vec![row("a?b", 0, "model=gpt??4", "40")]
    );
    let period = november();
    let samples = store.sample_events(&CustomerId::new("a??b"), "llm.tokens", &period, 10).await.unwrap();
    assert_eq!(samples.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["2"]);
}

async fn period_bounds_are_half_open_to_the_millisecond(store: &impl UsageStore) {
    store
        .insert_events(&[
            tokens("acme", "before", "2026-10-31T23:59:59.999Z", "m", "input", "1"),
            tokens("acme", "start", "2026-11-01T00:00:00.000Z", "m", "input", "10"),
            tokens("acme", "last", "2026-11-30T23:59:59.999Z", "m", "input", "100"),
            tokens("acme", "end", "2026-12-01T00:00:00.000Z", "m", "input", "1000"),
            tokens("acme", "offset", "2026-12-01T00:59:59.999+01:00", "m", "input", "10000"),
        ])
        .await
        .unwrap();
    let items = sum_of_tokens();
    let rows = store.aggregate(&query(items.clone())).await.unwrap();
    // "offset" is 23:59:59.999 UTC on 30 November: inside.
    assert_eq!(table(rows), vec![row("acme", 0, "", "10110")]);
    let december = Period::new(t("2026-12-01T00:00:00Z"), t("2027-01-01T00:00:00Z")).unwrap();
    let rows = store.aggregate(&UsageQuery { period: december, ..query(items.clone()) }).await.unwrap();
    assert_eq!(table(rows), vec![row("acme", 0, "", "1000")]);
    let one_ms = Period::new(t("2026-11-30T23:59:59.999Z"), t("2026-12-01T00:00:00Z")).unwrap();
    let rows = store.aggregate(&UsageQuery { period: one_ms, ..query(items) }).await.unwrap();
    assert_eq!(table(rows), vec![row("acme", 0, "", "10100")]);
}

async fn duplicates_count_once_before_and_after_merges(store: &impl UsageStore) {
    let batch = vec![
        tokens("acme", "1", "2026-11-02T10:00:00Z", "m", "input", "100"),
        tokens("acme", "2", "2026-11-02T11:00:00Z", "m", "input", "20"),
    ];
    let items = vec![
        item(meter("t", "llm.tokens", Aggregation::Sum, Some("tokens")), &[], &[]),
        item(meter("n", "llm.tokens", Aggregation::Count, None), &[], &[]),
    ];
    store.insert_events(&batch).await.unwrap();
    store.insert_events(&batch).await.unwrap(); // a producer retry: a second part
    let expected = vec![row("acme", 0, "", "120"), row("acme", 1, "", "2")];
    assert_eq!(table(store.aggregate(&query(items.clone())).await.unwrap()), expected, "before merges");
    store.compact(&november()).await.unwrap();
    assert_eq!(table(store.aggregate(&query(items.clone())).await.unwrap()), expected, "after merges");
    store.insert_events(&batch[..1]).await.unwrap(); // a late replay, after the merge
    assert_eq!(table(store.aggregate(&query(items)).await.unwrap()), expected, "a copy after the merge");
    assert_eq!(store.count_events(&november()).await.unwrap(), 2, "distinct events");
    let second = Period::new(t("2026-11-02T10:00:00.001Z"), t("2026-11-02T11:00:00.001Z")).unwrap();
    assert_eq!(store.count_events(&second).await.unwrap(), 1, "half-open to the millisecond");
}

/// A copy of an event stored while the rows of a read are being handed to a sink: on
/// ClickHouse the read without FINAL sees the parts change, tells the sink to forget
/// what it handed and reads again with FINAL, so each row arrives once (a sink that
/// ignored the restart would hold every row twice).
async fn a_copy_stored_while_rows_are_handed_over_counts_once(store: &(impl UsageStore + Clone + 'static)) {
    let batch = vec![
        tokens("acme", "1", "2026-11-02T10:00:00Z", "m", "input", "100"),
        tokens("beta", "2", "2026-11-02T11:00:00Z", "m", "input", "20"),
    ];
    store.insert_events(&batch).await.unwrap();
    store.compact(&november()).await.unwrap(); // one part: read without FINAL
    let items = vec![item(meter("t", "llm.tokens", Aggregation::Sum, Some("tokens")), &[], &[])];
    let queries = [query(items)];

    struct StoresACopy<S> {
        store: S,
        copy: Option<IncomingEvent>,
        restarts: usize,
        handed: Handed,
    }
    impl<S: UsageStore + Clone + 'static> tally_store::UsageSink for StoresACopy<S> {
        fn push(&mut self, query: usize, row: tally_store::UsageRow<'_>) {
            if let Some(copy) = self.copy.take() {
                // Stored from another thread while this read is under way.
                let store = self.store.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    runtime.block_on(store.insert_events(&[copy])).unwrap();
                })
                .join()
                .unwrap();
            }
            self.handed.push(query, row);
        }

        fn restart(&mut self, query: usize) {
            self.restarts += 1;
            self.handed.restart(query);
        }
    }
    let group_by = vec![vec![Vec::new()]];
    let mut sink = StoresACopy {
        store: store.clone(),
        copy: Some(batch[0].clone()),
        restarts: 0,
        handed: Handed { group_by, rows: Vec::new() },
    };
    store.aggregate_into(&queries, &mut sink).await.unwrap();
    sink.handed.rows.sort();
    let expected = vec![
        (0, "acme".to_owned(), 0, String::new(), "100".to_owned()),
        (0, "beta".to_owned(), 0, String::new(), "20".to_owned()),
    ];
    assert_eq!(sink.handed.rows, expected);
    assert!(sink.copy.is_none(), "the copy was stored during the read");
    assert!(sink.restarts <= 1);
}

async fn ten_thousand_copies_of_one_event_count_once(store: &impl UsageStore) {
    let one = tokens("acme", "same", "2026-11-02T10:00:00Z", "m", "input", "7.25");
    let items = vec![
        item(meter("t", "llm.tokens", Aggregation::Sum, Some("tokens")), &[], &[]),
        item(meter("n", "llm.tokens", Aggregation::Count, None), &[], &[]),
    ];
    let once = vec![row("acme", 0, "", "7.25"), row("acme", 1, "", "1")];
    // 1,000 copies in one batch: one part, read without FINAL.
    store.insert_events(&vec![one.clone(); 1000]).await.unwrap();
    assert_eq!(table(store.aggregate(&query(items.clone())).await.unwrap()), once, "one batch");
    // 9,000 more in nine batches: several parts, read with FINAL.
    for _ in 0..9 {
        store.insert_events(&vec![one.clone(); 1000]).await.unwrap();
    }
    assert_eq!(table(store.aggregate(&query(items.clone())).await.unwrap()), once, "ten batches");
    // Compacted: one part again, read without FINAL.
    store.compact(&november()).await.unwrap();
    assert_eq!(table(store.aggregate(&query(items)).await.unwrap()), once, "compacted");
}

async fn huge_and_tiny_decimals_stay_exact(store: &impl UsageStore) {
    store
        .insert_events(&[
            tokens("acme", "huge", "2026-11-02T10:00:00Z", "m", "input", "78999999999999999.999999999999"),
            tokens("acme", "tiny", "2026-11-02T10:00:00Z", "m", "input", "0.000000000001"),
            tokens("beta", "t1", "2026-11-02T10:00:00Z", "m", "input", "0.1"),
            tokens("beta", "t2", "2026-11-02T10:00:00Z", "m", "input", "0.2"),
        ])
        .await
        .unwrap();
    let items = vec![
        item(meter("t", "llm.tokens", Aggregation::Max, Some("tokens")), &[], &[]),
        item(meter("t", "llm.tokens", Aggregation::Min, Some("tokens")), &[], &[]),
        item(meter("t", "llm.tokens", Aggregation::Sum, Some("tokens")), &[("model", "m")], &["direction"]),
    ];
    let rows = table(store.aggregate(&query(items)).await.unwrap());
    assert_eq!(rows[0], row("acme", 0, "", "78999999999999999.999999999999"));
    assert_eq!(rows[1], row("acme", 1, "", "0.000000000001"));
    assert_eq!(rows[5], row("beta", 2, "direction=input,model=m", "0.3"));
}

async fn values_beyond_the_limits_are_refused(store: &impl UsageStore) {
    for bad in ["0.0000000000001", "79000000000000000", "-79000000000000000"] {
        // The bad event comes last: nothing of its batch may be stored.
        let batch = [
            tokens("acme", "ok-1", "2026-11-02T10:00:00Z", "m", "input", "1"),
            tokens("acme", "ok-2", "2026-11-02T10:00:00Z", "m", "input", "2"),
            tokens("acme", "x", "2026-11-02T10:00:00Z", "m", "input", bad),
        ];
        let err = store.insert_events(&batch).await.unwrap_err();
        assert!(matches!(err, tally_store::StoreError::Unstorable { .. }), "{bad}: {err:?}");
        assert!(err.to_string().contains("cannot be stored exactly"), "{bad}: {err}");
    }
    let items = vec![item(meter("n", "llm.tokens", Aggregation::Count, None), &[], &[])];
    assert!(store.aggregate(&query(items)).await.unwrap().is_empty(), "nothing of a refused batch is stored");
}

async fn concurrent_writers_never_double_count(store: &(impl UsageStore + Clone + 'static)) {
    // Four writers, each writing the same 2,000 events (ids 0..2000) in its own order.
    let events: Vec<IncomingEvent> = (0..2000)
        .map(|i| tokens(&format!("c{}", i % 7), &format!("e{i}"), "2026-11-15T12:00:00Z", "m", "input", "1"))
        .collect();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        let mut mine = events.clone();
        mine.rotate_left(w * 500);
        tasks.push(tokio::spawn(async move {
            let mut duplicates = Some(0);
            for chunk in mine.chunks(250) {
                let seen = store.insert_events_counted(chunk).await.unwrap();
                duplicates = duplicates.zip(seen).map(|(a, b)| a + b);
            }
            duplicates
        }));
    }
    // A store that counts duplicates (the embedded one, whose concurrent batches are
    // written in groups) counts every copy after the first, each for its own writer.
    let mut duplicates = Some(0);
    for task in tasks {
        duplicates = duplicates.zip(task.await.unwrap()).map(|(a, b)| a + b);
    }
    if let Some(duplicates) = duplicates {
        assert_eq!(duplicates, 3 * 2000);
    }
    let items = vec![item(meter("n", "llm.tokens", Aggregation::Count, None), &[], &[])];
    let rows = store.aggregate(&query(items)).await.unwrap();
    let per_customer: BTreeMap<String, Decimal> =
        rows.into_iter().map(|r| (r.customer.to_string(), r.quantity)).collect();
    assert_eq!(per_customer.values().copied().sum::<Decimal>(), Decimal::from(2000));
    assert_eq!(per_customer["c0"], Decimal::from(286)); // ids 0, 7, ..., 1995
}

async fn events_without_a_meter_are_kept_and_ignored(store: &impl UsageStore) {
    store
        .insert_events(&[
            event("acme", "u1", "image.generated", "2026-11-02T10:00:00Z", serde_json::json!({ "images": 4 })),
            tokens("acme", "1", "2026-11-02T10:00:00Z", "m", "input", "5"),
        ])
        .await
        .unwrap();
    let tokens_only = sum_of_tokens();
    assert_eq!(table(store.aggregate(&query(tokens_only)).await.unwrap()), vec![row("acme", 0, "", "5")]);
    // A meter added later bills the kept event.
    let images = vec![item(meter("img", "image.generated", Aggregation::Sum, Some("images")), &[], &[])];
    assert_eq!(table(store.aggregate(&query(images)).await.unwrap()), vec![row("acme", 0, "", "4")]);
    let _ = d("0");
}

async fn events_lacking_the_value_are_ignored_by_value_aggregations(store: &impl UsageStore) {
    store
        .insert_events(&[
            event("acme", "a", "training.session", "2026-11-02T10:00:00Z", serde_json::json!({ "status": "failed" })),
            event(
                "beta",
                "b",
                "training.session",
                "2026-11-02T10:00:00Z",
                serde_json::json!({ "session_id": "r1", "gpu_hours": "2" }),
            ),
        ])
        .await
        .unwrap();
    let items: Vec<UsageItem> = [
        (Aggregation::UniqueCount, Some("session_id")),
        (Aggregation::Sum, Some("gpu_hours")),
        (Aggregation::Max, Some("gpu_hours")),
        (Aggregation::Latest, Some("gpu_hours")),
        (Aggregation::Count, None),
    ]
    .into_iter()
    .map(|(aggregation, value)| item(meter("m", "training.session", aggregation, value), &[], &[]))
    .collect();
    assert_eq!(
        table(store.aggregate(&query(items)).await.unwrap()),
        vec![
            row("acme", 4, "", "1"),
            row("beta", 0, "", "1"),
            row("beta", 1, "", "2"),
            row("beta", 2, "", "2"),
            row("beta", 3, "", "2"),
            row("beta", 4, "", "1"),
        ]
    );
}

async fn rejected_events_keep_their_bytes_reason_and_origin(store: &impl UsageStore) {
    let not_json = RejectedEvent {
        received_at: t("2026-11-03T08:00:00Z"),
        reason: "not_json".into(),
        detail: "expected value at line 1 column 1".into(),
        source: None,
        id: None,
        raw: vec![0xff, 0xfe, b'{', 0x00, b'x'],
        origin: Some(KafkaOrigin { topic: "tally.usage".into(), partition: 3, offset: 1_234_567 }),
    };
    let missing = RejectedEvent {
        received_at: t("2026-11-03T09:00:00Z"),
        reason: "missing_field".into(),
        detail: "subject: missing".into(),
        source: Some("gateway/eu-1".into()),
        id: Some("01J".into()),
        raw: br#"{"specversion":"1.0","id":"01J"}"#.to_vec(),
        origin: None,
    };
    let later = RejectedEvent { received_at: t("2026-12-01T00:00:00Z"), ..missing.clone() };
    store.insert_rejected(&[missing.clone(), not_json.clone(), later]).await.unwrap();
    assert_eq!(store.rejected(&november()).await.unwrap(), vec![not_json, missing]);
}
