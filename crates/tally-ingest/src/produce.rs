//! Producing with acknowledgements, shared by the dead letters and the HTTP forwarder:
//! enqueue every record (waiting while librdkafka's queue is full), then wait until the
//! broker has acknowledged them all.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

/// Enqueues `record`; a full queue is waited out, not reported.
pub(crate) async fn enqueue<C: rdkafka::ClientContext + 'static>(
    producer: &FutureProducer<C>,
    mut record: FutureRecord<'_, [u8], [u8]>,
) -> Result<DeliveryFuture, KafkaError> {
    loop {
        match producer.send_result(record) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err((source, _)) => return Err(source),
        }
    }
}

/// Waits for the broker's acknowledgement of every enqueued record.
pub(crate) async fn acknowledged(pending: Vec<DeliveryFuture>) -> Result<(), KafkaError> {
    for delivery in pending {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((source, _))) => return Err(source),
            Err(_) => return Err(KafkaError::Canceled),
        }
    }
    Ok(())
}
