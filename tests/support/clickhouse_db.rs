//! A fresh ClickHouse database per test, dropped when the test ends.
//!
//! The `clickhouse` crate validates rows with the `RowBinaryWithNamesAndTypes` format,
//! which old servers (Debian's 18.16, the one these tests run on) do not have: the
//! server version is read first and validation stays on only for servers that have it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use clickhouse::Client;

use crate::services::{clickhouse_url, ServiceError};
use crate::unique::unique_name;

/// The first major version with validation on. The format itself exists since 19.1, but
/// the crate documents its validator only against releases still supported upstream.
const VALIDATION_SINCE_MAJOR: u32 = 24;

/// A client for `url` with row validation set for the server's version; fails if the
/// server does not answer.
pub async fn connect_clickhouse(url: &str) -> Result<(Client, String), ServiceError> {
    let probe = Client::default().with_url(url).with_validation(false);
    let version: String = probe
        .query("SELECT version()")
        .fetch_one()
        .await
        .map_err(|err| ServiceError::ClickHouse { url: url.to_owned(), reason: err.to_string() })?;
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Ok((probe.with_validation(major >= VALIDATION_SINCE_MAJOR), version))
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
