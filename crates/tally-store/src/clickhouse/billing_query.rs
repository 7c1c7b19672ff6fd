//! The billing query: every item of a usage query in one scan of `usage_events`.
//!
//! Each event is matched against every item's event type and filter at once: one
//! array of the numbers of the items it feeds (`arrayFilter` over one constant per
//! item), and `arrayJoin` turns it into one row per item, whose value, string value and
//! group values are then chosen by item number (`multiIf`). One `GROUP BY customer,
//! item, groups` computes the aggregates the query's items need; the rest are constants.
//! Twelve items cost one scan instead of twelve.
//!
//! Each property the items read is one scalar column (`dim_1`, `val_1`, ...), read once
//! per event. An earlier form packed them into arrays and mapped every item over them
//! with seven lambdas; on ClickHouse 18.16 building those arrays alone took about 1 s
//! of a 2.4 s query over 10 M events, and the scalar form runs the same query in 1.7 s
//! with identical results (docs/benchmarks.md).

use clickhouse::Row;
use serde::Deserialize;
use tally_domain::Aggregation;

use super::rows::from_raw;
use super::sql::string;
use crate::{StoreError, UsageItem, UsageQuery, UsageRow};

/// At most this many customers of [`UsageQuery::customers`] go into the SQL itself.
const CUSTOMERS_IN_SQL: usize = 1_000;

/// One result row: the quantity of one (customer, item, groups), computed with the
/// aggregate function of the item's meter. Kept narrow: at 100,000 customers there are
/// millions of rows to move.
#[derive(Row, Deserialize)]
pub(crate) struct ScanRow<'a> {
    pub(crate) customer: &'a str,
    item: u32,
    #[serde(borrow)]
    groups: Vec<&'a str>,
    quantity: i128,
    /// 0 when no event of the group carried the meter's value (no quantity to bill).
    present: u8,
}

/// The properties the query reads, each read once per event into a column of its own:
/// `dims` (filters and group_by, as text: `dim_N`), `values` (decimal paths of sum, max,
/// min, latest: `val_N`, and `has_val_N` whether the event has it) and `uniques` (text
/// paths of unique counts: `uniq_N`, `has_uniq_N`). N is 1-based; 0 names no property.
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
            values: sorted(value_of(&VALUE_KINDS)),
            uniques: sorted(value_of(&[Aggregation::UniqueCount])),
        }
    }

    fn position(list: &[&str], key: Option<&str>) -> usize {
        key.and_then(|k| list.iter().position(|x| *x == k)).map_or(0, |p| p + 1)
    }

    fn dim(&self, name: &str) -> String {
        format!("dim_{}", Self::position(&self.dims, Some(name)))
    }

    /// The columns every event is read into.
    fn columns(&self) -> Vec<String> {
        let mut columns = Vec::new();
        for (n, d) in self.dims.iter().enumerate() {
            columns.push(format!("str_values[indexOf(str_keys, {})] AS dim_{}", string(d), n + 1));
        }
        for (n, p) in self.values.iter().enumerate() {
            columns.push(format!("num_values[indexOf(num_keys, {})] AS val_{}", string(p), n + 1));
            columns.push(format!("toUInt8(has(num_keys, {})) AS has_val_{}", string(p), n + 1));
        }
        for (n, p) in self.uniques.iter().enumerate() {
            columns.push(format!("str_values[indexOf(str_keys, {})] AS uniq_{}", string(p), n + 1));
            columns.push(format!("toUInt8(has(str_keys, {})) AS has_uniq_{}", string(p), n + 1));
        }
        columns
    }
}

/// The aggregations that read a decimal value.
const VALUE_KINDS: [Aggregation; 4] = [Aggregation::Sum, Aggregation::Max, Aggregation::Min, Aggregation::Latest];

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

/// `multiIf(on = k1, e1, on = k2, e2, ..., default)` over distinct `(k, e)`, or the
/// default alone when there is none (18.16 has no `multiIf` without a condition).
fn choose(on: &str, branches: impl IntoIterator<Item = (usize, String)>, default: &str) -> String {
    let branches: Vec<String> = branches.into_iter().map(|(k, e)| format!("{on} = {k}, {e}")).collect();
    if branches.is_empty() {
        return default.to_owned();
    }
    format!("multiIf({}, {default})", branches.join(", "))
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
    let n = items.len();
    let props = Properties::of(items);
    let positions = |list: &[&str], kinds: &[Aggregation]| -> Vec<usize> {
        items
            .iter()
            .map(|i| {
                if kinds.contains(&i.meter.aggregation) {
                    Properties::position(list, i.meter.value.as_deref())
                } else {
                    0
                }
            })
            .collect()
    };
    let value_at = positions(&props.values, &VALUE_KINDS);
    let unique_at = positions(&props.uniques, &[Aggregation::UniqueCount]);
    let numbers = |list: &[usize]| -> String {
        format!("[{}]", list.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))
    };
    let kinds: Vec<usize> = items.iter().map(|i| i.meter.aggregation as usize).collect();
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
    // The items an event feeds: item i's number where it matches, n where not, and the
    // n's dropped; `arrayJoin` then gives one row per item fed.
    let fed: Vec<String> =
        items.iter().enumerate().map(|(i, item)| format!("if({}, {i}, {n})", condition(item, &props))).collect();
    let mut columns = vec!["customer".to_owned()];
    if items.iter().any(|i| i.meter.aggregation == Aggregation::Latest) {
        columns.extend(["time_ms", "source", "id"].map(String::from));
    }
    columns.extend(props.columns());
    columns.push(format!("arrayJoin(arrayFilter(x -> x < {n}, [{}])) AS item", fed.join(", ")));
    columns.push(format!("{}[item + 1] AS kind", numbers(&kinds)));
    columns.push(format!("{}[item + 1] AS value_at", numbers(&value_at)));
    columns.push(format!("{}[item + 1] AS unique_at", numbers(&unique_at)));
    let value_columns = 1..=props.values.len();
    columns.push(format!(
        "{} AS v",
        choose("value_at", value_columns.clone().map(|k| (k, format!("val_{k}"))), "toDecimal128(0, 12)")
    ));
    columns.push(format!(
        "{} AS has_value",
        choose("value_at", value_columns.map(|k| (k, format!("has_val_{k}"))), "toUInt8(0)")
    ));
    let unique_columns = 1..=props.uniques.len();
    columns
        .push(format!("{} AS s", choose("unique_at", unique_columns.clone().map(|k| (k, format!("uniq_{k}"))), "''")));
    columns.push(format!(
        "{} AS has_string",
        choose("unique_at", unique_columns.map(|k| (k, format!("has_uniq_{k}"))), "toUInt8(0)")
    ));
    let grouped = items.iter().enumerate().filter(|(_, i)| !i.group_by.is_empty()).map(|(k, i)| (k, groups(i, &props)));
    columns.push(format!("{} AS groups", choose("item", grouped, "emptyArrayString()")));
    format!(
        "SELECT customer, toUInt32(item) AS item, groups, {quantity} AS quantity, {present} AS present \
         FROM (SELECT {columns} FROM usage_events{final_kw} WHERE {wheres}) \
         GROUP BY customer, item, groups",
        columns = columns.join(", "),
        final_kw = if final_read { " FINAL" } else { "" },
        wheres = wheres.join(" AND "),
    )
}

/// The row's quantity for its item, or `None` when the item's value never occurred.
pub(crate) fn usage_row<'r>(row: &'r ScanRow<'_>, query: &UsageQuery) -> Result<Option<UsageRow<'r>>, StoreError> {
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
    Ok(Some(UsageRow { customer: row.customer, item: index, groups: &row.groups, quantity }))
}
