//! Where the test services listen: the same defaults as `deploy/local/services`,
//! overridable through the environment it prints with `services env`.

use thiserror::Error;

/// A service the tests need is not there. The message says how to start it.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// ClickHouse did not answer.
    #[error("ClickHouse is not reachable at {url}: {reason}. Start the test services with `deploy/local/services up` (the README's test command does it)")]
    ClickHouse {
        /// The URL tried.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The broker did not answer.
    #[error("the Kafka broker is not reachable at {brokers}: {reason}. Start the test services with `deploy/local/services up` (the README's test command does it)")]
    Kafka {
        /// The bootstrap servers tried.
        brokers: String,
        /// What went wrong.
        reason: String,
    },
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

/// ClickHouse's HTTP URL (`TALLY_TEST_CLICKHOUSE_URL`, default `http://127.0.0.1:18123`).
pub fn clickhouse_url() -> String {
    env_or("TALLY_TEST_CLICKHOUSE_URL", "http://127.0.0.1:18123")
}

/// ClickHouse's native port, for `clickhouse-client` (`TALLY_TEST_CLICKHOUSE_TCP_PORT`, default 19000).
pub fn clickhouse_tcp_port() -> u16 {
    env_or("TALLY_TEST_CLICKHOUSE_TCP_PORT", "19000").parse().unwrap_or(19000)
}

/// Kafka bootstrap servers (`TALLY_TEST_KAFKA_BROKERS`, default `127.0.0.1:19092`).
pub fn kafka_brokers() -> String {
    env_or("TALLY_TEST_KAFKA_BROKERS", "127.0.0.1:19092")
}
