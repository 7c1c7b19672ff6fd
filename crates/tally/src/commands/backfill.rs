//! `tally backfill FILE --from --to`: loads historical usage (migrating from another
//! billing system, a producer that was down) for a range of past time. Events are
//! checked as every event is, except for their age: only their time must lie in the
//! range. Periods not invoiced yet are billed by the next close; issued periods whose
//! usage changed are corrected through the ledger, never edited
//! (`tally_invoicer::backfill`).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use tally_domain::Period;
use tally_ingest::decode::Decoder;
use tally_store::{IncomingEvent, UsageStore};

use super::settings::{decode_rules, open_store_on, ConfigArgs};

/// Arguments of `tally backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// NDJSON, one CloudEvent per line.
    file: PathBuf,
    /// The range's first instant (RFC 3339): no event before it is loaded.
    #[arg(long)]
    from: DateTime<Utc>,
    /// The instant after the range (RFC 3339): no event at or after it is loaded.
    #[arg(long)]
    to: DateTime<Utc>,
    /// The settings (store, catalog, ingest rules, invoice numbering, payment terms).
    #[command(flatten)]
    config: ConfigArgs,
}

/// Events written per store batch.
const BATCH: usize = 20_000;

/// Runs `tally backfill`.
pub fn run(args: &BackfillArgs) -> anyhow::Result<ExitCode> {
    let range = Period::new(args.from, args.to).map_err(|e| anyhow::anyhow!("--from/--to: {e}"))?;
    let now = Utc::now();
    anyhow::ensure!(args.to <= now, "--to: {} is in the future; backfill loads the past", args.to);
    let settings = args.config.load()?;
    let catalog = super::load_catalog(&settings.catalog)?;
    // Every rule but the age: history is as old as it is.
    let rules = tally_ingest::decode::DecodeRules { late_window: None, ..decode_rules(&settings.ingest) };
    let decoder = Decoder::new(&catalog, rules);
    let runtime = super::settings::runtime()?;
    let store = open_store_on(&runtime, &settings)?;
    let file = std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let (mut batch, mut customers, mut rejected) = (Vec::with_capacity(BATCH), BTreeSet::new(), 0u64);
    let (mut read, mut stored) = (0u64, 0u64);
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let got = reader.read_until(b'\n', &mut line);
        if got.with_context(|| format!("reading {} line {n}", args.file.display()))? == 0 {
            break;
        }
        // Bytes, not text: a line that is not UTF-8 is refused alone (not_utf8), as
        // ingest refuses it, instead of ending the load half-way.
        let Some(message) = tally_ingest::ndjson::message(&line) else { continue };
        read += 1;
        let decoded = match decoder.decode(message, now) {
            Ok(decoded) => decoded,
            Err(rejection) => {
                rejected += 1;
                eprintln!("line {n}: not loaded, {}: {}", rejection.reason.code(), rejection.detail);
                continue;
            }
        };
        let at = decoded.event.time;
        if at < range.start() || at >= range.end() {
            rejected += 1;
            eprintln!("line {n}: not loaded, time {at} is outside --from/--to");
            continue;
        }
        customers.insert(decoded.event.customer.clone());
        batch.push(IncomingEvent { event: decoded.event, origin: None });
        if batch.len() == BATCH {
            stored += write(&runtime, &store, &mut batch)?;
        }
    }
    stored += write(&runtime, &store, &mut batch)?;
    println!("read {read} events: {stored} loaded, {rejected} not loaded");
    let invoicer = &settings.invoicer;
    let prefixes = (invoicer.number_prefix.as_str(), invoicer.credit_note_prefix.as_str());
    let terms = super::receivables::terms(&settings)?;
    let corrected = runtime
        .block_on(tally_invoicer::backfill::correct_issued(&store, &catalog, &customers, range, now, prefixes, terms))
        .context("correcting the issued invoices of the range")?;
    for done in &corrected.revised {
        let revision = done.revision.as_ref().map_or("", |(_, number)| number.as_str());
        println!("corrected {}: credit note {}, revised as {revision}", done.voided, done.credit_note.1);
    }
    println!(
        "{} issued invoices of the range corrected, {} unchanged; periods not invoiced yet are billed by the next close",
        corrected.revised.len(),
        corrected.unchanged
    );
    Ok(if rejected > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Writes the batch (the store keeps each event once); returns how many were given.
fn write(
    runtime: &tokio::runtime::Runtime,
    store: &tally_store::AnyStore,
    batch: &mut Vec<IncomingEvent>,
) -> anyhow::Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    runtime.block_on(store.insert_events(batch)).context("writing events")?;
    let n = batch.len() as u64;
    batch.clear();
    Ok(n)
}
