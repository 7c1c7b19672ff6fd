//! Document numbers from a pattern: `INV-{year}-{seq:6}` gives `INV-2026-000001`.
//!
//! The sequence is gapless within a series: the text before `{seq}` as it reads on
//! the issue date (`INV-2026-`), so a pattern with `{year}` starts again at 1 each
//! year and one without counts for ever. `{seq}` comes last, so a number's series is
//! its text before the digits and the store finds the highest number of a series by
//! its prefix. A pattern without `{seq}` is a prefix and gets six digits (`INV-` is
//! `INV-{seq:6}`), as numbers were written before patterns existed.

use chrono::{DateTime, Datelike, Utc};

/// A checked numbering pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPattern {
    parts: Vec<Part>,
    width: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Year,
    Month,
}

/// Widest sequence accepted.
const MAX_WIDTH: usize = 12;

impl NumberPattern {
    /// Reads `text`; an unknown `{field}`, a `{seq}` not at the end or a width out of
    /// 1 to 12 is an error saying which.
    pub fn parse(text: &str) -> Result<NumberPattern, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut width = None;
        while !rest.is_empty() {
            if width.is_some() {
                return Err(format!("{text:?}: {{seq}} must come last (numbers of a series share the text before it)"));
            }
            let Some(open) = rest.find('{') else {
                parts.push(Part::Text(rest.to_owned()));
                break;
            };
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or_else(|| format!("{text:?}: a {{ is not closed"))? + open;
            match &rest[open + 1..close] {
                "year" => parts.push(Part::Year),
                "month" => parts.push(Part::Month),
                "seq" => width = Some(1),
                field if field.starts_with("seq:") => {
                    let w: usize = field[4..]
                        .parse()
                        .map_err(|_| format!("{text:?}: {{{field}}} needs a width, e.g. {{seq:6}}"))?;
                    if !(1..=MAX_WIDTH).contains(&w) {
                        return Err(format!("{text:?}: a sequence width from 1 to {MAX_WIDTH}"));
                    }
                    width = Some(w);
                }
                field => {
                    return Err(format!(
                        "{text:?}: unknown field {{{field}}}; use {{year}}, {{month}}, {{seq}} or {{seq:N}}"
                    ))
                }
            }
            rest = &rest[close + 1..];
        }
        let text_ok = parts.iter().all(|p| match p {
            Part::Text(t) => !t.contains('}') && t.chars().all(|c| !c.is_control() && !c.is_whitespace()),
            _ => true,
        });
        if !text_ok {
            return Err(format!("{text:?}: numbers hold no spaces, control characters or a stray }}"));
        }
        Ok(NumberPattern { parts, width: width.unwrap_or(6) })
    }

    /// The series a document issued `at` belongs to: its text before the sequence.
    pub fn series(&self, at: DateTime<Utc>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Year => out.push_str(&format!("{:04}", at.year())),
                Part::Month => out.push_str(&format!("{:02}", at.month())),
            }
        }
        out
    }

    /// The `sequence`th number of `series`.
    pub fn number(&self, series: &str, sequence: u64) -> String {
        format!("{series}{sequence:0width$}", width = self.width)
    }

    /// The sequence of `number` if it is one of `series` (digits after it, nothing else).
    pub fn sequence(series: &str, number: &str) -> Option<u64> {
        number.strip_prefix(series).filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_give_numbers_per_series() {
        let at: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let p = NumberPattern::parse("INV-{year}-{seq:6}").unwrap();
        assert_eq!(p.series(at), "INV-2026-");
        assert_eq!(p.number(&p.series(at), 42), "INV-2026-000042");
        let plain = NumberPattern::parse("INV-").unwrap();
        assert_eq!(plain.number(&plain.series(at), 7), "INV-000007");
        let monthly = NumberPattern::parse("{year}{month}-{seq}").unwrap();
        assert_eq!(monthly.number(&monthly.series(at), 3), "202612-3");
        assert_eq!(NumberPattern::sequence("INV-2026-", "INV-2026-000042"), Some(42));
        assert_eq!(NumberPattern::sequence("INV-2026-", "INV-2026-00004x"), None);
        for bad in ["INV-{seq}-{year}", "INV-{day}-{seq}", "INV-{seq:0}", "INV {seq}", "INV-{seq"] {
            assert!(NumberPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
