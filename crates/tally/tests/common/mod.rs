//! Runs the real `tally` binary on files, as a user would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A catalog of one daily plan billing `llm.tokens` at 0.01 a token, for tests of
/// `tally run` that close days.
pub const DAILY_CATALOG: &str = r#"
[[meters]]
key = "tokens"
event_type = "llm.tokens"
aggregation = "sum"
value = "tokens"

[[plans]]
key = "daily"
currency = "USD"
interval = "day"

[[plans.charges]]
key = "tokens"
meter = "tokens"
price = { model = "per_unit", unit_price = "0.01" }
"#;

/// The fixtures folder of this crate.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The repository's sample catalog.
pub fn sample_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/catalog.toml")
}

/// The `tally` binary under test.
pub fn tally() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tally"))
}

/// A usage file for one November period, written into `dir`.
pub fn usage_file(dir: &Path, plan: &str, rows: &[(&str, &str)]) -> PathBuf {
    let rows: Vec<String> =
        rows.iter().map(|(meter, q)| format!(r#"{{ "meter": "{meter}", "quantity": "{q}" }}"#)).collect();
    let text = format!(
        r#"{{ "plan": "{plan}", "period": {{ "start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z" }}, "usage": [{}] }}"#,
        rows.join(", ")
    );
    let path = dir.join(format!("{plan}-usage.json"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `tally rate` and returns the process output.
pub fn rate(catalog: &Path, usage: &Path) -> Output {
    tally().arg("rate").arg("--catalog").arg(catalog).arg("--usage").arg(usage).output().unwrap()
}

/// Runs `tally rate`, requires success, and returns the JSON it printed.
pub fn rate_ok(catalog: &Path, usage: &Path) -> serde_json::Value {
    let out = rate(catalog, usage);
    assert!(out.status.success(), "tally rate failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs `tally rate`, requires failure with exactly one line on stderr, and returns it.
pub fn rate_err(catalog: &Path, usage: &Path) -> String {
    let out = rate(catalog, usage);
    assert!(!out.status.success(), "tally rate should have failed, printed {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "nothing on stdout when failing");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr, got {stderr:?}");
    stderr.trim_end().to_owned()
}

/// API tokens for tests, one per role: (role, token).
pub const TOKENS: [(&str, &str); 3] =
    [("ingest", "tly_test_ingest_token"), ("read", "tly_test_read_token"), ("admin", "tly_test_admin_token")];

/// The `[[http.tokens]]` entries configuring [`TOKENS`] (append to a config file).
pub fn tokens_toml() -> String {
    TOKENS
        .iter()
        .map(|(role, token)| {
            format!(
                "\n[[http.tokens]]\nname = \"test-{role}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
                tally_api::hash_token(token)
            )
        })
        .collect()
}

/// The test token of a role.
pub fn token(role: &str) -> &'static str {
    TOKENS.iter().find(|(r, _)| *r == role).map(|(_, t)| *t).expect("a test role")
}

/// A free loopback port (bound, then released for the process under test).
pub fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Waits until something listens on `addr` (at most 30 s).
pub fn wait_for_port(addr: std::net::SocketAddr) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "nothing listens on {addr}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A `tally run` that is killed if the test fails before stopping it, so that no
/// server outlives the test (holding its output pipes open and the harness with them).
pub struct Running(Option<std::process::Child>);

impl Running {
    /// `tally run --config FILE` in `dir`, its log kept for [`Running::stop`].
    pub fn start(dir: &Path, config_file: &str) -> Running {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .current_dir(dir)
            .args(["run", "--config", config_file])
            .env_remove("TALLY_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        Running(Some(child))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, std::process::Child::id)
    }

    /// SIGTERM, then the process must exit 0; returns its log.
    pub fn stop(mut self) -> String {
        use std::io::Read;
        let mut child = self.0.take().unwrap();
        let pid = child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = child.wait().unwrap();
        let mut log = String::new();
        child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
        assert!(status.success(), "exit {status:?} after SIGTERM:\n{log}");
        log
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 request (`Connection: close`), with a bearer token if given; returns
/// (status, body).
pub fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: tally\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response);
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A sample's value on `/metrics` at `addr` (`name` with its labels as printed).
pub fn metric(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    let (_, body) = request(addr, "GET", "/metrics", None, "text/plain", b"");
    body.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).map(|v| v.parse().unwrap()))
}

/// Waits until `ok` (at most 90 s).
pub fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !ok() {
        assert!(started.elapsed() < std::time::Duration::from_secs(90), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Runs `tally` with `args`, then the store's arguments.
pub fn run(store: &[String], args: &[&str]) -> std::process::Output {
    tally().args(args).args(store).output().unwrap()
}

/// [`run`], which must succeed: its standard output.
pub fn ok(store: &[String], args: &[&str]) -> String {
    let out = run(store, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// [`run`], which must fail: its standard error.
pub fn refused(store: &[String], args: &[&str]) -> String {
    let out = run(store, args);
    assert!(!out.status.success(), "{args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

/// Bills October 2026 from `docs/examples/taxed-catalog.toml` for its three customers,
/// created by the caller: `berlin` on plan `eu`, `sf` on `us`, `tokyo` on `jp`, each
/// from local midnight of 1 October (whole months, no proration), with 13 H100 and 13
/// A100 hours for Berlin, 13 H100 hours for San Francisco and 2 for Tokyo, backfilled
/// and closed on 2 November 2026 at 09:00 UTC. Returns the close's output.
pub fn bill_taxed_october(store: &[String], dir: &Path) -> String {
    let starts = [
        ("berlin", "eu", "2026-09-30T22:00:00Z"),
        ("sf", "us", "2026-10-01T07:00:00Z"),
        ("tokyo", "jp", "2026-09-30T15:00:00Z"),
    ];
    for (id, plan, start) in starts {
        let sub = format!("sub-{id}");
        let args = [
            "subscriptions",
            "create",
            "--id",
            &sub,
            "--customer",
            id,
            "--plan",
            plan,
            "--start",
            start,
            "--anchor",
            "2026-10-01",
        ];
        ok(store, &args);
    }
    let gpu = |id: &str, customer: &str, time: &str, gpu: &str, hours: u32| {
        serde_json::json!({"specversion": "1.0", "id": id, "source": "taxed-october", "type": "gpu.usage",
            "subject": customer, "time": time, "data": {"gpu_type": gpu, "hours": hours}})
        .to_string()
    };
    let events = [
        gpu("b1", "berlin", "2026-10-10T10:00:00Z", "h100", 13),
        gpu("b2", "berlin", "2026-10-11T10:00:00Z", "a100", 13),
        gpu("s1", "sf", "2026-10-10T10:00:00Z", "h100", 13),
        gpu("t1", "tokyo", "2026-10-10T10:00:00Z", "h100", 2),
    ];
    let file = dir.join("october.ndjson");
    std::fs::write(&file, events.join("\n") + "\n").unwrap();
    ok(store, &["backfill", file.to_str().unwrap(), "--from", "2026-09-30T00:00:00Z", "--to", "2026-11-01T00:00:00Z"]);
    ok(store, &["invoice", "close", "--now", "2026-11-02T09:00:00Z"])
}
