//! Test support for Tally's integration tests: real services, isolated per test.
//!
//! Every integration test runs against the real ClickHouse and Kafka-protocol broker
//! that `deploy/local/services up` starts. This crate finds them (environment, with
//! the script's defaults), gives each test its own ClickHouse database and its own
//! Kafka topics under unique names so tests run in parallel without seeing each
//! other's data, and fails loudly, never skips, when a service is not there.

mod bad_events;
mod clickhouse_db;
mod kafka_topics;
mod private_services;
mod services;
mod unique;

pub use bad_events::{bad_events, event_with, good_event, BadEvent};
pub use clickhouse_db::{connect_clickhouse, TestDb};
pub use kafka_topics::TestTopic;
pub use private_services::{PrivateService, Service};
pub use services::{clickhouse_tcp_port, clickhouse_url, kafka_brokers, ServiceError};
pub use unique::unique_name;
