//! Observability as shipped in `deploy/`: metrics of real processes after real traffic
//! (checked by `promtool check metrics` and against what was sent), `/healthz` and
//! `/readyz`, the alert rules (`promtool check rules` and `promtool test rules`), and
//! the Grafana dashboards: valid JSON on provisioned data sources only, Prometheus
//! expressions on metrics a real process exposes, and every ClickHouse query run on
//! the real server after a demo month, returning what the invoices say.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tally_domain::Catalog;
use tally_tests::{clickhouse_url, kafka_brokers, TestDb, TestTopic};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// Runs promtool (installed by `deploy/local/services up`, from Debian's `prometheus`).
fn promtool(dir: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut command = Command::new("promtool");
    command.current_dir(dir).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!("promtool: {e}; it comes with Debian's `prometheus` package (deploy/local/services up installs it)")
    });
    child.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn alert_rules_and_prometheus_config_pass_promtool() {
    let dir = repo("deploy/prometheus");
    for args in [
        &["check", "rules", "alerts.yml"][..],
        &["test", "rules", "alerts.test.yml"],
        &["check", "config", "prometheus.yml"],
    ] {
        let (ok, out) = promtool(&dir, args, None);
        assert!(ok, "promtool {args:?}:\n{out}");
    }
    let (_, out) = promtool(&dir, &["check", "rules", "alerts.yml"], None);
    assert!(out.contains("SUCCESS: 9 rules found"), "{out}");
}

// ---------------------------------------------------------------------------------
// Dashboards: structure and data sources.

fn dashboard(name: &str) -> Value {
    let path = repo("deploy/grafana/dashboards").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", path.display()))
}

/// Every (panel title, datasource, query text) of a dashboard, variables included.
fn queries(dashboard: &Value) -> Vec<(String, Value, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let text = target["rawSql"].as_str().or(target["expr"].as_str()).unwrap_or_default();
            out.push((panel["title"].as_str().unwrap().to_owned(), target["datasource"].clone(), text.to_owned()));
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        let query = &variable["query"];
        let text = query.as_str().or(query["query"].as_str()).unwrap_or_default();
        out.push((format!("variable {}", variable["name"]), variable["datasource"].clone(), text.to_owned()));
    }
    out
}

/// The data sources the compose setup provisions: uid -> type.
fn provisioned_sources() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo("deploy/grafana/provisioning/datasources/datasources.yml")).unwrap();
    let (mut sources, mut uid) = (BTreeMap::new(), None);
    for line in text.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("uid:") {
            uid = Some(value.trim().to_owned());
        } else if let (Some(value), Some(u)) = (line.strip_prefix("type:"), uid.take()) {
            sources.insert(u, value.trim().to_owned());
        }
    }
    sources
}

#[test]
fn dashboards_are_valid_and_use_only_provisioned_sources() {
    let sources = provisioned_sources();
    assert_eq!(sources.len(), 2, "{sources:?}");
    let compose = std::fs::read_to_string(repo("deploy/compose/docker-compose.yml")).unwrap();
    assert!(compose.contains("../grafana/dashboards:/var/lib/grafana/dashboards"), "compose provisions the dashboards");
    assert!(compose.contains("GF_INSTALL_PLUGINS: grafana-clickhouse-datasource"), "and the ClickHouse plugin");
    let provider = std::fs::read_to_string(repo("deploy/grafana/provisioning/dashboards/dashboards.yml")).unwrap();
    assert!(provider.contains("path: /var/lib/grafana/dashboards"));

    for (name, kind) in [("billed-usage.json", "grafana-clickhouse-datasource"), ("pipeline-health.json", "prometheus")]
    {
        let board = dashboard(name);
        assert!(board["uid"].as_str().is_some_and(|u| u.starts_with("tally-")), "{name}: uid");
        let ids: Vec<u64> = board["panels"].as_array().unwrap().iter().map(|p| p["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "{name}: panel ids are unique");
        let all = queries(&board);
        assert!(all.len() >= 9, "{name}: {} queries", all.len());
        for (title, source, text) in all {
            let uid = source["uid"].as_str().unwrap_or_default();
            assert_eq!(sources.get(uid).map(String::as_str), Some(kind), "{name} / {title}: data source {source}");
            assert_eq!(source["type"].as_str(), Some(kind), "{name} / {title}: data source type");
            assert!(!text.trim().is_empty(), "{name} / {title}: empty query");
        }
        let variables: Vec<&str> =
            board["templating"]["list"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
        if name == "billed-usage.json" {
            for wanted in ["customer", "plan", "period", "currency"] {
                assert!(variables.contains(&wanted), "{name}: template variable {wanted}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Running processes: metrics after real traffic.

/// One request with the admin token; returns (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    common::request(addr, method, path, Some(common::token("admin")), content_type, body.as_bytes())
}

/// Samples of a scrape: `name{labels}` -> value.
fn samples(scrape: &str) -> BTreeMap<String, f64> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(k, v)| (k.to_owned(), v.parse().unwrap())))
        .collect()
}

fn wait_for(what: &str, ok: impl FnMut() -> bool) {
    common::wait_for(what, ok)
}

/// `tally run` with `config` (written to `run.toml` in `dir`).
fn run(dir: &Path, config: &str) -> common::Running {
    std::fs::write(dir.join("run.toml"), config).unwrap();
    common::Running::start(dir, "run.toml")
}

fn scrape(metrics: SocketAddr) -> String {
    let (status, body) = http(metrics, "GET", "/metrics", "text/plain", "");
    assert_eq!(status, 200);
    body
}

fn assert_promtool_accepts(scrape: &str) {
    let (ok, out) = promtool(Path::new("."), &["check", "metrics"], Some(scrape));
    assert!(ok, "promtool check metrics:\n{out}\n--- scrape ---\n{scrape}");
}

const DAILY_CATALOG: &str = common::DAILY_CATALOG;

fn event(id: &str, time: DateTime<Utc>, tokens: i64) -> String {
    json!({"specversion": "1.0", "id": id, "source": "obs", "type": "llm.tokens", "subject": "acme",
        "time": time.to_rfc3339(), "data": {"tokens": tokens}})
    .to_string()
}

/// Metric names a dashboard's PromQL reads (histograms by their base name).
fn promql_metrics(board: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (_, _, expr) in queries(board) {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find(|c: char| c.is_ascii_lowercase()) {
            rest = &rest[at..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let word = &rest[..end];
            if word.starts_with("tally_") || word.starts_with("process_") {
                let base = ["_bucket", "_sum", "_count"].iter().fold(word, |w, s| w.strip_suffix(s).unwrap_or(w));
                names.insert(base.to_owned());
            }
            rest = &rest[end..];
        }
    }
    names
}

fn exposed(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(String::from)
        .collect()
}

#[test]
fn embedded_run_metrics_count_what_was_sent_and_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("catalog.toml"), DAILY_CATALOG).unwrap();
    let today = Utc::now().duration_trunc(TimeDelta::days(1)).unwrap();
    let start = (today - TimeDelta::days(2)).to_rfc3339();
    for args in [
        &["customers", "create", "--id", "acme", "--name", "Acme", "--currency", "USD", "--timezone", "UTC"][..],
        &["subscriptions", "create", "--id", "sub-acme", "--customer", "acme", "--plan", "daily"],
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
        command.current_dir(d).args(args).args(["--embedded", "tally.db"]);
        if args[0] == "subscriptions" {
            command.args(["--start", &start, "--catalog", "catalog.toml"]);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A file for the two closed days: 4 valid (one twice), 1 negative; it is stored
    // before the first invoice run. Over HTTP, for the open day: 2 valid, 1 without id.
    let at = |days: i64, hour: i64| today - TimeDelta::days(days) + TimeDelta::hours(hour);
    let file = [
        event("f1", at(2, 1), 100),
        event("f2", at(2, 2), 20),
        event("f1", at(2, 1), 100),
        event("f3", at(1, 3), -1),
        event("f4", at(1, 4), 7),
        event("f5", at(1, 5), 11).replace("\"acme\"", "\"stranger\""),
    ];
    std::fs::write(d.join("events.ndjson"), file.join("\n") + "\n").unwrap();
    let (api, metrics) = (common::free_port(), common::free_port());
    let running = run(
        d,
        &format!(
            "catalog = \"catalog.toml\"\n[store.embedded]\npath = \"tally.db\"\n[ingest]\nfiles = [\"events.ndjson\"]\n\
             [http]\nlisten = \"{api}\"\n[metrics]\nlisten = \"{metrics}\"\n[invoicer]\nevery = \"1s\"\ngrace = \"1s\"\n{}",
            common::tokens_toml()
        ),
    );
    wait_for("/metrics", || TcpStream::connect(metrics).is_ok() && TcpStream::connect(api).is_ok());
    let batch =
        format!("[{}, {}, {{\"specversion\": \"1.0\"}}]", event("h1", Utc::now(), 3), event("h2", Utc::now(), 4));
    let (status, body) = http(api, "POST", "/v1/events", "application/cloudevents-batch+json", &batch);
    assert_eq!(status, 202, "{body}");
    wait_for("the file and three invoice runs after the HTTP batch", || {
        let s = samples(&scrape(metrics));
        s.get("tally_ingest_messages_total") == Some(&9.0)
            && s.get("tally_invoicer_runs_total{outcome=\"ok\"}").is_some_and(|n| *n >= 3.0)
    });
    let text = scrape(metrics);
    assert_promtool_accepts(&text);
    let s = samples(&text);
    let get = |k: &str| *s.get(k).unwrap_or_else(|| panic!("{k} missing from:\n{text}"));
    assert_eq!(get("tally_ingest_events_total"), 7.0, "5 valid in the file (one twice) + 2 over HTTP");
    assert_eq!(get("tally_ingest_duplicate_events_total"), 1.0, "f1 twice");
    assert_eq!(get("tally_ingest_rejected_events_total{reason=\"negative_value\"}"), 1.0);
    assert_eq!(get("tally_ingest_rejected_events_total{reason=\"missing_field\"}"), 1.0);
    assert_eq!(get("tally_ingest_batch_events_sum"), 7.0, "batch sizes add up to the events written");
    // The stranger's event is stored and will never be billed: the invoicer says so.
    assert_eq!(get("tally_unbilled_usage_groups{reason=\"unknown_customer\"}"), 1.0, "{text}");
    assert_eq!(get("tally_unbilled_usage_customers{reason=\"unknown_customer\"}"), 1.0);
    assert_eq!(get("tally_unbilled_usage_groups{reason=\"no_charge\"}"), 0.0);
    assert_eq!(get("tally_ingest_batch_events_count"), get("tally_ingest_batches_total"));
    assert!(get("tally_ingest_store_write_seconds_count") >= get("tally_ingest_batches_total"));
    assert_eq!(get("tally_ingest_backoff_seconds"), 0.0);
    assert_eq!(get("tally_ingest_store_retries_total"), 0.0);
    // Two closed days: 100 + 20 tokens, then 7, at 0.01.
    assert_eq!(get("tally_invoicer_invoices_issued_total"), 2.0);
    assert_eq!(get("tally_invoices{state=\"issued\"}"), 2.0);
    assert_eq!(get("tally_invoices{state=\"draft\"}"), 0.0);
    assert_eq!(get("tally_invoicer_billed_amount_total{currency=\"USD\",plan=\"daily\"}"), 1.27);
    assert!(get("tally_invoicer_phase_seconds_count{phase=\"compose\"}") >= 3.0);
    assert!(get("process_resident_memory_bytes") > 1e6);
    // The API's requests by route template (not the concrete path) and status.
    let api_requests = |fragments: &[&str]| -> f64 {
        s.iter().filter(|(k, _)| fragments.iter().all(|f| k.contains(f))).map(|(_, v)| v).sum()
    };
    let events_ok = ["tally_http_requests_total{", "route=\"/v1/events\"", "status=\"202\"", "method=\"POST\""];
    assert_eq!(api_requests(&events_ok), 1.0, "{text}");
    assert!(api_requests(&["tally_http_request_seconds_count{", "route=\"/v1/events\""]) >= 1.0);
    assert_eq!(http(metrics, "GET", "/healthz", "text/plain", ""), (200, "ok\n".to_owned()));
    assert_eq!(http(metrics, "GET", "/readyz", "text/plain", ""), (200, "ready\n".to_owned()));

    // Every Prometheus expression of the pipeline dashboard reads metrics Tally
    // exposes (here or, for the Kafka-only ones, in the Kafka test below).
    let kafka_only = ["tally_ingest_consumer_lag_messages", "tally_ingest_offsets_committed_total"];
    let exposed = exposed(&text);
    for name in promql_metrics(&dashboard("pipeline-health.json")) {
        assert!(exposed.contains(&name) || kafka_only.contains(&name.as_str()), "{name} is not exposed:\n{text}");
    }
    running.stop();
    // The billed amount is what the two invoices say.
    let listed = Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(d)
        .args(["invoice", "list", "--json", "--embedded", "tally.db"])
        .output()
        .unwrap();
    let invoiced: Decimal = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|i| i["total"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(invoiced, Decimal::new(127, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_run_reports_lag_and_commits_and_is_ready_only_with_a_broker() {
    let (topic, dead_letters) = (TestTopic::new(2).await, TestTopic::new(1).await);
    let produced = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["produce", "--brokers", &kafka_brokers(), "--topic", topic.name(), "--events", "500"])
        .args(["--duplicates-per-mille", "0", "--malformed-per-mille", "0", "--expected", "/dev/null"])
        .arg("--catalog")
        .arg(common::sample_catalog())
        .output()
        .unwrap();
    assert!(produced.status.success(), "{}", String::from_utf8_lossy(&produced.stderr));

    let dir = tempfile::tempdir().unwrap();
    let metrics = common::free_port();
    let group = tally_tests::unique_name("obs");
    let config = |brokers: &str| {
        format!(
            "catalog = {:?}\n[store.embedded]\npath = \"tally.db\"\n[ingest]\nsource = \"kafka\"\n\
             [ingest.kafka]\nbrokers = \"{brokers}\"\ntopics = [\"{}\"]\ndead_letter_topic = \"{}\"\ngroup = \"{group}\"\n\
             [http]\nenabled = false\n[metrics]\nlisten = \"{metrics}\"\n[invoicer]\nenabled = false\n",
            common::sample_catalog().display().to_string(),
            topic.name(),
            dead_letters.name()
        )
    };
    let running = run(dir.path(), &config(&kafka_brokers()));
    let lag = |s: &BTreeMap<String, f64>, p: u32| {
        s.get(&format!("tally_ingest_consumer_lag_messages{{partition=\"{p}\",topic=\"{}\"}}", topic.name())).copied()
    };
    tokio::task::block_in_place(|| {
        wait_for("500 messages committed and the lag of both partitions at 0", || {
            let Ok(_) = TcpStream::connect(metrics) else { return false };
            let s = samples(&scrape(metrics));
            s.get("tally_ingest_events_total") == Some(&500.0) && lag(&s, 0) == Some(0.0) && lag(&s, 1) == Some(0.0)
        });
        let text = scrape(metrics);
        assert_promtool_accepts(&text);
        let s = samples(&text);
        assert!(s["tally_ingest_offsets_committed_total"] >= 2.0, "both partitions committed:\n{text}");
        assert_eq!(s["tally_ingest_messages_total"], 500.0);
        assert_eq!(http(metrics, "GET", "/readyz", "text/plain", ""), (200, "ready\n".to_owned()));
        for name in promql_metrics(&dashboard("pipeline-health.json")) {
            if name.starts_with("tally_ingest") {
                assert!(exposed(&text).contains(&name), "{name} is not exposed in Kafka mode:\n{text}");
            }
        }
    });
    running.stop();

    // No broker where the configuration says: alive, not ready, and it says why.
    let nowhere = common::free_port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let running = run(dir.path(), &config(&nowhere));
    tokio::task::block_in_place(|| {
        wait_for("/healthz", || TcpStream::connect(metrics).is_ok());
        assert_eq!(http(metrics, "GET", "/healthz", "text/plain", "").0, 200);
        let (status, body) = http(metrics, "GET", "/readyz", "text/plain", "");
        assert_eq!(status, 503, "{body}");
        assert!(body.starts_with("not ready: kafka:"), "{body}");
    });
    running.stop();
}

// ---------------------------------------------------------------------------------
// The billed-usage dashboard's SQL on the real ClickHouse.

/// Runs SQL over ClickHouse's HTTP interface; rows of tab-separated values.
fn clickhouse(database: &str, sql: &str) -> Vec<Vec<String>> {
    let url = clickhouse_url();
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let body = format!("{sql}\nFORMAT TabSeparated");
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /?database={database} HTTP/1.0\r\nHost: clickhouse\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, text) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "{sql}\n{text}");
    text.lines().map(|l| l.split('\t').map(String::from).collect()).collect()
}

/// Grafana's substitutions: the ClickHouse plugin's time macro and the variables.
fn fill(sql: &str, vars: &BTreeMap<&str, String>, from: i64, to: i64) -> String {
    let mut sql = sql.to_owned();
    while let Some(at) = sql.find("$__timeFilter(") {
        let close = at + sql[at..].find(')').unwrap();
        let column = sql[at + "$__timeFilter(".len()..close].to_owned();
        sql.replace_range(at..=close, &format!("{column} >= toDateTime({from}) AND {column} <= toDateTime({to})"));
    }
    for (name, value) in vars {
        sql = sql.replace(&format!("${{{name}}}"), value);
    }
    assert!(!sql.contains('$'), "unfilled: {sql}");
    sql
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// What the billed-usage panels must show, computed here from the invoices as
/// `tally invoice list --json` gives them, with the catalog for meters and filters.
struct Books {
    invoices: Vec<Value>,
    catalog: Catalog,
    names: BTreeMap<String, String>,
    /// (currency, day, units of USD for one) as loaded with `tally rates load`.
    usd_rates: Vec<(String, chrono::NaiveDate, Decimal)>,
}

type Rows = Vec<Vec<String>>;

impl Books {
    fn selected<'a>(&'a self, vars: &'a BTreeMap<&str, String>) -> impl Iterator<Item = &'a Value> + 'a {
        self.invoices.iter().filter(move |i| {
            let month = i["period"]["start"].as_str().unwrap().replace('-', "")[..6].to_owned();
            i["currency"] == vars["currency"].as_str()
                && (vars["customer"] == "all" || i["customer"] == vars["customer"].as_str())
                && (vars["period"] == "all" || month == vars["period"])
        })
    }

    /// As `selected`, every currency (the reporting-currency panel converts them all).
    fn selected_any_currency<'a>(&'a self, vars: &'a BTreeMap<&str, String>) -> impl Iterator<Item = &'a Value> + 'a {
        self.invoices.iter().filter(move |i| {
            let month = i["period"]["start"].as_str().unwrap().replace('-', "")[..6].to_owned();
            (vars["customer"] == "all" || i["customer"] == vars["customer"].as_str())
                && (vars["period"] == "all" || month == vars["period"])
        })
    }

    /// 1 `currency` in USD on `day`: the latest loaded rate on or before it, a week old at most.
    fn rate_to_usd(&self, currency: &str, day: chrono::NaiveDate) -> Decimal {
        if currency == "USD" {
            return Decimal::ONE;
        }
        let (on, rate) = self
            .usd_rates
            .iter()
            .filter(|(c, d, _)| c == currency && *d <= day)
            .map(|(_, d, r)| (*d, *r))
            .max()
            .unwrap_or_else(|| panic!("the test loaded no {currency} rate before {day}"));
        assert!((day - on).num_days() <= 7, "{currency} on {day}: the loaded rate of {on} is too old");
        rate
    }

    fn lines<'a>(&'a self, vars: &'a BTreeMap<&str, String>) -> impl Iterator<Item = &'a Value> + 'a {
        self.selected(vars)
            .filter(|i| i["state"] != "draft")
            .flat_map(|i| i["lines"].as_array().unwrap())
            .filter(move |l| vars["plan"] == "all" || l["plan"] == vars["plan"].as_str())
    }

    fn charge(&self, line: &Value) -> Option<&tally_domain::Charge> {
        let plan = self.catalog.plan(line["plan"].as_str().unwrap())?;
        plan.charges.iter().find(|c| c.key.as_str() == line["key"].as_str().unwrap())
    }

    fn dimension(&self, line: &Value, name: &str) -> String {
        line["dimensions"][name]
            .as_str()
            .map(String::from)
            .or_else(|| self.charge(line).and_then(|c| c.filter.get(name).cloned()))
            .unwrap_or_default()
    }

    /// Sums by key, sorted by amount descending then key, as the panels order them.
    fn ranked(sums: BTreeMap<String, Decimal>) -> Rows {
        let mut rows: Vec<(String, Decimal)> = sums.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        rows.into_iter().map(|(k, v)| vec![k, v.normalize().to_string()]).collect()
    }

    fn expected(&self, panel: &str, vars: &BTreeMap<&str, String>) -> Rows {
        let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut add = |key: String, amount: &Value| *sums.entry(key).or_default() += dec(amount.as_str().unwrap());
        match panel {
            "Revenue by month" => {
                for i in self.selected(vars).filter(|i| i["state"] != "draft") {
                    add(i["period"]["start"].as_str().unwrap().replace('-', "")[..6].to_owned(), &i["total"]);
                }
                return sums.into_iter().map(|(k, v)| vec![k, v.normalize().to_string()]).collect();
            }
            "Revenue by plan" => self.lines(vars).for_each(|l| add(l["plan"].as_str().unwrap().into(), &l["amount"])),
            "Revenue by meter" => self.lines(vars).for_each(|l| {
                let meter = self.charge(l).map_or("fees".to_owned(), |c| c.meter.to_string());
                add(if l["kind"] == "usage" || l["kind"] == "late_usage" { meter } else { "fees".into() }, &l["amount"])
            }),
            "Revenue by model" | "Revenue by GPU type" => {
                let name = if panel.ends_with("model") { "model" } else { "gpu_type" };
                self.lines(vars).for_each(|l| {
                    let value = self.dimension(l, name);
                    if !value.is_empty() {
                        add(value, &l["amount"]);
                    }
                });
            }
            "Top customers" => {
                let mut count: BTreeMap<String, u64> = BTreeMap::new();
                for i in self.selected(vars).filter(|i| i["state"] != "draft") {
                    add(i["customer"].as_str().unwrap().into(), &i["total"]);
                    *count.entry(i["customer"].as_str().unwrap().into()).or_default() += 1;
                }
                let ranked = Books::ranked(sums);
                return ranked
                    .into_iter()
                    .take(20)
                    .map(|r| vec![r[0].clone(), self.names[&r[0]].clone(), r[1].clone(), count[&r[0]].to_string()])
                    .collect();
            }
            "Usage against included allowances" => {
                let mut rows: BTreeMap<(String, String), (u64, Decimal, Decimal, u64)> = BTreeMap::new();
                for l in self.lines(vars).filter(|l| l["kind"] == "usage") {
                    let included = self.charge(l).map_or(Decimal::ZERO, |c| c.included);
                    let quantity = dec(l["quantity"].as_str().unwrap());
                    let row = rows
                        .entry((l["plan"].as_str().unwrap().into(), l["key"].as_str().unwrap().into()))
                        .or_default();
                    *row = (row.0 + 1, row.1 + quantity, row.2 + included, row.3 + u64::from(quantity > included));
                }
                return rows
                    .into_iter()
                    .map(|((plan, charge), (n, used, included, over))| {
                        vec![
                            plan,
                            charge,
                            n.to_string(),
                            used.normalize().to_string(),
                            included.normalize().to_string(),
                            over.to_string(),
                        ]
                    })
                    .collect();
            }
            "Invoices by state" => {
                let mut count: BTreeMap<String, u64> = BTreeMap::new();
                for i in self.selected(vars) {
                    *count.entry(i["state"].as_str().unwrap().into()).or_default() += 1;
                }
                return count.into_iter().map(|(k, n)| vec![k, n.to_string()]).collect();
            }
            "Receivables by age" => {
                let mut rows: BTreeMap<String, (Decimal, u64)> = BTreeMap::new();
                let any_period = BTreeMap::from_iter(
                    vars.iter().map(|(k, v)| (*k, if *k == "period" { "all".into() } else { v.clone() })),
                );
                for i in self.selected(&any_period).filter(|i| i["state"] == "issued" && i["document"] != "credit_note")
                {
                    let issued: DateTime<Utc> = i["issued_at"].as_str().unwrap().parse().unwrap();
                    let age = (Utc::now() - issued).num_days();
                    let bucket = match age {
                        ..=30 => "0-30",
                        31..=60 => "31-60",
                        61..=90 => "61-90",
                        _ => "90+",
                    };
                    let row = rows.entry(bucket.into()).or_default();
                    *row = (row.0 + dec(i["total"].as_str().unwrap()), row.1 + 1);
                }
                return rows.into_iter().map(|(k, (t, n))| vec![k, t.normalize().to_string(), n.to_string()]).collect();
            }
            "Revenue in the reporting currency" => {
                // Converted here from the rates the test loaded, not from what the
                // invoices recorded: the latest rate on or before the issue day.
                let mut rows: BTreeMap<(String, String), (Decimal, u64, BTreeSet<String>)> = BTreeMap::new();
                for i in self.selected_any_currency(vars).filter(|i| i["state"] != "draft") {
                    let month = i["period"]["start"].as_str().unwrap().replace('-', "")[..6].to_owned();
                    let issued: DateTime<Utc> = i["issued_at"].as_str().unwrap().parse().unwrap();
                    let currency = i["currency"].as_str().unwrap();
                    let rate = self.rate_to_usd(currency, issued.date_naive());
                    let converted = (dec(i["total"].as_str().unwrap()) * rate)
                        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
                    let row = rows.entry((month, "USD".into())).or_default();
                    row.0 += converted;
                    row.1 += 1;
                    row.2.insert(currency.to_owned());
                }
                return rows
                    .into_iter()
                    .map(|((month, reporting), (revenue, n, from))| {
                        let from: Vec<String> = from.into_iter().map(|c| format!("'{c}'")).collect();
                        vec![
                            month,
                            reporting,
                            revenue.normalize().to_string(),
                            n.to_string(),
                            format!("[{}]", from.join(",")),
                        ]
                    })
                    .collect();
            }
            other => panic!("no expectation for panel {other:?}"),
        }
        Books::ranked(sums)
    }
}

/// ClickHouse prints decimals with their column's scale: compare them as numbers.
fn normalized(rows: Rows) -> Rows {
    rows.into_iter()
        .map(|row| {
            row.into_iter().map(|v| v.parse::<Decimal>().map_or(v.clone(), |d| d.normalize().to_string())).collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn billed_usage_queries_run_on_clickhouse_and_match_the_invoices() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TALLY__STORE__KIND", "clickhouse".to_owned()),
        ("TALLY__STORE__CLICKHOUSE__URL", clickhouse_url()),
        ("TALLY__STORE__CLICKHOUSE__DATABASE", db.name().to_owned()),
        ("TALLY__CATALOG", common::sample_catalog().display().to_string()),
        ("TALLY__REPORTING__CURRENCY", "USD".to_owned()),
    ];
    let store = ["--clickhouse", &clickhouse_url(), "--database", db.name()];
    // EUR rates of three days: before the demo month's close (a Friday, the close
    // falls on the weekend), on its Monday, and the day before the void below.
    let yesterday = Utc::now().date_naive() - TimeDelta::days(1);
    let usd_rates = vec![
        ("EUR".to_owned(), "2026-10-30".parse().unwrap(), dec("1.0811")),
        ("EUR".to_owned(), "2026-11-02".parse().unwrap(), dec("1.0839")),
        ("EUR".to_owned(), yesterday, dec("1.0876")),
    ];
    let rates = dir.path().join("rates.csv");
    let mut csv = "date,base,quote,rate\n".to_owned();
    for (currency, day, rate) in &usd_rates {
        csv += &format!("{day},{currency},USD,{rate}\n");
    }
    std::fs::write(&rates, csv).unwrap();
    let tally = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tally")).args(args).envs(env.clone()).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    tokio::task::block_in_place(|| {
        tally(&["rates", "load", rates.to_str().unwrap()]);
        let out = dir.path().join("demo");
        let out = out.to_str().unwrap();
        tally(&["demo", "--events", "20000", "--customers", "40", "--seed", "11", "--month", "2026-10", "--out", out]);
        // A dispute settled: the first invoice voided with a credit note and a revision.
        let catalog = common::sample_catalog();
        let catalog = catalog.to_str().unwrap();
        tally(&[&["invoice", "void", "--id", "INV-000001", "--revise", "--catalog", catalog][..], &store].concat());
    });
    let listed = tokio::task::block_in_place(|| tally(&[&["invoice", "list", "--json"][..], &store].concat()));
    let invoices: Vec<Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let customers = tokio::task::block_in_place(|| tally(&[&["customers", "list", "--json"][..], &store].concat()));
    let names = customers
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c["name"].as_str().unwrap().to_owned()))
        .collect();
    assert!(invoices.iter().any(|i| i["document"] == "credit_note") && invoices.iter().any(|i| i["state"] == "void"));
    let catalog = Catalog::load(&common::sample_catalog()).unwrap();
    let books = Books { invoices, catalog, names, usd_rates };

    let board = dashboard("billed-usage.json");
    let (from, to) = ("2026-09-01T00:00:00Z", "2026-12-01T00:00:00Z");
    let (from, to) =
        (from.parse::<DateTime<Utc>>().unwrap().timestamp(), to.parse::<DateTime<Utc>>().unwrap().timestamp());
    let top = books.expected(
        "Top customers",
        &BTreeMap::from([
            ("currency", "USD".to_owned()),
            ("customer", "all".to_owned()),
            ("plan", "all".to_owned()),
            ("period", "all".to_owned()),
        ]),
    )[0][0]
        .clone();
    let selections = [
        ("USD", "all", "all", "all"),
        ("EUR", "all", "all", "all"),
        ("USD", top.as_str(), "all", "all"),
        ("USD", "all", "pro", "all"),
        ("USD", "all", "enterprise", "202609"),
        ("EUR", "all", "pro_eu", "202610"),
    ];
    // The variables' own queries list what the invoices hold.
    for variable in board["templating"]["list"].as_array().unwrap() {
        let values: Vec<String> =
            clickhouse(db.name(), variable["query"].as_str().unwrap()).into_iter().map(|r| r[0].clone()).collect();
        assert!(!values.is_empty(), "variable {} lists nothing", variable["name"]);
    }
    let mut checked = 0;
    for (currency, customer, plan, period) in selections {
        let vars = BTreeMap::from([
            ("currency", currency.to_owned()),
            ("customer", customer.to_owned()),
            ("plan", plan.to_owned()),
            ("period", period.to_owned()),
        ]);
        for panel in board["panels"].as_array().unwrap() {
            let title = panel["title"].as_str().unwrap();
            let sql = fill(panel["targets"][0]["rawSql"].as_str().unwrap(), &vars, from, to);
            let got = normalized(clickhouse(db.name(), &sql));
            let want = books.expected(title, &vars);
            assert_eq!(got, want, "{title} with {vars:?}:\n{sql}");
            checked += usize::from(!want.is_empty());
        }
    }
    assert!(checked >= 40, "most panel x selection pairs have rows: {checked}");

    // Revenue per plan adds up to the invoices' totals (lines are rounded per invoice).
    let all = BTreeMap::from([
        ("currency", "USD".to_owned()),
        ("customer", "all".to_owned()),
        ("plan", "all".to_owned()),
        ("period", "all".to_owned()),
    ]);
    let by_plan: Decimal = books.expected("Revenue by plan", &all).iter().map(|r| dec(&r[1])).sum();
    let totals: Decimal = books.expected("Revenue by month", &all).iter().map(|r| dec(&r[1])).sum();
    let invoices = books.selected(&all).filter(|i| i["state"] != "draft").count();
    assert!((by_plan - totals).abs() <= Decimal::new(5, 3) * Decimal::from(invoices), "{by_plan} vs {totals}");
}
