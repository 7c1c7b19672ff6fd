//! Payments in ClickHouse: a `ReplacingMergeTree` on (invoice, reference) read with
//! `FINAL`; a reference already recorded is not written again (first wins).

use chrono::NaiveDate;
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::rows::{from_raw, to_raw};
use super::sql;
use super::ClickHouseStore;
use crate::payments::{Payment, PaymentStore};
use crate::StoreError;

#[derive(Row, Serialize, Deserialize)]
struct PaymentRow {
    invoice: String,
    reference: String,
    /// Decimal(38, 12) as its raw 128-bit integer.
    amount: i128,
    currency: String,
    /// Days since 1970-01-01.
    received_on: u16,
    recorded_at_ms: i64,
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");

impl PaymentStore for ClickHouseStore {
    async fn put_payment(&self, payment: &Payment) -> Result<bool, StoreError> {
        let exists: u64 = self
            .client()
            .query(&format!(
                "SELECT count() FROM payments FINAL WHERE invoice = {} AND reference = {}",
                sql::string(&payment.invoice),
                sql::string(&payment.reference)
            ))
            .fetch_one()
            .await
            .map_err(StoreError::clickhouse("reading payments"))?;
        if exists > 0 {
            return Ok(false);
        }
        let context = || format!("payment {}/{}", payment.invoice, payment.reference);
        let days = (payment.received_on - EPOCH).num_days();
        let row = PaymentRow {
            invoice: payment.invoice.clone(),
            reference: payment.reference.clone(),
            amount: to_raw(payment.amount, context)?,
            currency: payment.currency.clone(),
            received_on: u16::try_from(days).map_err(|_| StoreError::Unstorable {
                context: context(),
                message: format!("received_on {} is outside 1970..2149", payment.received_on),
            })?,
            recorded_at_ms: payment.recorded_at.timestamp_millis(),
        };
        let mut insert = self
            .client()
            .insert::<PaymentRow>("payments")
            .await
            .map_err(StoreError::clickhouse("recording a payment"))?;
        insert.write(&row).await.map_err(StoreError::clickhouse("recording a payment"))?;
        insert.end().await.map_err(StoreError::clickhouse("recording a payment"))?;
        Ok(true)
    }

    async fn payments(&self, invoice: Option<&str>) -> Result<Vec<Payment>, StoreError> {
        let filter = invoice.map_or(String::new(), |i| format!("WHERE invoice = {}", sql::string(i)));
        let rows: Vec<PaymentRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM payments FINAL {filter} ORDER BY received_on, recorded_at_ms, invoice, reference"
            ))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("reading payments"))?;
        rows.into_iter()
            .map(|r| {
                let amount = from_raw(r.amount, || format!("payment {}/{}", r.invoice, r.reference))?;
                Ok(Payment {
                    invoice: r.invoice,
                    reference: r.reference,
                    amount,
                    currency: r.currency,
                    received_on: EPOCH + chrono::Days::new(u64::from(r.received_on)),
                    recorded_at: chrono::DateTime::from_timestamp_millis(r.recorded_at_ms).unwrap_or_default(),
                })
            })
            .collect()
    }
}
