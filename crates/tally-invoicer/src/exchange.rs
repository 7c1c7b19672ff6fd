//! The reporting currency at issue: every invoice and credit note issued while a
//! reporting currency is set records its rate to it on its issue day
//! (`Invoice::exchange`), so a report of that month gives the same figure whatever
//! rates are loaded later. No rate for the pair near enough that day fails the issue
//! of that document, naming the pair and the day; it is never taken as 1.

use tally_domain::{Currency, RateBook};
use tally_invoicing::Invoice;
use tally_store::RateStore;

use crate::error::InvoicerError;

/// The reporting currency and how old a rate may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reporting {
    /// The currency reports are given in.
    pub currency: Currency,
    /// A day without a rate takes the latest before it, at most this many days older.
    pub max_age_days: u32,
}

/// The reporting currency with the rates to convert to it.
#[derive(Debug, Clone)]
pub struct Rates {
    /// The currency and the age allowed.
    pub reporting: Reporting,
    /// Every rate loaded.
    pub book: RateBook,
}

impl Rates {
    /// The reporting currency's rates from `store` (`None` when none is set).
    pub async fn read<S: RateStore>(store: &S, reporting: Option<Reporting>) -> Result<Option<Rates>, InvoicerError> {
        let Some(reporting) = reporting else { return Ok(None) };
        Ok(Some(Rates { reporting, book: RateBook::new(store.rates().await?) }))
    }

    /// Records `doc`'s rate on its issue day (a document not issued is left alone).
    pub fn record(&self, doc: &mut Invoice) -> Result<(), InvoicerError> {
        let Some(issued) = doc.issued_at else { return Ok(()) };
        let Reporting { currency, max_age_days } = self.reporting;
        let exchange = self
            .book
            .exchange(doc.currency, currency, issued.date_naive(), max_age_days)
            .map_err(|source| InvoicerError::Exchange { document: doc.id.clone(), source })?;
        doc.exchange = Some(exchange);
        Ok(())
    }
}

/// Records `doc`'s rate when there is a reporting currency.
pub(crate) fn record(rates: Option<&Rates>, doc: &mut Invoice) -> Result<(), InvoicerError> {
    rates.map_or(Ok(()), |r| r.record(doc))
}
