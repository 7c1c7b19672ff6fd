//! Exact decimal aggregates for SQLite: `dec_sum`, `dec_min`, `dec_max` over decimal
//! text, and `dec_latest(time_ms, source, id, value)`, the value of the latest event
//! (ties broken by source, then id, the same order the ClickHouse store uses).

use std::str::FromStr;

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::Connection;
use rust_decimal::Decimal;

fn decimal_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<Decimal>> {
    let text: Option<String> = ctx.get(i)?;
    text.map(|t| Decimal::from_str(&t).map_err(|e| rusqlite::Error::UserFunctionError(format!("{t:?}: {e}").into())))
        .transpose()
}

/// Folds decimal text with `op`, ignoring NULLs; NULL when every input was NULL.
struct Fold(fn(Decimal, Decimal) -> Option<Decimal>);

impl Aggregate<Option<Decimal>, Option<String>> for Fold {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Option<Decimal>> {
        Ok(None)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Option<Decimal>) -> rusqlite::Result<()> {
        if let Some(value) = decimal_arg(ctx, 0)? {
            *acc = Some(match *acc {
                None => value,
                Some(so_far) => (self.0)(so_far, value)
                    .ok_or_else(|| rusqlite::Error::UserFunctionError("decimal overflow".into()))?,
            });
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Option<Decimal>>) -> rusqlite::Result<Option<String>> {
        Ok(acc.flatten().map(|d| d.to_string()))
    }
}

type Latest = Option<(i64, String, String, Decimal)>;

struct LatestValue;

impl Aggregate<Latest, Option<String>> for LatestValue {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Latest> {
        Ok(None)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Latest) -> rusqlite::Result<()> {
        let Some(value) = decimal_arg(ctx, 3)? else {
            return Ok(());
        };
        let key: (i64, String, String) = (ctx.get(0)?, ctx.get(1)?, ctx.get(2)?);
        let newer = acc.as_ref().is_none_or(|(t, s, i, _)| (key.0, &key.1, &key.2) > (*t, s, i));
        if newer {
            *acc = Some((key.0, key.1, key.2, value));
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Latest>) -> rusqlite::Result<Option<String>> {
        Ok(acc.flatten().map(|(_, _, _, d)| d.to_string()))
    }
}

/// Registers the functions on a connection.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_aggregate_function("dec_sum", 1, flags, Fold(|a, b| a.checked_add(b)))?;
    conn.create_aggregate_function("dec_min", 1, flags, Fold(|a, b| Some(a.min(b))))?;
    conn.create_aggregate_function("dec_max", 1, flags, Fold(|a, b| Some(a.max(b))))?;
    conn.create_aggregate_function("dec_latest", 4, flags, LatestValue)?;
    Ok(())
}
