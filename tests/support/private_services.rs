//! A private ClickHouse or broker for one test, started by `deploy/local/services` in
//! its own directory on free ports, so a test may stop and restart it (fault tests)
//! without disturbing the shared services other tests use. Stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// ClickHouse server.
    ClickHouse,
    /// The Kafka-protocol broker (tansu, SQLite storage: it survives a restart).
    Kafka,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::ClickHouse => "clickhouse",
            Service::Kafka => "kafka",
        }
    }
}

/// One private service; `stop` and `start` keep its data.
pub struct PrivateService {
    service: Service,
    dir: PathBuf,
    ports: [u16; 3],
    /// A TLS endpoint (stunnel) in front of the broker, which advertises it.
    tls_port: Option<u16>,
}

impl PrivateService {
    /// Starts it; panics with the script's output if that fails.
    pub fn up(service: Service) -> PrivateService {
        let dir = tempfile::Builder::new().prefix("tally-private-").tempdir().expect("a temp dir").keep();
        let ports = [free_port(), free_port(), free_port()];
        let private = PrivateService { service, dir, ports, tls_port: None };
        private.script(&["up"]);
        private
    }

    /// A private broker reachable only over TLS: stunnel in front of it, with a CA and
    /// a certificate for 127.0.0.1 the script generates ([`Self::tls_ca`]); the broker
    /// advertises the TLS port, so every client must speak TLS to it.
    pub fn kafka_behind_tls() -> PrivateService {
        let dir = tempfile::Builder::new().prefix("tally-private-").tempdir().expect("a temp dir").keep();
        let ports = [free_port(), free_port(), free_port()];
        let private = PrivateService { service: Service::Kafka, dir, ports, tls_port: Some(free_port()) };
        private.script(&["up"]);
        private
    }

    /// The CA certificate (PEM) that signed the TLS endpoint's certificate.
    pub fn tls_ca(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// The broker's own plain port, behind the TLS endpoint (for creating topics).
    pub fn plain_brokers(&self) -> String {
        format!("127.0.0.1:{}", self.ports[2])
    }

    /// The ClickHouse HTTP URL (for [`Service::ClickHouse`]).
    pub fn clickhouse_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
    }

    /// The bootstrap servers (for [`Service::Kafka`]).
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.tls_port.unwrap_or(self.ports[2]))
    }

    /// Where its data and logs are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the process (SIGTERM, then SIGKILL after 10 s); the data stays.
    pub fn stop(&self) {
        self.script(&["stop", self.service.name()]);
    }

    /// Kills the process at once (SIGKILL), as a crash or an OOM kill would; the data stays.
    pub fn kill(&self) {
        let pidfile = self.dir.join(format!("{}.pid", self.service.name()));
        let pid = std::fs::read_to_string(&pidfile).unwrap_or_else(|e| panic!("{}: {e}", pidfile.display()));
        let pid = pid.trim();
        let status = Command::new("kill").args(["-KILL", pid]).status().expect("kill -KILL");
        assert!(status.success(), "kill -KILL {pid}");
        let proc = Path::new("/proc").join(pid);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while proc.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Starts it again on the same data and ports; returns once it answers.
    pub fn start(&self) {
        self.script(&["start", self.service.name()]);
    }

    fn script(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local/services");
        let out = Command::new(&script)
            .args(args)
            .env("TALLY_SERVICES", self.service.name())
            .env("TALLY_SERVICES_DIR", &self.dir)
            .env("TALLY_SERVICES_NO_BUILD", "1")
            .env("TALLY_CLICKHOUSE_HTTP_PORT", self.ports[0].to_string())
            .env("TALLY_CLICKHOUSE_TCP_PORT", self.ports[1].to_string())
            .env("TALLY_KAFKA_PORT", self.ports[2].to_string())
            .env("TALLY_KAFKA_STORAGE", "sqlite")
            .env("TALLY_KAFKA_TLS_PORT", self.tls_port.map(|p| p.to_string()).unwrap_or_default())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "services {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateService {
    fn drop(&mut self) {
        self.script(&["down"]);
        // Its data (half a gigabyte for a ClickHouse) goes with it: kept, every fault
        // test run filled /tmp a little more.
        if let Err(err) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("removing {}: {err}", self.dir.display());
        }
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}
