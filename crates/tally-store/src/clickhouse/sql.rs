//! SQL text for ClickHouse: quoting, and the aggregation query. Values are quoted
//! here because 18.16 has no server-side query parameters.

use tally_domain::Aggregation;

use crate::{UsageItem, UsageQuery};

/// A string literal: `'it''s'` style escaping with backslashes, as ClickHouse reads it.
pub(crate) fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An identifier in backquotes.
pub(crate) fn identifier(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

fn string_prop(path: &str) -> String {
    format!("str_values[indexOf(str_keys, {})]", string(path))
}

/// The aggregation of one item: `customer`, `groups` (array of group values) and `q`
/// (a `Decimal(38, 12)`), one row per customer and group. Events that lack the
/// meter's value are ignored by value aggregations, as in the embedded store.
/// `final_read` adds `FINAL` (needed unless every partition read is a single part).
pub(crate) fn aggregate(item: &UsageItem, query: &UsageQuery, final_read: bool) -> String {
    let path = item.meter.value.as_deref().unwrap_or("");
    let has_num = format!("has(num_keys, {})", string(path));
    let num = format!("num_values[indexOf(num_keys, {})]", string(path));
    let quantity = match item.meter.aggregation {
        Aggregation::Count => "toDecimal128(count(), 12)".to_string(),
        Aggregation::Sum => format!("sumIf({num}, {has_num})"),
        Aggregation::Max => format!("maxIf({num}, {has_num})"),
        Aggregation::Min => format!("minIf({num}, {has_num})"),
        Aggregation::Latest => format!("argMaxIf({num}, (time_ms, source, id), {has_num})"),
        Aggregation::UniqueCount => {
            format!("toDecimal128(uniqExactIf({}, has(str_keys, {})), 12)", string_prop(path), string(path))
        }
    };
    let has_value = match item.meter.aggregation {
        Aggregation::Count => "1".to_string(),
        Aggregation::UniqueCount => format!("has(str_keys, {})", string(path)),
        _ => has_num.clone(),
    };
    let groups = if item.group_by.is_empty() {
        "emptyArrayString()".to_string()
    } else {
        format!("[{}]", item.group_by.iter().map(|g| string_prop(g)).collect::<Vec<_>>().join(", "))
    };
    let (start, end) = (query.period.start(), query.period.end());
    let mut wheres = vec![
        format!("event_type = {}", string(&item.meter.event_type)),
        // Whole seconds first, for partition and index pruning; then the exact millisecond bounds.
        format!("time >= toDateTime({})", start.timestamp()),
        format!("time <= toDateTime({})", end.timestamp()),
        format!("time_ms >= {}", start.timestamp_millis()),
        format!("time_ms < {}", end.timestamp_millis()),
    ];
    if let Some(customer) = &query.customer {
        wheres.push(format!("customer = {}", string(customer.as_str())));
    }
    for (k, v) in &item.filter {
        wheres.push(format!("{} = {}", string_prop(k), string(v)));
    }
    format!(
        "SELECT customer, groups, q FROM (SELECT customer, {groups} AS groups, {quantity} AS q, sum({has_value}) AS n \
         FROM usage_events{} WHERE {} GROUP BY customer, groups) WHERE n > 0",
        if final_read { " FINAL" } else { "" },
        wheres.join(" AND ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_safely() {
        assert_eq!(string("gpt-4o"), "'gpt-4o'");
        assert_eq!(string("it's"), "'it\\'s'");
        assert_eq!(string("a\\'; DROP TABLE x; --"), "'a\\\\\\'; DROP TABLE x; --'");
        assert_eq!(identifier("tally"), "`tally`");
        assert_eq!(identifier("a`b"), "`a\\`b`");
    }
}
