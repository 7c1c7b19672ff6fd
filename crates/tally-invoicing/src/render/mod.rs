//! Invoices for people and spreadsheets: an HTML page a customer could receive, and
//! CSV that opens cleanly in Excel and imports into accounting software.

mod csv;
mod html;

pub use self::csv::{invoices_csv, lines_csv};
pub use self::html::html;
