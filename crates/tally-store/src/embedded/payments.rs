//! Payments in the embedded store: `INSERT OR IGNORE` on (invoice, reference).

use chrono::NaiveDate;
use rusqlite::params;

use super::EmbeddedStore;
use crate::payments::{Payment, PaymentStore};
use crate::StoreError;

impl PaymentStore for EmbeddedStore {
    async fn put_payment(&self, payment: &Payment) -> Result<bool, StoreError> {
        let p = payment.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO payments (invoice, reference, amount, currency, received_on, recorded_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    p.invoice,
                    p.reference,
                    p.amount.to_string(),
                    p.currency,
                    p.received_on.to_string(),
                    p.recorded_at.timestamp_millis()
                ],
            )
            .map(|n| n == 1)
            .map_err(StoreError::sqlite("recording a payment"))
        })
        .await
    }

    async fn payments(&self, invoice: Option<&str>) -> Result<Vec<Payment>, StoreError> {
        let invoice = invoice.map(str::to_owned);
        self.with_reader(move |conn| {
            let read = || -> rusqlite::Result<Vec<(String, String, String, String, String, i64)>> {
                let mut statement = conn.prepare_cached(
                    "SELECT invoice, reference, amount, currency, received_on, recorded_at_ms FROM payments \
                     WHERE ?1 IS NULL OR invoice = ?1 ORDER BY received_on, recorded_at_ms, invoice, reference",
                )?;
                let rows = statement.query_map([&invoice], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?;
                rows.collect()
            };
            let rows = read().map_err(StoreError::sqlite("reading payments"))?;
            rows.into_iter()
                .map(|(invoice, reference, amount, currency, received_on, recorded_at_ms)| {
                    let corrupt = |what: &str| StoreError::Corrupt {
                        context: format!("payment {invoice}/{reference}"),
                        message: format!("unreadable {what}"),
                    };
                    Ok(Payment {
                        amount: amount.parse().map_err(|_| corrupt("amount"))?,
                        received_on: received_on.parse::<NaiveDate>().map_err(|_| corrupt("received_on"))?,
                        recorded_at: chrono::DateTime::from_timestamp_millis(recorded_at_ms).unwrap_or_default(),
                        invoice,
                        reference,
                        currency,
                    })
                })
                .collect()
        })
        .await
    }
}
