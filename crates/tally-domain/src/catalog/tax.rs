//! Tax rates, as the catalog's `[tax]` table states them: which rate applies to a
//! customer's country (and region) and a line's tax category, and how tax is rounded.
//!
//! Rates live in the catalog beside the prices they apply to, so one reviewed file in
//! git says both what a line costs and what tax it carries. Matching rates with
//! different names stack (Canada's GST and a province's PST); of several with one name
//! the most specific wins (a region's over its country's, a category's over all
//! categories'), so a reduced rate or a state's rate replaces the general one.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How tax amounts are rounded to the currency's minor unit (half away from zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxRounding {
    /// Each line's tax is rounded; a rate's total is the sum of its lines' (Stripe's
    /// default; a line's tax on the page adds up to the total).
    #[default]
    PerLine,
    /// Each rate's tax is rounded once, on the sum of its lines (required for Japan's
    /// qualified invoices: one rounding per rate per invoice).
    PerInvoice,
}

impl TaxRounding {
    /// The name catalogs and invoices use.
    pub fn name(self) -> &'static str {
        match self {
            TaxRounding::PerLine => "per_line",
            TaxRounding::PerInvoice => "per_invoice",
        }
    }
}

/// One tax rate of a jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRate {
    /// What invoices call it ("VAT", "消費税", "Sales tax").
    pub name: String,
    /// ISO 3166-1 alpha-2 country code of customers it applies to.
    pub country: String,
    /// A region of that country (ISO 3166-2 subdivision, without the country: `CA`
    /// for California); `None` for the whole country.
    pub region: Option<String>,
    /// The tax category of lines it applies to; `None` for every category.
    pub category: Option<String>,
    /// The rate, a fraction (`0.19` for 19%), at least 0 and below 1.
    pub rate: Decimal,
}

/// The catalog's tax rates; empty when it has no `[tax]` table (no tax on any invoice).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxTable {
    /// How tax is rounded.
    pub rounding: TaxRounding,
    /// Every rate, in file order.
    pub rates: Vec<TaxRate>,
}

/// The category of a fee or charge that names none.
pub const STANDARD_CATEGORY: &str = "standard";

impl TaxTable {
    /// Whether it has any rate.
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }

    /// The rates a line of `category` carries for a customer in `country` and
    /// `region`, in file order: of each name, the most specific match.
    pub fn rates_for(&self, country: &str, region: Option<&str>, category: &str) -> Vec<&TaxRate> {
        let matches = |r: &&TaxRate| {
            r.country == country
                && r.region.as_deref().is_none_or(|want| Some(want) == region)
                && r.category.as_deref().is_none_or(|want| want == category)
        };
        let specificity = |r: &TaxRate| u8::from(r.region.is_some()) * 2 + u8::from(r.category.is_some());
        let found: Vec<&TaxRate> = self.rates.iter().filter(matches).collect();
        found
            .iter()
            .filter(|r| !found.iter().any(|o| o.name == r.name && specificity(o) > specificity(r)))
            .copied()
            .collect()
    }
}
