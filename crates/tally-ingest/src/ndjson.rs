//! One rule for what a line of NDJSON holds, on every path that reads it (files and
//! stdin into the store or into Kafka, `POST /v1/events` as `application/x-ndjson`,
//! `tally backfill`): the line without its `\n` or `\r\n`, and nothing at all when it
//! is blank, so a blank line is never counted as a rejected event.

/// The message of `line` (its end of line cut), or `None` for a blank line.
pub fn message(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (!line.iter().all(u8::is_ascii_whitespace)).then_some(line)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ends_of_line_are_cut_and_blank_lines_hold_nothing() {
        assert_eq!(super::message(b"{}\r\n"), Some(&b"{}"[..]));
        assert_eq!(super::message(b"{}\n"), Some(&b"{}"[..]));
        assert_eq!(super::message(b"{}"), Some(&b"{}"[..]));
        assert_eq!(super::message(b" \t\r\n"), None);
        assert_eq!(super::message(b""), None);
    }
}
