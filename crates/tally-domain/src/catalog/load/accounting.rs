//! The optional `accounting` table of the catalog, a plan, a fee or a charge: how the
//! books name what a line bills (an income account, an item, a tax code), for the
//! accounting exports. It does not price anything, so it is not in a plan's prices
//! fingerprint: mapping a charge to another account never makes invoices stale.

use crate::catalog::model::Accounting;
use crate::catalog::reader::{Fields, Problems};

/// Longest account, item or tax-code name accepted.
const NAME_MAX: usize = 100;

/// The `accounting` table in `f` (all `None` when absent).
pub(super) fn read_accounting(f: &mut Fields<'_>, p: &mut Problems) -> Accounting {
    let Some(table) = f.table("accounting", p) else { return Accounting::default() };
    let mut af = Fields::new(table, f.at("accounting"));
    let mut name = |key: &'static str, af: &mut Fields<'_>| {
        let text = af.string(key, p)?;
        let ok = !text.trim().is_empty() && text.chars().count() <= NAME_MAX && !text.chars().any(char::is_control);
        if !ok {
            p.push(af.at(key), format!("{text:?}: give a name of 1 to {NAME_MAX} characters on one line"));
        }
        ok.then_some(text)
    };
    let accounting = Accounting {
        income_account: name("income_account", &mut af),
        item: name("item", &mut af),
        tax_code: name("tax_code", &mut af),
    };
    af.finish(p);
    accounting
}
