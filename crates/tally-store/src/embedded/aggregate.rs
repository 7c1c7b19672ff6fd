//! The aggregation query for the embedded store: one SQL statement per item.

use std::str::FromStr;

use rusqlite::types::Value;
use rusqlite::Connection;
use rust_decimal::Decimal;
use tally_domain::{Aggregation, CustomerId};

use crate::{StoreError, UsageAggregate, UsageItem, UsageQuery};

/// A JSON path for `json_extract` that reads a key containing dots as one key.
fn json_path(key: &str) -> String {
    format!("$.\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
}

fn sql_for(item: &UsageItem, query: &UsageQuery, params: &mut Vec<Value>) -> String {
    let mut bind = |v: Value| {
        params.push(v);
        format!("?{}", params.len())
    };
    let value_path = item.meter.value.as_deref().map(json_path).unwrap_or_default();
    let quantity = match item.meter.aggregation {
        Aggregation::Count => "COUNT(*)".to_string(),
        Aggregation::Sum => format!("dec_sum(json_extract(numbers, {}))", bind(Value::Text(value_path))),
        Aggregation::Max => format!("dec_max(json_extract(numbers, {}))", bind(Value::Text(value_path))),
        Aggregation::Min => format!("dec_min(json_extract(numbers, {}))", bind(Value::Text(value_path))),
        Aggregation::Latest => {
            format!("dec_latest(time_ms, source, id, json_extract(numbers, {}))", bind(Value::Text(value_path)))
        }
        Aggregation::UniqueCount => {
            // NULL, not 0, when no event has the value: such a group gives no row, as in ClickHouse.
            let path = bind(Value::Text(value_path));
            format!("NULLIF(COUNT(DISTINCT json_extract(strings, {path})), 0)")
        }
    };
    let groups: Vec<String> = item
        .group_by
        .iter()
        .map(|g| format!("COALESCE(json_extract(strings, {}), '')", bind(Value::Text(json_path(g)))))
        .collect();
    let mut wheres = vec![
        format!("event_type = {}", bind(Value::Text(item.meter.event_type.clone()))),
        format!("time_ms >= {}", bind(Value::Integer(query.period.start().timestamp_millis()))),
        format!("time_ms < {}", bind(Value::Integer(query.period.end().timestamp_millis()))),
    ];
    if let Some(customer) = &query.customer {
        wheres.push(format!("customer = {}", bind(Value::Text(customer.to_string()))));
    }
    for (k, v) in &item.filter {
        let path = bind(Value::Text(json_path(k)));
        wheres.push(format!("json_extract(strings, {path}) = {}", bind(Value::Text(v.clone()))));
    }
    let group_cols: String = groups.iter().enumerate().map(|(i, g)| format!(", {g} AS g{i}")).collect();
    let group_by: String = (0..groups.len()).map(|i| format!(", g{i}")).collect();
    format!(
        "SELECT customer, {quantity} AS q{group_cols} FROM usage_events WHERE {} GROUP BY customer{group_by}",
        wheres.join(" AND ")
    )
}

fn to_decimal(value: Value, context: &str) -> Result<Option<Decimal>, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt { context: context.to_owned(), message };
    match value {
        Value::Null => Ok(None),
        Value::Integer(i) => Ok(Some(Decimal::from(i))),
        Value::Text(t) => {
            Decimal::from_str(&t).map(|d| Some(d.normalize())).map_err(|e| corrupt(format!("{t:?}: {e}")))
        }
        other => Err(corrupt(format!("unexpected value {other:?}"))),
    }
}

/// Runs every item of the query; rows come back sorted.
pub(crate) fn run(conn: &Connection, query: &UsageQuery) -> Result<Vec<UsageAggregate>, StoreError> {
    let mut out = Vec::new();
    for (index, item) in query.items.iter().enumerate() {
        let mut params = Vec::new();
        let sql = sql_for(item, query, &mut params);
        let context = format!("aggregating meter {}", item.meter.key);
        let mut stmt = conn.prepare_cached(&sql).map_err(StoreError::sqlite(&context))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(StoreError::sqlite(&context))?;
        while let Some(row) = rows.next().map_err(StoreError::sqlite(&context))? {
            let customer: String = row.get(0).map_err(StoreError::sqlite(&context))?;
            let Some(quantity) = to_decimal(row.get(1).map_err(StoreError::sqlite(&context))?, &context)? else {
                continue;
            };
            let groups = (0..item.group_by.len())
                .map(|i| row.get::<_, String>(2 + i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::sqlite(&context))?;
            out.push(UsageAggregate {
                customer: CustomerId::new(customer),
                item: index,
                dimensions: item.dimensions(groups),
                quantity,
            });
        }
    }
    Ok(crate::query::sort_aggregates(out))
}
