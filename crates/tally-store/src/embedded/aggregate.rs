//! Aggregation for the embedded store: one scan of the events for many queries at once.
//!
//! The invoicer asks for one query per (period part, plan): customers in six time
//! zones on four plans make a dozen queries over nearly the same month. One SQL
//! statement per item made SQLite scan the month once per charge of every query (a
//! hundred scans; minutes at a million events). Here the union of the periods is read
//! once, in time order, each row's values parsed once and handed to every query and
//! item it belongs to, with exact decimals. The semantics are those of the ClickHouse
//! store, held by the contract tests: filters and groups on the event's text values
//! (a missing group value is ""), sums, minimums and maximums over the events that
//! have the value, the latest value by (time, source, id), distinct text values.

use std::borrow::Cow;
use std::collections::HashSet;

use rustc_hash::FxHashMap;
use std::str::FromStr;

use rusqlite::types::Value;
use rusqlite::Connection;
use rust_decimal::Decimal;
use tally_domain::json::{Leaf, Members};
use tally_domain::{Aggregation, CustomerId};

use super::blocks;
use crate::{StoreError, UsageAggregate, UsageItem, UsageQuery};

/// What one group of one item has seen so far.
enum Acc {
    Count(u64),
    Fold(Option<Decimal>),
    Latest(Option<(i64, String, String, Decimal)>),
    Unique(HashSet<String>),
}

impl Acc {
    fn new(aggregation: Aggregation) -> Acc {
        match aggregation {
            Aggregation::Count => Acc::Count(0),
            Aggregation::Sum | Aggregation::Max | Aggregation::Min => Acc::Fold(None),
            Aggregation::Latest => Acc::Latest(None),
            Aggregation::UniqueCount => Acc::Unique(HashSet::new()),
        }
    }

    fn quantity(self) -> Option<Decimal> {
        match self {
            Acc::Count(n) => Some(Decimal::from(n)),
            Acc::Fold(value) => value.map(|d| d.normalize()),
            Acc::Latest(latest) => latest.map(|(_, _, _, d)| d.normalize()),
            Acc::Unique(set) => (!set.is_empty()).then(|| Decimal::from(set.len())),
        }
    }
}

/// One stored row, its text leaves parsed lazily.
struct Row<'a> {
    time_ms: i64,
    source: &'a str,
    id: &'a str,
    numbers: Members<'a>,
    strings: Members<'a>,
}

impl<'a> Row<'a> {
    /// A text value, borrowed from the stored row unless it had escapes.
    fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        self.strings.get(key).and_then(|raw| match Leaf::of(raw) {
            Ok(Leaf::Str(s)) => Some(s),
            _ => None,
        })
    }

    fn number(&self, key: &str, context: &str) -> Result<Option<Decimal>, StoreError> {
        let Some(text) = self.text_of(&self.numbers, key) else { return Ok(None) };
        Decimal::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { context: context.to_owned(), message: format!("{text:?}: {e}") })
    }

    fn text_of(&self, members: &Members<'a>, key: &str) -> Option<Cow<'a, str>> {
        members.get(key).and_then(|raw| match Leaf::of(raw) {
            Ok(Leaf::Str(s)) => Some(s),
            Ok(Leaf::Number(n)) => Some(Cow::Borrowed(n)),
            _ => None,
        })
    }
}

/// Key of one accumulator: query, customer (its number in [`Customers`]), item, group
/// values (their number in [`Groups`]); four integers, so a row's accumulator is found
/// without allocating (the group values as a `Vec<String>` in the key were a third of
/// the scan's time, measured on the demo's close).
type Slot = (usize, u32, usize, u32);

/// The customers met in a scan, numbered, so a row's accumulator is found without
/// copying its customer.
#[derive(Default)]
struct Customers {
    numbers: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Customers {
    fn number(&mut self, customer: &str) -> u32 {
        if let Some(n) = self.numbers.get(customer) {
            return *n;
        }
        let n = self.names.len() as u32;
        self.names.push(customer.to_owned());
        self.numbers.insert(customer.to_owned(), n);
        n
    }
}

/// The tuples of group values met in a scan, numbered. A row's tuple is written into
/// one reused buffer, each value as its length, `:`, and its bytes (so no two tuples
/// share a text), and looked up by that text; only a new tuple allocates.
#[derive(Default)]
struct Groups {
    numbers: FxHashMap<String, u32>,
    tuples: Vec<Vec<String>>,
    buffer: String,
}

impl Groups {
    fn number<'v>(&mut self, values: impl Iterator<Item = Option<Cow<'v, str>>>) -> u32 {
        use std::fmt::Write;
        self.buffer.clear();
        for value in values {
            let value = value.unwrap_or_default();
            let _ = write!(self.buffer, "{}:{value}", value.len());
        }
        if let Some(n) = self.numbers.get(self.buffer.as_str()) {
            return *n;
        }
        let n = self.tuples.len() as u32;
        self.tuples.push(split(&self.buffer));
        self.numbers.insert(self.buffer.clone(), n);
        n
    }
}

/// The values of a tuple as [`Groups`] writes it.
fn split(mut text: &str) -> Vec<String> {
    let mut values = Vec::new();
    while let Some((len, rest)) = text.split_once(':') {
        let len: usize = len.parse().expect("written as a length");
        values.push(rest[..len].to_owned());
        text = &rest[len..];
    }
    values
}

/// What a scan accumulates.
#[derive(Default)]
struct Scan {
    customers: Customers,
    groups: Groups,
    accs: FxHashMap<Slot, Acc>,
}

fn step(acc: &mut Acc, item: &UsageItem, row: &Row<'_>, context: &str) -> Result<(), StoreError> {
    let overflow = || StoreError::Corrupt { context: context.to_owned(), message: "decimal overflow".to_owned() };
    let value_key = item.meter.value.as_deref().unwrap_or_default();
    match acc {
        Acc::Count(n) => *n += 1,
        Acc::Fold(so_far) => {
            if let Some(value) = row.number(value_key, context)? {
                *so_far = Some(match (*so_far, item.meter.aggregation) {
                    (None, _) => value,
                    (Some(a), Aggregation::Sum) => a.checked_add(value).ok_or_else(overflow)?,
                    (Some(a), Aggregation::Max) => a.max(value),
                    (Some(a), _) => a.min(value),
                });
            }
        }
        Acc::Latest(latest) => {
            if let Some(value) = row.number(value_key, context)? {
                let newer = latest
                    .as_ref()
                    .is_none_or(|(t, s, i, _)| (row.time_ms, row.source, row.id) > (*t, s.as_str(), i.as_str()));
                if newer {
                    *latest = Some((row.time_ms, row.source.to_owned(), row.id.to_owned(), value));
                }
            }
        }
        Acc::Unique(set) => {
            if let Some(text) = row.text(value_key) {
                set.insert(text.into_owned());
            }
        }
    }
    Ok(())
}

/// Which queries a row can belong to, by its customer: a query for every customer is
/// open to all rows; one for a customer or a set of them is reached only by theirs. The
/// invoicer asks one query per period part and plan, so a row is handed to the queries
/// of its own customer's plan, not to every plan's (that was most of a close's scan).
struct Routes<'q> {
    open: Vec<usize>,
    by_customer: FxHashMap<&'q str, Vec<usize>>,
}

impl<'q> Routes<'q> {
    fn new(queries: &'q [UsageQuery]) -> Routes<'q> {
        let mut routes = Routes { open: Vec::new(), by_customer: FxHashMap::default() };
        for (q, query) in queries.iter().enumerate() {
            match (&query.customer, &query.customers) {
                (None, None) => routes.open.push(q),
                (Some(one), _) if query.wants(one.as_str()) => {
                    routes.by_customer.entry(one.as_str()).or_default().push(q)
                }
                (Some(_), _) => {} // a customer outside its own set: nothing is asked
                (None, Some(set)) => {
                    for customer in set.iter() {
                        routes.by_customer.entry(customer.as_str()).or_default().push(q);
                    }
                }
            }
        }
        routes
    }

    fn of<'r>(&'r self, customer: &str) -> impl Iterator<Item = usize> + 'r {
        self.open.iter().chain(self.by_customer.get(customer).into_iter().flatten()).copied()
    }
}

/// Hands one stored row to every query and item it belongs to.
fn fold_row(
    raw: &rusqlite::Row<'_>,
    queries: &[UsageQuery],
    routes: &Routes<'_>,
    scan: &mut Scan,
    context: &str,
) -> Result<(), StoreError> {
    let get_str = |i: usize| raw.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
    let customer = get_str(0).map_err(StoreError::sqlite(context))?;
    let event_type = get_str(1).map_err(StoreError::sqlite(context))?;
    let time_ms: i64 = raw.get(2).map_err(StoreError::sqlite(context))?;
    let corrupt = |e: serde_json::Error| StoreError::Corrupt { context: context.to_owned(), message: e.to_string() };
    let mut row: Option<Row<'_>> = None;
    for q in routes.of(customer) {
        let query = &queries[q];
        let t = query.period;
        if time_ms < t.start().timestamp_millis() || time_ms >= t.end().timestamp_millis() {
            continue;
        }
        debug_assert!(query.wants(customer), "routed to a query that does not ask for its customer");
        for (i, item) in query.items.iter().enumerate() {
            if item.meter.event_type != event_type {
                continue;
            }
            if row.is_none() {
                row = Some(Row {
                    time_ms,
                    source: get_str(3).map_err(StoreError::sqlite(context))?,
                    id: get_str(4).map_err(StoreError::sqlite(context))?,
                    numbers: Members::parse(get_str(5).map_err(StoreError::sqlite(context))?).map_err(corrupt)?,
                    strings: Members::parse(get_str(6).map_err(StoreError::sqlite(context))?).map_err(corrupt)?,
                });
            }
            let row = row.as_ref().expect("parsed above");
            if !item.filter.iter().all(|(k, v)| row.text(k).as_deref() == Some(v.as_str())) {
                continue;
            }
            let groups = scan.groups.number(item.group_by.iter().map(|g| row.text(g)));
            let customer = scan.customers.number(customer);
            let acc = scan.accs.entry((q, customer, i, groups)).or_insert_with(|| Acc::new(item.meter.aggregation));
            step(acc, item, row, context)?;
        }
    }
    Ok(())
}

/// Runs every query in one scan; each query's rows come back sorted.
pub(crate) fn run_many(conn: &Connection, queries: &[UsageQuery]) -> Result<Vec<Vec<UsageAggregate>>, StoreError> {
    let context = "aggregating usage";
    let mut out: Vec<Vec<UsageAggregate>> = vec![Vec::new(); queries.len()];
    let live: Vec<&UsageQuery> = queries.iter().filter(|q| !q.items.is_empty()).collect();
    let (Some(start), Some(end)) =
        (live.iter().map(|q| q.period.start()).min(), live.iter().map(|q| q.period.end()).max())
    else {
        return Ok(out);
    };
    let mut types: Vec<&str> = live.iter().flat_map(|q| q.items.iter().map(|i| i.meter.event_type.as_str())).collect();
    types.sort_unstable();
    types.dedup();
    // One customer for every query (a preview): only its rows are looked at.
    let customer = live[0].customer.as_ref().filter(|c| live.iter().all(|q| q.customer.as_ref() == Some(*c)));
    let (start_ms, end_ms) = (start.timestamp_millis(), end.timestamp_millis());
    // ?1, ?2: the row range of a block; ?3, ?4: the time range; then the types.
    let mut params = vec![Value::Integer(0), Value::Integer(0), Value::Integer(start_ms), Value::Integer(end_ms)];
    let placeholders: Vec<String> = types
        .iter()
        .map(|t| {
            params.push(Value::Text((*t).to_owned()));
            format!("?{}", params.len())
        })
        .collect();
    let mut sql = format!(
        "SELECT customer, event_type, time_ms, source, id, numbers, strings FROM usage_events \
         WHERE row >= ?1 AND row <= ?2 AND time_ms >= ?3 AND time_ms < ?4 AND event_type IN ({})",
        placeholders.join(", ")
    );
    if let Some(customer) = customer {
        params.push(Value::Text(customer.to_string()));
        sql.push_str(&format!(" AND customer = ?{}", params.len()));
    }
    let mut scan = Scan::default();
    let routes = Routes::new(queries);
    let mut stmt = conn.prepare(&sql).map_err(StoreError::sqlite(context))?;
    for (first, last) in blocks::ranges(conn, start_ms, end_ms).map_err(StoreError::sqlite(context))? {
        (params[0], params[1]) = (Value::Integer(first), Value::Integer(last));
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter())).map_err(StoreError::sqlite(context))?;
        while let Some(raw) = rows.next().map_err(StoreError::sqlite(context))? {
            fold_row(raw, queries, &routes, &mut scan, context)?;
        }
    }
    for ((q, customer, item, groups), acc) in scan.accs {
        let Some(quantity) = acc.quantity() else { continue };
        let dimensions = queries[q].items[item].dimensions(scan.groups.tuples[groups as usize].iter().cloned());
        let customer = CustomerId::new(scan.customers.names[customer as usize].clone());
        out[q].push(UsageAggregate { customer, item, dimensions, quantity });
    }
    Ok(out.into_iter().map(crate::query::sort_aggregates).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_tuples_are_numbered_once_each_and_read_back_whole() {
        let mut groups = Groups::default();
        let tuple = |values: &[Option<&'static str>]| values.iter().map(|v| v.map(Cow::Borrowed)).collect::<Vec<_>>();
        let a = groups.number(tuple(&[Some("gpt:4"), Some("eu")]).into_iter());
        let b = groups.number(tuple(&[Some("gpt"), Some("4:eu")]).into_iter());
        let c = groups.number(tuple(&[None, Some("")]).into_iter());
        let none = groups.number(std::iter::empty());
        assert_eq!(groups.number(tuple(&[Some("gpt:4"), Some("eu")]).into_iter()), a);
        assert_eq!(groups.number(tuple(&[Some(""), None]).into_iter()), c, "a missing value is \"\"");
        assert_eq!([a, b, c, none], [0, 1, 2, 3]);
        assert_eq!(groups.tuples[0], ["gpt:4", "eu"]);
        assert_eq!(groups.tuples[1], ["gpt", "4:eu"]);
        assert_eq!(groups.tuples[2], ["", ""]);
        assert!(groups.tuples[3].is_empty());
    }
}
