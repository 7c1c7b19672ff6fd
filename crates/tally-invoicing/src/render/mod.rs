//! Invoices and statements for people and spreadsheets: HTML pages a customer could
//! receive, and CSV that opens cleanly in Excel and imports into accounting software.

mod csv;
mod html;
mod statement;

pub use self::csv::{invoices_csv, lines_csv};
pub use self::html::html;
pub use self::statement::{statement_csv, statement_html, statement_json};
