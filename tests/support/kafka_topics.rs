//! Fresh Kafka topics per test, created through the broker's admin API.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::services::{kafka_brokers, ServiceError};
use crate::unique::unique_name;

/// A topic that exists for one test.
pub struct TestTopic {
    brokers: String,
    name: String,
}

impl TestTopic {
    /// Creates a topic with `partitions` partitions; panics with a clear message if the
    /// broker is not up or refuses.
    pub async fn new(partitions: i32) -> TestTopic {
        Self::on(&kafka_brokers(), partitions).await
    }

    /// The same on another broker (e.g. a [`crate::PrivateService`]).
    pub async fn on(brokers: &str, partitions: i32) -> TestTopic {
        let brokers = brokers.to_owned();
        if let Err(err) = check_broker(&brokers) {
            panic!("{err}");
        }
        let name = unique_name("tally_test");
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &brokers).create().expect("creating an admin client");
        let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
        let results = admin
            .create_topics([&topic], &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))))
            .await
            .unwrap_or_else(|e| panic!("creating topic {name} on {brokers}: {e}"));
        for result in results {
            if let Err((topic, code)) = result {
                panic!("creating topic {topic} on {brokers}: {code}");
            }
        }
        TestTopic { brokers, name }
    }

    /// The bootstrap servers.
    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Asks the broker for its metadata.
fn check_broker(brokers: &str) -> Result<(), ServiceError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| ServiceError::Kafka { brokers: brokers.to_owned(), reason: e.to_string() })?;
    consumer
        .fetch_metadata(None, Duration::from_secs(5))
        .map(|_| ())
        .map_err(|e| ServiceError::Kafka { brokers: brokers.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_absent_broker_is_an_error_that_says_how_to_start_it() {
        let err = super::check_broker("127.0.0.1:9").unwrap_err().to_string();
        assert!(err.starts_with("the Kafka broker is not reachable at 127.0.0.1:9"), "{err}");
        assert!(err.contains("deploy/local/services up"), "{err}");
    }
}
