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

/// At most this many customers of [`UsageQuery::customers`] go into the SQL itself.
const CUSTOMERS_IN_SQL: usize = 1_000;

/// One result row: the quantity of one (customer, item, groups), computed with the
/// aggregate function of the item's meter. Kept narrow: at 100,000 customers there are
/// millions of rows to move.
#[derive(Row, Deserialize)]
pub(crate) struct ScanRow {
    pub(crate) customer: String,
    item: u32,
    groups: Vec<String>,
    quantity: i128,
    /// 0 when no event of the group carried the meter's value (no quantity to bill).
    present: u8,
}

/// The properties the query reads, each read once per event: `dims` (filters and
/// group_by, as text), `values` (decimal paths of sum, max, min, latest) and `uniques`
/// (text paths of unique counts). Positions are 1-based for ClickHouse arrays; 0 reads
/// the element type's default, which no item uses.
struct Properties<'q> {
    dims: Vec<&'q str>,
    values: Vec<&'q str>,
    uniques: Vec<&'q str>,
}

impl<'q> Properties<'q> {
    fn of(items: &'q [UsageItem]) -> Self {
        fn sorted(mut v: Vec<&str>) -> Vec<&str> {
            v.sort_unstable();
            v.dedup();
            v
        }
        let dims = items.iter().flat_map(|i| i.filter.keys().chain(i.group_by.iter())).map(String::as_str).collect();
        let value_of = |kinds: &[Aggregation]| {
            items
                .iter()
                .filter(|i| kinds.contains(&i.meter.aggregation))
                .filter_map(|i| i.meter.value.as_deref())
                .collect()
        };
        Properties {
            dims: sorted(dims),
            values: sorted(value_of(&[Aggregation::Sum, Aggregation::Max, Aggregation::Min, Aggregation::Latest])),
            uniques: sorted(value_of(&[Aggregation::UniqueCount])),
        }
    }

    fn position(list: &[&str], key: Option<&str>) -> usize {
        key.and_then(|k| list.iter().position(|x| *x == k)).map_or(0, |p| p + 1)
    }

    fn dim(&self, name: &str) -> String {
        format!("dv[{}]", Self::position(&self.dims, Some(name)))
    }

    /// `[e(p1), e(p2), ..., e(placeholder)]`: never empty, as 18.16 cannot type `[]`.
    fn array(list: &[&str], e: impl Fn(&str) -> String) -> String {
        let mut exprs: Vec<String> = list.iter().map(|p| e(p)).collect();
        exprs.push(e("\u{1}none"));
        format!("[{}]", exprs.join(", "))
    }
}

fn condition(item: &UsageItem, props: &Properties<'_>) -> String {
    let mut parts = vec![format!("event_type = {}", string(&item.meter.event_type))];
    for (k, v) in &item.filter {
        parts.push(format!("{} = {}", props.dim(k), string(v)));
    }
    parts.join(" AND ")
}

fn groups(item: &UsageItem, props: &Properties<'_>) -> String {
    if item.group_by.is_empty() {
        return "emptyArrayString()".into();
    }
    let exprs: Vec<String> = item.group_by.iter().map(|g| props.dim(g)).collect();
    format!("[{}]", exprs.join(", "))
}

/// `multiIf(i = 0, a0, i = 1, a1, ..., default)` over the items.
fn per_item(items: &[UsageItem], f: impl Fn(&UsageItem) -> String, default: &str) -> String {
    let mut branches: Vec<String> = items.iter().enumerate().map(|(i, item)| format!("i = {i}, {}", f(item))).collect();
    branches.push(default.to_owned());
    format!("multiIf({})", branches.join(", "))
}

/// The quantity and presence expressions of the outer query: each item's aggregate
/// function, chosen by item number (`multiIf`), so that one narrow row leaves the server.
fn quantity(items: &[UsageItem]) -> (String, String) {
    let of_kind = |a: Aggregation| -> String {
        let list: Vec<String> =
            items.iter().enumerate().filter(|(_, i)| i.meter.aggregation == a).map(|(n, _)| n.to_string()).collect();
        list.join(", ")
    };
    let value = "has_value = 1 AND kind =";
    let functions = [
        (Aggregation::Count, "toDecimal128(count(), 12)".to_owned()),
        (
            Aggregation::UniqueCount,
            format!("toDecimal128(uniqExactIf(s, has_string = 1 AND kind = {}), 12)", Aggregation::UniqueCount as u8),
        ),
        (Aggregation::Sum, format!("sumIf(v, {value} {})", Aggregation::Sum as u8)),
        (Aggregation::Max, format!("maxIf(v, {value} {})", Aggregation::Max as u8)),
        (Aggregation::Min, format!("minIf(v, {value} {})", Aggregation::Min as u8)),
        (Aggregation::Latest, format!("argMaxIf(v, (time_ms, source, id), {value} {})", Aggregation::Latest as u8)),
    ];
    let mut quantity = Vec::new();
    let mut present = Vec::new();
    for (kind, function) in functions {
        let list = of_kind(kind);
        if list.is_empty() {
            continue;
        }
        quantity.push(format!("item IN ({list}), {function}"));
        present.push(match kind {
            Aggregation::Count => format!("item IN ({list}), toUInt8(1)"),
            Aggregation::UniqueCount => format!("item IN ({list}), toUInt8(max(has_string))"),
            _ => format!("item IN ({list}), toUInt8(max(has_value))"),
        });
    }
    quantity.push("toDecimal128(0, 12)".into());
    present.push("toUInt8(0)".into());
    (format!("multiIf({})", quantity.join(", ")), format!("multiIf({})", present.join(", ")))
}

/// The SQL for the whole query; `final_read` adds `FINAL`.
pub(crate) fn sql(query: &UsageQuery, final_read: bool) -> String {
    let items = &query.items;
    let props = Properties::of(items);
    let positions = |list: &[&str], kinds: &[Aggregation]| {
        let p: Vec<String> = items
            .iter()
            .map(|i| {
                if kinds.contains(&i.meter.aggregation) {
                    Properties::position(list, i.meter.value.as_deref())
                } else {
                    0
                }
            })
            .map(|n| n.to_string())
            .collect();
        format!("[{}]", p.join(", "))
    };
    let value_at =
        positions(&props.values, &[Aggregation::Sum, Aggregation::Max, Aggregation::Min, Aggregation::Latest]);
    let unique_at = positions(&props.uniques, &[Aggregation::UniqueCount]);
    let kinds: Vec<String> = items.iter().map(|i| (i.meter.aggregation as u8).to_string()).collect();
    let kinds = format!("[{}]", kinds.join(", "));
    let (quantity, present) = quantity(items);
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
    // A few customers are named in the SQL; a long list (100,000 on one plan) would be
    // a query larger than the server's `max_query_size`, so those rows are dropped
    // after reading (`ClickHouseStore::read`), which is exact either way.
    if let Some(set) = query.customers.as_ref().filter(|set| set.len() <= CUSTOMERS_IN_SQL) {
        let names: Vec<String> = set.iter().map(|c| string(c.as_str())).collect();
        wheres.push(format!("customer IN ({})", names.join(", ")));
    }
    let dv = Properties::array(&props.dims, |d| format!("str_values[indexOf(str_keys, {})]", string(d)));
    let pv = Properties::array(&props.values, |p| format!("num_values[indexOf(num_keys, {})]", string(p)));
    let ph = Properties::array(&props.values, |p| format!("toUInt8(has(num_keys, {}))", string(p)));
    let uv = Properties::array(&props.uniques, |p| format!("str_values[indexOf(str_keys, {})]", string(p)));
    let uh = Properties::array(&props.uniques, |p| format!("toUInt8(has(str_keys, {}))", string(p)));
    let matching = per_item(items, |i| condition(i, &props), "0");
    let group_values = per_item(items, |i| groups(i, &props), "emptyArrayString()");
    format!(
        "SELECT customer, toUInt32(item) AS item, groups, {quantity} AS quantity, {present} AS present \
         FROM (SELECT customer, time_ms, source, id, item, kind, v, has_value, s, has_string, groups FROM (\
           SELECT customer, time_ms, source, id, \
             arrayFilter(i -> {matching}, range({n})) AS items, \
             arrayMap(i -> {kinds}[i + 1], items) AS kinds, \
             arrayMap(i -> pv[{value_at}[i + 1]], items) AS vs, \
             arrayMap(i -> ph[{value_at}[i + 1]], items) AS has_values, \
             arrayMap(i -> uv[{unique_at}[i + 1]], items) AS ss, \
             arrayMap(i -> uh[{unique_at}[i + 1]], items) AS has_strings, \
             arrayMap(i -> {group_values}, items) AS gs \
           FROM (SELECT customer, time_ms, source, id, event_type, {dv} AS dv, {pv} AS pv, {ph} AS ph, {uv} AS uv, {uh} AS uh \
             FROM usage_events{final_kw} WHERE {wheres}) \
           WHERE ignore(event_type, dv, pv, ph, uv, uh) = 0) \
           ARRAY JOIN items AS item, kinds AS kind, vs AS v, has_values AS has_value, ss AS s, \
             has_strings AS has_string, gs AS groups) \
         GROUP BY customer, item, groups",
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
    if row.present == 0 {
        return Ok(None);
    }
    let quantity = from_raw(row.quantity, || format!("aggregating meter {}", item.meter.key))?;
    Ok(Some(UsageAggregate {
        customer: CustomerId::new(row.customer),
        item: index,
        dimensions: item.dimensions(row.groups),
        quantity,
    }))
}
