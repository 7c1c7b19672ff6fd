//! The embedded store's schema, versioned with SQLite's `user_version` and applied in
//! one immediate transaction, so two processes opening the file at once apply each
//! migration once.

use rusqlite::{Connection, TransactionBehavior};

use super::blocks::Appended;

/// Migrations in order; `user_version` is the number applied. Each is SQL, then, for
/// some, a step in Rust in the same transaction.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "usage, rejected events, customers, subscriptions, invoices",
        r#"
    CREATE TABLE usage_events (
        source TEXT NOT NULL,
        id TEXT NOT NULL,
        customer TEXT NOT NULL,
        event_type TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        numbers TEXT NOT NULL,
        strings TEXT NOT NULL,
        data TEXT NOT NULL,
        ingested_at_ms INTEGER NOT NULL,
        kafka_topic TEXT,
        kafka_partition INTEGER,
        kafka_offset INTEGER,
        PRIMARY KEY (source, id)
    ) WITHOUT ROWID;
    CREATE INDEX usage_events_billing ON usage_events (event_type, customer, time_ms);

    CREATE TABLE rejected_events (
        received_at_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        source TEXT,
        id TEXT,
        raw BLOB NOT NULL,
        kafka_topic TEXT,
        kafka_partition INTEGER,
        kafka_offset INTEGER
    );
    CREATE INDEX rejected_events_time ON rejected_events (received_at_ms);

    CREATE TABLE customers (
        customer TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        currency TEXT NOT NULL,
        timezone TEXT NOT NULL,
        billing_details TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );

    CREATE TABLE subscriptions (
        subscription TEXT PRIMARY KEY,
        customer TEXT NOT NULL,
        plan TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        anchor_day INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE INDEX subscriptions_customer ON subscriptions (customer);

    CREATE TABLE invoices (
        invoice TEXT PRIMARY KEY,
        number TEXT,
        customer TEXT NOT NULL,
        subscription TEXT NOT NULL,
        period_start_ms INTEGER NOT NULL,
        period_end_ms INTEGER NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        subtotal TEXT NOT NULL,
        total TEXT NOT NULL,
        issued_at_ms INTEGER,
        body TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE INDEX invoices_customer ON invoices (customer, period_start_ms);

    CREATE TABLE invoice_lines (
        invoice TEXT NOT NULL,
        position INTEGER NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        dimensions TEXT NOT NULL,
        quantity TEXT,
        billable_quantity TEXT,
        amount TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (invoice, position)
    );
    "#,
    ),
    (
        "subscriptions with an anchor date and plan phases",
        r#"
    DROP TABLE subscriptions;
    CREATE TABLE subscriptions (
        subscription TEXT PRIMARY KEY,
        customer TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        anchor TEXT NOT NULL,
        phases TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE INDEX subscriptions_customer ON subscriptions (customer);
    CREATE INDEX invoices_subscription ON invoices (subscription, period_start_ms);
    CREATE INDEX invoices_number ON invoices (number);
    "#,
    ),
    (
        "usage by time, for the invoicer's one scan of all customers' periods",
        r#"
    CREATE INDEX usage_events_time ON usage_events (time_ms);
    "#,
    ),
    (
        "payments received against invoices",
        r#"
    CREATE TABLE payments (
        invoice TEXT NOT NULL,
        reference TEXT NOT NULL,
        amount TEXT NOT NULL,
        currency TEXT NOT NULL,
        received_on TEXT NOT NULL,
        recorded_at_ms INTEGER NOT NULL,
        PRIMARY KEY (invoice, reference)
    );
    "#,
    ),
    (
        "the receivables ledger: append-only entries",
        r#"
    CREATE TABLE ledger_entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id TEXT NOT NULL UNIQUE,
        customer TEXT NOT NULL,
        currency TEXT NOT NULL,
        effective TEXT NOT NULL,
        recorded_at_ms INTEGER NOT NULL,
        amount TEXT NOT NULL,
        kind TEXT NOT NULL,
        memo TEXT NOT NULL
    );
    CREATE INDEX ledger_entries_customer ON ledger_entries (customer, effective);
    -- Append-only: the database itself refuses to change or remove an entry.
    CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are never changed'); END;
    CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are never deleted'); END;
    "#,
    ),
    (
        "leases: acts one process runs at a time (an invoice close)",
        r#"
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        since_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    );
    "#,
    ),
    (
        "exchange rates: one per day and pair",
        r#"
    CREATE TABLE exchange_rates (
        day TEXT NOT NULL,
        base TEXT NOT NULL,
        quote TEXT NOT NULL,
        rate TEXT NOT NULL,
        PRIMARY KEY (day, base, quote)
    ) WITHOUT ROWID;
    "#,
    ),
    (
        "invoices keep their total in the reporting currency, and are found by issue time",
        // Filled for documents already issued with an exchange by `backfill_reported`.
        r#"
    ALTER TABLE invoices ADD COLUMN reporting_currency TEXT;
    ALTER TABLE invoices ADD COLUMN reporting_total TEXT;
    CREATE INDEX invoices_issued ON invoices (issued_at_ms);
    "#,
    ),
    (
        "usage appended in arrival order, deduplicated by a compact key (event_key.rs), found by block ranges (blocks.rs)",
        // The rows are copied by `copy_usage` through the same writer as ingest; the old
        // table and its two indexes on time go after. (The first form of this migration
        // also kept the raw `data`: migration 10 drops it from the files it made.)
        r#"
    ALTER TABLE usage_events RENAME TO usage_events_v1;
    CREATE TABLE usage_events (
        row INTEGER PRIMARY KEY,
        key INTEGER NOT NULL,
        source TEXT NOT NULL,
        id TEXT NOT NULL,
        customer TEXT NOT NULL,
        event_type TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        numbers TEXT NOT NULL,
        strings TEXT NOT NULL,
        ingested_at_ms INTEGER NOT NULL,
        kafka_topic TEXT,
        kafka_partition INTEGER,
        kafka_offset INTEGER
    );
    CREATE INDEX usage_events_customer ON usage_events (customer);
    CREATE TABLE usage_keys (key INTEGER PRIMARY KEY, row INTEGER NOT NULL);
    CREATE TABLE usage_keys_recent (key INTEGER PRIMARY KEY, row INTEGER NOT NULL);
    CREATE TABLE usage_keys_pending (rows INTEGER NOT NULL);
    INSERT INTO usage_keys_pending (rows) VALUES (0);
    CREATE TABLE usage_blocks (
        first_row INTEGER NOT NULL,
        last_row INTEGER NOT NULL,
        min_time_ms INTEGER NOT NULL,
        max_time_ms INTEGER NOT NULL
    );
    "#,
    ),
    (
        "usage events without the raw data beside its flattened copy",
        // Nothing read `data`: the numbers and strings hold every scalar of it. Only a file
        // made by the first form of migration 9 has the column (`drop_raw_data`).
        "",
    ),
    (
        "the recent keys held by the writer in memory, read from the rows (event_key.rs)",
        // Every row's slot was in one of the two key tables: all of them are merged now,
        // and the rows after `up_to_row` (none yet) are the recent ones.
        r#"
    INSERT INTO usage_keys (key, row) SELECT key, row FROM usage_keys_recent ORDER BY key;
    DROP TABLE usage_keys_recent;
    DROP TABLE usage_keys_pending;
    CREATE TABLE usage_keys_merged (up_to_row INTEGER NOT NULL);
    INSERT INTO usage_keys_merged (up_to_row) SELECT coalesce(max(row), 0) FROM usage_events;
    "#,
    ),
];

/// The migration whose rows `copy_usage` moves into the appended table.
const APPENDED_USAGE: usize = 9;

/// What follows [`APPENDED_USAGE`]'s copy.
const APPENDED_USAGE_AFTER: &str = "DROP TABLE usage_events_v1;";

/// The migration after which documents issued before it get their reported totals.
const REPORTED_TOTALS: usize = 8;

/// The migration that drops `usage_events.data` where it is.
const DROPPED_RAW_DATA: usize = 10;

/// Applies the migrations not yet applied; returns how many there are in all.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    migrate_to(conn, usize::MAX)
}

/// [`migrate`], stopping after migration `last` (numbered from 1): a file as an earlier
/// release left it, for the tests of the migrations that follow.
#[doc(hidden)]
pub fn migrate_to(conn: &mut Connection, last: usize) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (version, (_, sql)) in MIGRATIONS.iter().enumerate().skip(applied).take(last.saturating_sub(applied)) {
        tx.execute_batch(sql)?;
        if version + 1 == REPORTED_TOTALS {
            backfill_reported(&tx)?;
        }
        if version + 1 == APPENDED_USAGE {
            copy_usage(&tx)?;
            tx.execute_batch(APPENDED_USAGE_AFTER)?;
        }
        if version + 1 == DROPPED_RAW_DATA {
            drop_raw_data(&tx)?;
        }
        tx.pragma_update(None, "user_version", (version + 1) as i64)?;
    }
    tx.commit()?;
    Ok(MIGRATIONS.len())
}

/// Drops `usage_events.data` if the file has it (SQLite rewrites the table once).
fn drop_raw_data(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let has: bool =
        tx.query_row("SELECT count(*) > 0 FROM pragma_table_info('usage_events') WHERE name = 'data'", [], |r| {
            r.get(0)
        })?;
    if has {
        tx.execute_batch("ALTER TABLE usage_events DROP COLUMN data")?;
    }
    Ok(())
}

/// Moves every stored event into the appended table, in time order, each given its
/// key by the writer ingest uses (a collision of keys is resolved as at ingest; the old
/// table's key was `(source, id)`, so there are no duplicates). The slots taken are
/// held in memory for the copy (16 bytes and a map entry per event, once) and merged at
/// its end.
fn copy_usage(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut read = tx.prepare(
        "SELECT source, id, customer, event_type, time_ms, numbers, strings, ingested_at_ms, \
         kafka_topic, kafka_partition, kafka_offset FROM usage_events_v1 ORDER BY time_ms, source, id",
    )?;
    let none = super::event_key::RecentKeys::default();
    let mut writer = super::events::Writer::new(tx, &none, 0, Default::default())?;
    let mut rows = read.query([])?;
    let mut appended: Option<Appended> = None;
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> rusqlite::Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
        let topic: Option<&str> = r.get_ref(8)?.as_str_or_null()?;
        let partition: Option<i32> = r.get(9)?;
        let offset: Option<i64> = r.get(10)?;
        let row = super::events::NewRow {
            source: text(0)?,
            id: text(1)?,
            customer: text(2)?,
            event_type: text(3)?,
            time_ms: r.get(4)?,
            numbers: text(5)?,
            strings: text(6)?,
            ingested_at_ms: r.get(7)?,
            kafka: match (topic, partition, offset) {
                (Some(t), Some(p), Some(o)) => Some((t, p, o)),
                _ => None,
            },
        };
        if let Some(n) = writer.put_from(&row, super::event_key::of(row.source, row.id))? {
            let grown = Appended::extend(&mut appended, n, row.time_ms);
            if grown.rows() == COPY_BLOCK_ROWS {
                appended = None;
                super::blocks::record(tx, grown)?;
            }
        }
    }
    if let Some(a) = appended {
        super::blocks::record(tx, a)?;
    }
    tx.execute_batch("INSERT INTO usage_keys (key, row) SELECT key, row FROM usage_events ORDER BY key")
}

/// Rows of a block of copied events (the copy is in time order, so blocks are narrow).
const COPY_BLOCK_ROWS: i64 = 16_384;

/// Converts the documents that recorded an exchange before the store kept their
/// reported total (in the migration's transaction: all or none).
fn backfill_reported(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let corrupt = |column: usize, e: crate::StoreError| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.to_string().into())
    };
    let rows: Vec<(String, String, String)> = tx
        .prepare("SELECT invoice, total, body FROM invoices WHERE body LIKE '%\"exchange\":{%'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (invoice, total, body) in rows {
        let total: rust_decimal::Decimal = total.parse().map_err(|e| {
            let e = crate::StoreError::Corrupt {
                context: format!("invoice {invoice} total"),
                message: format!("{total:?}: {e}"),
            };
            corrupt(1, e)
        })?;
        let Some(reported) = crate::invoices::reported_of_body(&invoice, &body, total).map_err(|e| corrupt(2, e))?
        else {
            continue;
        };
        tx.execute(
            "UPDATE invoices SET reporting_currency = ?1, reporting_total = ?2 WHERE invoice = ?3",
            rusqlite::params![reported.currency, reported.total.to_string(), invoice],
        )?;
    }
    Ok(())
}
