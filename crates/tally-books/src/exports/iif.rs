//! QuickBooks Desktop: the Intuit Interchange Format (File > Utilities > Import > IIF).
//!
//! Intuit's in-product IIF reference for transactions
//! (<http://support.quickbooks.intuit.com/support/Pages/InProductHelp/Core/QB2K8/ContentPackage/Core/IIF/iif_reference_transactions.html>:
//! TRNSTYPE, ACCNT and AMOUNT required; the keywords INVOICE, CREDIT MEMO, PAYMENT):
//! tab-separated text, three header rows `!TRNS`, `!SPL`, `!ENDTRNS` naming the
//! columns, then one block per transaction: a `TRNS` row, its `SPL` rows, `ENDTRNS`.
//! Every row needs TRNSTYPE, DATE (MM/DD/YYYY), ACCNT and AMOUNT, and the amounts of a
//! block sum to zero. An `INVOICE` posts its total to Accounts Receivable (positive)
//! and each line to its income account (negative, with negative QNTY), its tax to the
//! tax account; a `CREDIT MEMO` posts the same with the signs turned; a `PAYMENT`
//! posts the money to the deposit account (positive) and takes it off Accounts
//! Receivable. IIF has no quoting and no currency column: tabs and line breaks in
//! text become spaces, and a file holds one currency (`--currency` picks it).

use rust_decimal::Decimal;
use tally_ledger::EntryKind;

use super::{date, income_account, plain, Doc, Docs, Export, ExportFile, ExportOptions};
use crate::{BooksError, Source};

pub(super) fn write(docs: &Docs<'_>, source: &Source<'_>, options: &ExportOptions) -> Result<Export, BooksError> {
    let currencies: std::collections::BTreeSet<&str> = docs.all.iter().map(|d| d.invoice.currency.code()).collect();
    if currencies.len() > 1 {
        return Err(BooksError::Unsupported(format!(
            "an IIF file carries no currency and these documents are in {}: export one currency at a time (--currency)",
            currencies.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut out = String::new();
    out.push_str("!TRNS\tTRNSID\tTRNSTYPE\tDATE\tACCNT\tNAME\tAMOUNT\tDOCNUM\tMEMO\tDUEDATE\tTERMS\n");
    out.push_str("!SPL\tSPLID\tTRNSTYPE\tDATE\tACCNT\tNAME\tAMOUNT\tDOCNUM\tMEMO\tQNTY\tPRICE\tINVITEM\tSERVICEDATE\n");
    out.push_str("!ENDTRNS\n");
    let mut export = Export::default();
    for doc in &docs.all {
        block(&mut out, doc, options)?;
        if doc.is_credit_note() {
            export.credit_notes += 1;
        } else {
            export.invoices += 1;
        }
    }
    let mut skipped = Vec::new();
    let currency = docs.all.first().map(|d| d.invoice.currency).or(options.currency);
    for entry in &source.entries {
        if !source.range.contains(entry.effective) || currency.is_some_and(|c| c != entry.currency) {
            continue;
        }
        match &entry.kind {
            EntryKind::Payment { reference } => {
                let name =
                    source.customers.get(&entry.customer).map_or_else(|| entry.customer.to_string(), |a| a.name());
                let (day, amount) = (date(entry.effective, "mdy"), entry.currency.show(entry.amount));
                let negative = entry.currency.show(-entry.amount);
                let (reference, name) = (clean(reference), clean(&name));
                let deposit = clean(&options.deposit_account);
                let receivable = clean(&options.receivable_account);
                out.push_str(&format!("TRNS\t\tPAYMENT\t{day}\t{deposit}\t{name}\t{amount}\t{reference}\t\t\t\n"));
                out.push_str(&format!(
                    "SPL\t\tPAYMENT\t{day}\t{receivable}\t{name}\t{negative}\t{reference}\t\t\t\t\t\n"
                ));
                out.push_str("ENDTRNS\n");
                export.payments += 1;
            }
            EntryKind::PaymentReversal { reference, .. } | EntryKind::Refund { reference, .. } => {
                skipped.push(format!("{} {reference} ({})", entry.kind_name(), entry.effective));
            }
            _ => {}
        }
    }
    if !skipped.is_empty() {
        export.notes.push(format!(
            "payment reversals and refunds are not in the IIF file; enter them in QuickBooks: {}",
            skipped.join(", ")
        ));
    }
    export.files.push(ExportFile { name: "quickbooks-desktop.iif".into(), media_type: "text/plain", content: out });
    Ok(export)
}

/// One invoice or credit memo block.
fn block(out: &mut String, doc: &Doc<'_>, options: &ExportOptions) -> Result<(), BooksError> {
    let kind = if doc.is_credit_note() { "CREDIT MEMO" } else { "INVOICE" };
    let day = date(doc.issued, "mdy");
    let name = clean(&doc.customer);
    let memo = clean(doc.invoice.memo.as_deref().or(doc.invoice.reason.as_deref()).unwrap_or(""));
    let total = doc.invoice.total;
    let (due, terms) =
        if doc.is_credit_note() { (String::new(), String::new()) } else { (date(doc.due, "mdy"), doc.terms()) };
    out.push_str(&format!(
        "TRNS\t\t{kind}\t{day}\t{}\t{name}\t{}\t{}\t{memo}\t{due}\t{terms}\n",
        clean(&options.receivable_account),
        doc.money(total),
        clean(&doc.number)
    ));
    let mut posted = Decimal::ZERO;
    for line in &doc.lines {
        let account = income_account(doc, line)?;
        // An invoice's lines are credits to income (negative); a credit memo's debits.
        let (amount, quantity) = (-line.net, -line.quantity);
        posted += amount;
        out.push_str(&format!(
            "SPL\t\t{kind}\t{day}\t{}\t{name}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            clean(&account),
            doc.money(amount),
            clean(&doc.number),
            clean(&line.description),
            plain(quantity),
            plain(line.unit_price),
            clean(&line.item),
            date(line.service_date, "mdy"),
        ));
    }
    // The tax (and any rounding of tax-inclusive lines' nets) so the block sums to zero.
    let tax = -total - posted;
    if !tax.is_zero() {
        out.push_str(&format!(
            "SPL\t\t{kind}\t{day}\t{}\t{name}\t{}\t{}\tTax\t\t\t\t\n",
            clean(&options.tax_account),
            doc.money(tax),
            clean(&doc.number)
        ));
    }
    out.push_str("ENDTRNS\n");
    Ok(())
}

/// Text with no tab or line break (IIF has no quoting).
fn clean(text: &str) -> String {
    text.chars().map(|c| if c == '\t' || c == '\n' || c == '\r' { ' ' } else { c }).collect()
}
