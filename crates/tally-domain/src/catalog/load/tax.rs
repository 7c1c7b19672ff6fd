//! The catalog's optional `[tax]` table: `rounding` and `[[tax.rates]]`.

use rust_decimal::Decimal;
use toml::Table;

use crate::catalog::reader::{Fields, Problems};
use crate::catalog::tax::{TaxRate, TaxRounding, TaxTable};

/// The tax table (empty when `table` is `None`).
pub(super) fn read_tax(table: Option<&Table>, p: &mut Problems) -> TaxTable {
    let Some(table) = table else { return TaxTable::default() };
    let mut f = Fields::new(table, "tax");
    let rounding = match f.string("rounding", p).as_deref() {
        None | Some("per_line") => TaxRounding::PerLine,
        Some("per_invoice") => TaxRounding::PerInvoice,
        Some(other) => {
            p.push(f.at("rounding"), format!("unknown rounding {other:?}; expected per_line or per_invoice"));
            TaxRounding::PerLine
        }
    };
    let tables = f.tables("rates", p).unwrap_or_default();
    f.finish(p);
    let mut rates = Vec::new();
    for (i, t) in tables.into_iter().enumerate() {
        let mut rf = Fields::new(t, format!("tax.rates[{i}]"));
        let name = rf.req_string("name", p);
        let name = super::plan::display_text(&rf, "name", name, p);
        let country = rf.req_string("country", p).filter(|c| {
            let ok = crate::iso3166::is_country(c);
            if !ok {
                p.push(
                    rf.at("country"),
                    format!("{c:?} is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. DE)"),
                );
            }
            ok
        });
        let region = rf.string("region", p).filter(|r| {
            let ok = crate::iso3166::is_subdivision(r);
            if !ok {
                p.push(
                    rf.at("region"),
                    format!("{r:?} is not a subdivision code (ISO 3166-2 without the country: CA, NY, 13)"),
                );
            }
            ok
        });
        let category = rf.string("category", p);
        let rate = rf.req_decimal("rate", p).filter(|r| {
            let ok = *r >= Decimal::ZERO && *r < Decimal::ONE;
            if !ok {
                p.push(rf.at("rate"), format!("{r} is not a fraction from 0 to below 1 (19% is \"0.19\")"));
            }
            ok
        });
        rf.finish(p);
        if let (Some(name), Some(country), Some(rate)) = (name, country, rate) {
            let rate = TaxRate { name, country, region, category, rate };
            if rates.iter().any(|r: &TaxRate| {
                (&r.name, &r.country, &r.region, &r.category)
                    == (&rate.name, &rate.country, &rate.region, &rate.category)
            }) {
                p.push(format!("tax.rates[{i}]"), "the same name, country, region and category as an earlier rate");
                continue;
            }
            rates.push(rate);
        }
    }
    TaxTable { rounding, rates }
}
