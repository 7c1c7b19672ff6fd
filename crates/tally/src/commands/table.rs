//! Plain aligned text tables for terminal listings.
//!
//! Cells come from the store (customer names, ids): a control character in one (an ANSI
//! escape, a carriage return) would repaint or hide parts of the operator's terminal,
//! so each is shown as its `\u{..}` escape instead.

/// Prints `header` and `rows` as left-aligned columns separated by two spaces.
pub fn print<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let rows: Vec<[String; N]> = rows.iter().map(|row| row.clone().map(|cell| printable(&cell))).collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `text` with every control character written as its escape (`\u{1b}`).
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars().map(|c| if c.is_control() { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::printable("\u{1b}[31mEvil\r\n"), "\\u{1b}[31mEvil\\u{d}\\u{a}");
        assert_eq!(super::printable("Acme AI 株式会社"), "Acme AI 株式会社");
    }
}
