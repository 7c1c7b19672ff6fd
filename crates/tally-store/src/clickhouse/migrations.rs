//! Versioned, idempotent schema migrations, recorded in `schema_migrations`.
//!
//! Every statement is idempotent (`IF NOT EXISTS`; a column added is looked for in
//! `system.columns` first, as 18.16 has no `ADD COLUMN IF NOT EXISTS`), and the record table is a
//! `ReplacingMergeTree` keyed by version, so two processes migrating at once both
//! succeed and leave one schema and one record per version.

use clickhouse::Client;

use crate::StoreError;

/// (version, name, statements). Append only: never edit an applied migration.
const MIGRATIONS: &[(u32, &str, &[&str])] = &[
    (
        1,
        "usage events, rejected events, customers, subscriptions, invoices",
        &[
            "CREATE TABLE IF NOT EXISTS usage_events (
            customer String,
            event_type String,
            source String,
            id String,
            time DateTime('UTC'),
            time_ms Int64,
            num_keys Array(String),
            num_values Array(Decimal(38, 12)),
            str_keys Array(String),
            str_values Array(String),
            data String,
            ingested_at DateTime('UTC'),
            kafka_topic String,
            kafka_partition Int32,
            kafka_offset Int64
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(time)
        ORDER BY (customer, event_type, source, id)",
            "CREATE TABLE IF NOT EXISTS rejected_events (
            received_at DateTime('UTC'),
            reason String,
            detail String,
            source String,
            id String,
            raw String,
            kafka_topic String,
            kafka_partition Int32,
            kafka_offset Int64
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(received_at)
        ORDER BY (received_at, reason)",
            "CREATE TABLE IF NOT EXISTS customers (
            customer String,
            name String,
            currency String,
            timezone String,
            billing_details String,
            updated_at_ms Int64
        ) ENGINE = ReplacingMergeTree(updated_at_ms)
        ORDER BY customer",
            "CREATE TABLE IF NOT EXISTS subscriptions (
            subscription String,
            customer String,
            plan String,
            start_ms Int64,
            end_ms Nullable(Int64),
            anchor_day UInt8,
            updated_at_ms Int64
        ) ENGINE = ReplacingMergeTree(updated_at_ms)
        ORDER BY subscription",
            "CREATE TABLE IF NOT EXISTS invoices (
            invoice String,
            number String,
            customer String,
            subscription String,
            period_start DateTime('UTC'),
            period_end DateTime('UTC'),
            currency String,
            state String,
            subtotal Decimal(38, 12),
            total Decimal(38, 12),
            issued_at_ms Int64,
            body String,
            updated_at_ms Int64
        ) ENGINE = ReplacingMergeTree(updated_at_ms)
        PARTITION BY toYYYYMM(period_start)
        ORDER BY (customer, invoice)",
            "CREATE TABLE IF NOT EXISTS invoice_lines (
            invoice String,
            position UInt32,
            key String,
            kind String,
            dim_keys Array(String),
            dim_values Array(String),
            quantity Decimal(38, 12),
            billable_quantity Decimal(38, 12),
            amount Decimal(38, 12),
            detail String
        ) ENGINE = ReplacingMergeTree
        ORDER BY (invoice, position)",
        ],
    ),
    (
        2,
        "subscriptions with an anchor date and plan phases; versioned invoices and lines",
        &[
            // Version 1's subscriptions table was never written by any release.
            "DROP TABLE IF EXISTS subscriptions",
            "CREATE TABLE IF NOT EXISTS subscriptions (
            subscription String,
            customer String,
            start_ms Int64,
            end_ms Nullable(Int64),
            anchor String,
            phases String,
            updated_at_ms Int64
        ) ENGINE = ReplacingMergeTree(updated_at_ms)
        ORDER BY subscription",
            // Nor its invoices: the version decides which write of an invoice stands
            // (see clickhouse/invoices.rs), so two invoicers never change an issued one.
            "DROP TABLE IF EXISTS invoices",
            "CREATE TABLE IF NOT EXISTS invoices (
            invoice String,
            number String,
            customer String,
            subscription String,
            period_start DateTime('UTC'),
            period_end DateTime('UTC'),
            currency String,
            state String,
            total Decimal(38, 12),
            issued_at_ms Int64,
            body String,
            written_at_ms Int64,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMM(period_start)
        ORDER BY (customer, invoice)",
            // Nor its invoice_lines: lines now carry their invoice's version, so a
            // refreshed draft's old lines are told apart without a mutation.
            "DROP TABLE IF EXISTS invoice_lines",
            "CREATE TABLE IF NOT EXISTS invoice_lines (
            invoice String,
            version UInt64,
            position UInt32,
            key String,
            kind String,
            dim_keys Array(String),
            dim_values Array(String),
            quantity Decimal(38, 12),
            billable_quantity Decimal(38, 12),
            amount Decimal(38, 12),
            detail String
        ) ENGINE = ReplacingMergeTree
        ORDER BY (invoice, version, position)",
        ],
    ),
    (
        3,
        "payments received against invoices",
        &["CREATE TABLE IF NOT EXISTS payments (
            invoice String,
            reference String,
            amount Decimal(38, 12),
            currency String,
            received_on Date,
            recorded_at_ms Int64
        ) ENGINE = ReplacingMergeTree(recorded_at_ms)
        ORDER BY (invoice, reference)"],
    ),
    (
        4,
        "the receivables ledger: append-only entries",
        &["CREATE TABLE IF NOT EXISTS ledger_entries (
            entry_id String,
            customer String,
            currency String,
            effective String,
            recorded_at_ms Int64,
            amount Decimal(38, 12),
            kind String,
            memo String
        ) ENGINE = ReplacingMergeTree
        ORDER BY (customer, entry_id)"],
    ),
    (
        5,
        "ledger entries carry their effects, so totals are added up in SQL",
        // Each entry's kind, an invoice's number and due day, and the entry's effect on
        // the invoice it concerns (`owes`), on the source of credit it concerns
        // (`gives`) and on the balance, as `tally_ledger::Entry` defines them; new
        // entries are written with them. The defaults derive them for
        // entries written before, from the kind's JSON (field names are the entry
        // kinds' own; `visitParamExtractString` runs on 18.16 and on current servers).
        &[
            "ALTER TABLE ledger_entries ADD COLUMN kind_name String DEFAULT visitParamExtractString(kind, 'kind')",
            "ALTER TABLE ledger_entries ADD COLUMN number String DEFAULT \
             if(visitParamExtractString(kind, 'kind') = 'invoice', visitParamExtractString(kind, 'number'), '')",
            "ALTER TABLE ledger_entries ADD COLUMN due String DEFAULT \
             if(visitParamExtractString(kind, 'kind') = 'invoice', visitParamExtractString(kind, 'due'), '')",
            "ALTER TABLE ledger_entries ADD COLUMN document String DEFAULT \
             if(visitParamExtractString(kind, 'kind') IN ('invoice', 'allocation', 'deallocation', 'write_off'), \
                visitParamExtractString(kind, 'document'), '')",
            "ALTER TABLE ledger_entries ADD COLUMN source String DEFAULT multiIf( \
             visitParamExtractString(kind, 'kind') IN ('payment', 'payment_reversal'), \
                concat('payment:', visitParamExtractString(kind, 'reference')), \
             visitParamExtractString(kind, 'kind') = 'credit_note', \
                concat('credit_note:', visitParamExtractString(kind, 'document')), \
             visitParamExtractString(kind, 'kind') IN ('allocation', 'deallocation', 'refund'), \
                concat(visitParamExtractString(kind, 'type'), ':', visitParamExtractString(kind, 'id')), \
             '')",
            "ALTER TABLE ledger_entries ADD COLUMN owes Decimal(38, 12) DEFAULT multiIf( \
             visitParamExtractString(kind, 'kind') IN ('invoice', 'deallocation'), amount, \
             visitParamExtractString(kind, 'kind') IN ('allocation', 'write_off'), -amount, \
             toDecimal128(0, 12))",
            "ALTER TABLE ledger_entries ADD COLUMN gives Decimal(38, 12) DEFAULT multiIf( \
             visitParamExtractString(kind, 'kind') IN ('payment', 'credit_note', 'deallocation'), amount, \
             visitParamExtractString(kind, 'kind') IN ('allocation', 'payment_reversal', 'refund'), -amount, \
             toDecimal128(0, 12))",
            "ALTER TABLE ledger_entries ADD COLUMN balance Decimal(38, 12) DEFAULT multiIf( \
             visitParamExtractString(kind, 'kind') IN ('invoice', 'payment_reversal', 'refund'), amount, \
             visitParamExtractString(kind, 'kind') IN ('credit_note', 'payment', 'write_off'), -amount, \
             toDecimal128(0, 12))",
        ],
    ),
    (
        6,
        "leases: acts one process runs at a time (an invoice close)",
        &["CREATE TABLE IF NOT EXISTS leases (
            name String,
            holder String,
            since_ms Int64,
            expires_ms Int64,
            released UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY (name, holder)"],
    ),
    (
        7,
        "exchange rates: one per day and pair, the latest load kept",
        &["CREATE TABLE IF NOT EXISTS exchange_rates (
            day String,
            base String,
            quote String,
            rate String,
            loaded_at_ms Int64
        ) ENGINE = ReplacingMergeTree(loaded_at_ms)
        ORDER BY (base, quote, day)"],
    ),
    (
        8,
        "invoices keep their total in the reporting currency",
        // Written by the invoicer's conversion; documents issued before get theirs from
        // the rate their body recorded, by `invoices::backfill_reported` (not a DEFAULT:
        // 18.16 does not round a product of decimals).
        &[
            "ALTER TABLE invoices ADD COLUMN reporting_currency String DEFAULT ''",
            "ALTER TABLE invoices ADD COLUMN reporting_total Decimal(38, 12) DEFAULT toDecimal128(0, 12)",
        ],
    ),
    (
        9,
        "usage events without the raw data beside its flattened copy",
        // Nothing read `data`: billing, explain and samples read the flattened numbers
        // and strings, which hold every scalar of it. Writers that still send the column
        // are refused until they are upgraded (deploy the workers first, then migrate).
        &["ALTER TABLE usage_events DROP COLUMN data"],
    ),
];

/// The migration after which documents issued before it get their reported totals.
const REPORTED_TOTALS: u32 = 8;

/// Creates the database if needed and applies the migrations not yet recorded.
/// Returns the client with the database as its default.
pub async fn migrate(client: &Client, database: &str) -> Result<Client, StoreError> {
    migrate_to(client, database, u32::MAX).await
}

/// [`migrate`], stopping after migration `last`: a database as an earlier release
/// left it, for the tests of the migrations that follow.
#[doc(hidden)]
pub async fn migrate_to(client: &Client, database: &str, last: u32) -> Result<Client, StoreError> {
    let db = super::sql::identifier(database);
    client
        .query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
        .execute()
        .await
        .map_err(StoreError::clickhouse(format!("creating database {database}")))?;
    let client = client.clone().with_database(database);
    client
        .query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime('UTC')) \
             ENGINE = ReplacingMergeTree ORDER BY version",
        )
        .execute()
        .await
        .map_err(StoreError::clickhouse("creating schema_migrations"))?;
    let applied: Vec<u32> = client
        .query("SELECT DISTINCT version FROM schema_migrations")
        .fetch_all()
        .await
        .map_err(StoreError::clickhouse("reading schema_migrations"))?;
    for (version, name, statements) in MIGRATIONS {
        if applied.contains(version) || *version > last {
            continue;
        }
        tracing::info!(version, name, "applying ClickHouse migration");
        for statement in *statements {
            let change = column_change(statement);
            if let Some((table, column, adds)) = change {
                if column_exists(&client, database, table, column).await? == adds {
                    continue; // done by a run that stopped before recording the migration
                }
            }
            let done = client.query(statement).execute().await;
            if let Err(err) = done {
                // Two processes migrating at once: the other one changed it first.
                let Some((table, column, adds)) = change else {
                    return Err(StoreError::clickhouse(format!("migration {version} ({name})"))(err));
                };
                if column_exists(&client, database, table, column).await? != adds {
                    return Err(StoreError::clickhouse(format!("migration {version} ({name})"))(err));
                }
            }
        }
        if *version == REPORTED_TOTALS {
            super::invoices::backfill_reported(&client).await?;
        }
        let now = chrono::Utc::now().timestamp();
        client
            .query(&format!(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({version}, {}, toDateTime({now}))",
                super::sql::string(name)
            ))
            .execute()
            .await
            .map_err(StoreError::clickhouse(format!("recording migration {version}")))?;
    }
    Ok(client)
}

/// The table and column of an `ALTER TABLE t ADD COLUMN c ...` (true) or `... DROP
/// COLUMN c` (false) statement (18.16 has no `IF NOT EXISTS` / `IF EXISTS` there: the
/// migration checks the column itself).
fn column_change(statement: &str) -> Option<(&str, &str, bool)> {
    let rest = statement.trim_start().strip_prefix("ALTER TABLE ")?;
    let (table, rest) = rest.split_once(' ')?;
    let rest = rest.trim_start();
    let (rest, adds) = match rest.strip_prefix("ADD COLUMN ") {
        Some(rest) => (rest, true),
        None => (rest.strip_prefix("DROP COLUMN ")?, false),
    };
    Some((table, rest.split_whitespace().next()?, adds))
}

async fn column_exists(client: &Client, database: &str, table: &str, column: &str) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT count() FROM system.columns WHERE database = {} AND table = {} AND name = {}",
        super::sql::string(database),
        super::sql::string(table),
        super::sql::string(column)
    );
    let found: u64 =
        client.query(&sql).fetch_one().await.map_err(StoreError::clickhouse(format!("looking for column {column}")))?;
    Ok(found > 0)
}
