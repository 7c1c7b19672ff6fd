//! The billing query: every item of a usage query in one scan of `usage_events`.
//!
//! Each event is matched against every item's event type and filter at once
//! (`arrayFilter` over the item numbers), and `ARRAY JOIN` turns it into one row per
//! item it feeds, carrying that item's value, string value and group values. One
//! `GROUP BY customer, item, groups` then computes the aggregates the query's items
//! need; the rest are constants. Twelve items cost one scan instead of twelve.

use clickhouse::Row;
use serde::Deserialize;
use tally_domain::{Aggregation, CustomerId};

use super::rows::from_raw;
use super::sql::string;
use crate::{StoreError, UsageAggregate, UsageItem, UsageQuery};

/// One result row: the aggregates of one (customer, item, groups).
#[derive(Row, Deserialize)]
pub(crate) struct ScanRow {
    customer: String,
    item: u32,
    groups: Vec<String>,
    events: u64,
    with_value: u64,
    with_string: u64,
    sum: i128,
    max: i128,
    min: i128,
    latest: i128,
    unique: u64,
}

fn prop(keys: &str, values: &str, path: &str) -> String {
    format!("{values}[indexOf({keys}, {})]", string(path))
}

fn condition(item: &UsageItem) -> String {
    let mut parts = vec![format!("event_type = {}", string(&item.meter.event_type))];
    for (k, v) in &item.filter {
        parts.push(format!("{} = {}", prop("str_keys", "str_values", k), string(v)));
    }
    parts.join(" AND ")
}

fn groups(item: &UsageItem) -> String {
    if item.group_by.is_empty() {
        return "emptyArrayString()".into();
    }
    let exprs: Vec<String> = item.group_by.iter().map(|g| prop("str_keys", "str_values", g)).collect();
    format!("[{}]", exprs.join(", "))
}

/// `multiIf(i = 0, a0, i = 1, a1, ..., default)` over the items.
fn per_item(items: &[UsageItem], f: impl Fn(&UsageItem) -> String, default: &str) -> String {
    let mut branches: Vec<String> = items.iter().enumerate().map(|(i, item)| format!("i = {i}, {}", f(item))).collect();
    branches.push(default.to_owned());
    format!("multiIf({})", branches.join(", "))
}

/// The SQL for the whole query; `final_read` adds `FINAL`.
pub(crate) fn sql(query: &UsageQuery, final_read: bool) -> String {
    let items = &query.items;
    let uses = |a: Aggregation| items.iter().any(|i| i.meter.aggregation == a);
    let paths: Vec<String> = items.iter().map(|i| string(i.meter.value.as_deref().unwrap_or(""))).collect();
    let paths = format!("[{}]", paths.join(", "));
    let kinds: Vec<String> = items.iter().map(|i| (i.meter.aggregation as u8).to_string()).collect();
    let kinds = format!("[{}]", kinds.join(", "));
    let value_if = |a: Aggregation, func: &str, args: &str| {
        if uses(a) {
            format!("{func}If({args}, has_value = 1 AND kind = {})", a as u8)
        } else {
            "toDecimal128(0, 12)".into()
        }
    };
    let unique = if uses(Aggregation::UniqueCount) {
        format!("uniqExactIf(s, has_string = 1 AND kind = {})", Aggregation::UniqueCount as u8)
    } else {
        "toUInt64(0)".into()
    };
    let event_types: std::collections::BTreeSet<&str> = items.iter().map(|i| i.meter.event_type.as_str()).collect();
    let event_types: Vec<String> = event_types.into_iter().map(string).collect();
    let (start, end) = (query.period.start(), query.period.end());
    let mut wheres = vec![
        format!("event_type IN ({})", event_types.join(", ")),
        // Whole seconds first, for partition and index pruning; then the exact millisecond bounds.
        format!("time >= toDateTime({})", start.timestamp()),
        format!("time <= toDateTime({})", end.timestamp()),
        format!("time_ms >= {}", start.timestamp_millis()),
        format!("time_ms < {}", end.timestamp_millis()),
    ];
    if let Some(customer) = &query.customer {
        wheres.push(format!("customer = {}", string(customer.as_str())));
    }
    // 18.16 resolves a column captured by a lambda only if the query also names it
    // outside the lambda; `ignore` names them at no cost (it is always 0).
    wheres.push("ignore(event_type, num_keys, num_values, str_keys, str_values) = 0".into());
    let matching = per_item(items, condition, "0");
    let group_values = per_item(items, groups, "emptyArrayString()");
    format!(
        "SELECT customer, toUInt32(item) AS item, groups, count() AS events, sum(has_value) AS with_value, \
         sum(has_string) AS with_string, {sum} AS sum, {max} AS max, {min} AS min, {latest} AS latest, {unique} AS unique \
         FROM (SELECT customer, time_ms, source, id, item, kind, v, has_value, s, has_string, groups FROM (\
           SELECT customer, time_ms, source, id, \
             arrayFilter(i -> {matching}, range({n})) AS items, \
             arrayMap(i -> {kinds}[i + 1], items) AS kinds, \
             arrayMap(i -> num_values[indexOf(num_keys, {paths}[i + 1])], items) AS vs, \
             arrayMap(i -> toUInt8(has(num_keys, {paths}[i + 1])), items) AS has_values, \
             arrayMap(i -> str_values[indexOf(str_keys, {paths}[i + 1])], items) AS ss, \
             arrayMap(i -> toUInt8(has(str_keys, {paths}[i + 1])), items) AS has_strings, \
             arrayMap(i -> {group_values}, items) AS gs \
           FROM usage_events{final_kw} WHERE {wheres}) \
           ARRAY JOIN items AS item, kinds AS kind, vs AS v, has_values AS has_value, ss AS s, \
             has_strings AS has_string, gs AS groups) \
         GROUP BY customer, item, groups",
        sum = value_if(Aggregation::Sum, "sum", "v"),
        max = value_if(Aggregation::Max, "max", "v"),
        min = value_if(Aggregation::Min, "min", "v"),
        latest = value_if(Aggregation::Latest, "argMax", "v, (time_ms, source, id)"),
        n = items.len(),
        final_kw = if final_read { " FINAL" } else { "" },
        wheres = wheres.join(" AND "),
    )
}

/// The row's quantity for its item, or `None` when the item's value never occurred.
pub(crate) fn to_aggregate(row: ScanRow, query: &UsageQuery) -> Result<Option<UsageAggregate>, StoreError> {
    let index = row.item as usize;
    let Some(item) = query.items.get(index) else {
        return Err(StoreError::Corrupt {
            context: "the billing query".into(),
            message: format!("item {index} out of range"),
        });
    };
    let context = || format!("aggregating meter {}", item.meter.key);
    let quantity = match item.meter.aggregation {
        Aggregation::Count => rust_decimal::Decimal::from(row.events),
        Aggregation::UniqueCount if row.with_string > 0 => rust_decimal::Decimal::from(row.unique),
        _ if row.with_value == 0 => return Ok(None),
        Aggregation::Sum => from_raw(row.sum, context)?,
        Aggregation::Max => from_raw(row.max, context)?,
        Aggregation::Min => from_raw(row.min, context)?,
        Aggregation::Latest => from_raw(row.latest, context)?,
        Aggregation::UniqueCount => return Ok(None),
    };
    Ok(Some(UsageAggregate {
        customer: CustomerId::new(row.customer),
        item: index,
        dimensions: item.dimensions(row.groups),
        quantity,
    }))
}
