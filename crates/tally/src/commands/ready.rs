//! Liveness and readiness for probes: `/healthz` answers while the process serves;
//! `/readyz` answers 200 only when the store answers a query and, in Kafka mode, the
//! brokers answer a metadata request. Each check has a deadline so that a probe never
//! hangs on a dead dependency.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tally_ingest::{KafkaClient, Reporting};
use tally_store::{AnyStore, UsageStore};

/// How long one dependency may take to answer a readiness check.
const CHECK_DEADLINE: Duration = Duration::from_secs(2);

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    store: Arc<AnyStore>,
    /// A client used only for metadata requests, in Kafka mode.
    kafka: Option<(Arc<BaseConsumer<Reporting>>, Reporting)>,
}

impl Readiness {
    /// Checks the store, and the brokers when `brokers` is given.
    pub fn new(store: Arc<AnyStore>, kafka: Option<&KafkaClient>) -> anyhow::Result<Readiness> {
        let kafka = match kafka {
            Some(client) => {
                let reporting = Reporting::default();
                let consumer = client
                    .config()
                    .create_with_context::<_, BaseConsumer<Reporting>>(reporting.clone())
                    .map_err(|e| anyhow::anyhow!("ingest.kafka: creating the readiness client: {e}"))?;
                Some((Arc::new(consumer), reporting))
            }
            None => None,
        };
        Ok(Readiness { store, kafka })
    }

    /// 200 and "ready", or 503 and what does not answer.
    pub async fn check(&self) -> (StatusCode, String) {
        let mut problems = Vec::new();
        match tokio::time::timeout(CHECK_DEADLINE, self.store.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => problems.push(format!("store: {err}")),
            Err(_) => problems.push("store: no answer within 2 s".to_owned()),
        }
        if let Some((kafka, reporting)) = &self.kafka {
            let kafka = kafka.clone();
            let metadata = tokio::task::spawn_blocking(move || {
                let fetched = kafka.fetch_metadata(None, CHECK_DEADLINE).map(|_| ());
                // A consumer's log and error callbacks run when it is polled: serve them,
                // so the reason (a TLS handshake, a login) is known to `explain`.
                if fetched.is_err() {
                    let _ = kafka.poll(Duration::from_millis(50));
                }
                fetched
            });
            match tokio::time::timeout(CHECK_DEADLINE * 2, metadata).await.unwrap_or_else(|_| {
                Ok(Err(rdkafka::error::KafkaError::MetadataFetch(rdkafka::types::RDKafkaErrorCode::RequestTimedOut)))
            }) {
                Ok(Ok(())) => {}
                Ok(Err(err)) => problems.push(reporting.explain(&format!("kafka: {err}"))),
                Err(err) => problems.push(format!("kafka: {err}")),
            }
        }
        if problems.is_empty() {
            (StatusCode::OK, "ready\n".to_owned())
        } else {
            tracing::warn!(problems = %problems.join("; "), "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", problems.join("; ")))
        }
    }
}
