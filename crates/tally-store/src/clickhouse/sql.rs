//! Quoting for ClickHouse SQL. Values are quoted into the text because 18.16 has no
//! server-side query parameters.
//!
//! Every SQL text goes to `clickhouse::Client::query`, which reads `?` as a bind
//! placeholder (and `??` as a literal `?`) anywhere in the text, quoted or not. So a
//! quoted value doubles its `?`: a customer id `a?b` must reach the server as `'a?b'`,
//! never as an unbound argument, and `a??b` must not become `a?b`.

/// A string literal: `'it''s'` style escaping with backslashes, as ClickHouse reads it.
pub(crate) fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '?' => out.push_str("??"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An identifier in backquotes.
pub(crate) fn identifier(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`").replace('?', "??"))
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
        assert_eq!(string("a?b"), "'a??b'", "the client reads one ? as a placeholder");
        assert_eq!(string("a??b"), "'a????b'");
    }
}
