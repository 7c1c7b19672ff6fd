//! The document of a stored invoice: its customer, the documents linked to it and what
//! the ledger says is paid, gathered for [`tally_invoicing::document::sheet`], so the
//! CLI, the HTTP API and the demo show the same thing.

use tally_invoicing::document::{sheet, Issuer, Sheet, Standing};
use tally_invoicing::Invoice;
use tally_store::{AccountStore, InvoiceStore, LedgerStore};

use crate::error::InvoicerError;

/// The sheet of `invoice`, from `issuer`.
pub async fn sheet_of<S>(store: &S, invoice: &Invoice, issuer: &Issuer) -> Result<Sheet, InvoicerError>
where
    S: InvoiceStore + AccountStore + LedgerStore,
{
    let customer = store.customer(&invoice.customer).await?.ok_or_else(|| InvoicerError::Corrupt {
        id: invoice.id.clone(),
        message: format!("its customer {} is not in the store", invoice.customer),
    })?;
    let trail = crate::close::paper_trail(store, invoice).await?;
    let entries = store.entries(Some(&invoice.customer)).await?;
    let book = tally_ledger::Book::all(&entries);
    let standing = book.invoice(&invoice.id).map(|d| Standing { amount: d.amount, owed: d.owed });
    sheet(invoice, &customer, issuer, &trail, standing).map_err(|e| InvoicerError::Corrupt {
        id: invoice.id.clone(),
        message: format!("its customer {}: {e}", invoice.customer),
    })
}
