//! A fresh ClickHouse database per test, dropped when the test ends.
//!
//! Connecting goes through the store's own `connect`, so the tests use the same client
//! settings (TCP_NODELAY, row validation chosen by the server's version) as Tally.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use clickhouse::Client;
use tally_store::clickhouse::{connect, ClickHouseConfig};

use crate::services::{clickhouse_url, ServiceError};
use crate::unique::unique_name;

/// A client for `url` (no default database) and the server's version; fails if the
/// server does not answer.
pub async fn connect_clickhouse(url: &str) -> Result<(Client, String), ServiceError> {
    let config = ClickHouseConfig { url: url.to_owned(), ..Default::default() };
    let (client, version) = connect(&config)
        .await
        .map_err(|err| ServiceError::ClickHouse { url: url.to_owned(), reason: err.to_string() })?;
    Ok((client, version.0))
}

/// A database that exists for one test.
pub struct TestDb {
    url: String,
    name: String,
    client: Client,
    version: String,
}

impl TestDb {
    /// Creates a new, empty database; panics with a clear message if ClickHouse is not up.
    pub async fn new() -> TestDb {
        let url = clickhouse_url();
        let (client, version) = match connect_clickhouse(&url).await {
            Ok(found) => found,
            Err(err) => panic!("{err}"),
        };
        let name = unique_name("tally_test");
        client
            .query(&format!("CREATE DATABASE {name}"))
            .execute()
            .await
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        TestDb { client: client.with_database(&name), url, name, version }
    }

    /// A client whose default database is this one.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's version string, e.g. `18.16.1`.
    pub fn server_version(&self) -> &str {
        &self.version
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop is synchronous: one plain HTTP request, best effort.
        let _ = drop_database(&self.url, &self.name);
    }
}

fn drop_database(url: &str, name: &str) -> std::io::Result<()> {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = format!("DROP DATABASE IF EXISTS {name}");
    write!(stream, "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}", body.len())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_absent_server_is_an_error_that_says_how_to_start_it() {
        let err = connect_clickhouse("http://127.0.0.1:9").await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("ClickHouse is not reachable at http://127.0.0.1:9"), "{text}");
        assert!(text.contains("deploy/local/services up"), "{text}");
    }
}
