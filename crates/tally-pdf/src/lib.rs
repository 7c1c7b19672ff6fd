//! Invoices and credit notes as PDF, laid out from the same document model as the
//! HTML page ([`tally_invoicing::document::Sheet`]), in-process.
//!
//! Made with krilla: a pure-Rust, actively kept PDF writer (the one Typst's PDF export
//! is built on) that embeds and subsets fonts with a proper Unicode map, so what a
//! reader copies out of the page, or `pdftotext` extracts, is the text drawn, CJK
//! included; it needs no system library and made 345 invoices a second on one core in
//! our trial (printpdf, the other candidate, left font subsetting and ToUnicode maps to
//! us). The layout is ours and simple: A4, one column of blocks, a table of lines
//! with its header repeated on every page, words wrapped to their column.

mod fonts;
mod layout;

use thiserror::Error;

pub use fonts::Fonts;
pub use layout::pdf;

/// Why a PDF could not be made.
#[derive(Debug, Error)]
pub enum PdfError {
    /// A font file cannot be used.
    #[error("font {file}: {message} (documents.fonts)")]
    Font {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A character of the document is in none of the fonts.
    #[error(
        "no font has the character {character:?} (U+{code:04X}); add a font that has it to documents.fonts \
         (tried the bundled DejaVu Sans and: {fonts}; on Debian, apt install fonts-noto-cjk for Chinese, Japanese, Korean)",
        code = *character as u32
    )]
    NoGlyph {
        /// The character.
        character: char,
        /// The fallback files named.
        fonts: String,
    },
    /// The logo cannot be drawn.
    #[error("issuer.logo: {0}")]
    Logo(String),
    /// krilla refused the document.
    #[error("writing the PDF: {0}")]
    Write(String),
}
