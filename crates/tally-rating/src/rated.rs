//! The rating result: priced lines, unrated usage and totals, serialized exactly as the
//! pricing contract's `tally rate` output (decimals as JSON strings, amounts with the
//! currency's minor-unit decimals, quantities without trailing zeros).

use rust_decimal::Decimal;
use std::sync::Arc;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use tally_domain::{Currency, Dimensions, PlanKey, UsageRow};

/// A priced period of one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RatedPeriod {
    /// The plan priced with.
    pub plan: PlanKey,
    /// The plan's currency.
    pub currency: Currency,
    /// Fees (catalog order), usage lines (catalog order, groups sorted), then the true-up.
    pub lines: Vec<Line>,
    /// Usage rows no charge of the plan picked up, added up per meter and dimensions.
    #[serde(serialize_with = "unrated_rows")]
    pub unrated: Vec<UsageRow>,
    /// Sum of the rounded fee and usage lines.
    #[serde(with = "rust_decimal::serde::str")]
    pub subtotal: Decimal,
    /// Subtotal plus the minimum-commitment true-up, if any.
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
}

/// What a line bills for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A recurring fee, billed in advance.
    Fee,
    /// A usage charge, billed in arrears.
    Usage,
    /// The plan's minimum-commitment true-up.
    MinimumCommitment,
}

/// One priced line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The fee or charge key (`minimum_commitment` for the true-up), shared with the
    /// catalog's key (see [`tally_domain::ChargeKey`]).
    pub key: Arc<str>,
    /// What the line bills for.
    pub kind: LineKind,
    /// The usage behind a usage line; `None` for fees and the true-up.
    pub usage: Option<UsageDetail>,
    /// Rounded to the currency's minor unit.
    pub amount: Decimal,
}

/// The quantities behind a usage line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDetail {
    /// The group's values for a `group_by` charge; empty otherwise.
    pub dimensions: Dimensions,
    /// The aggregated quantity of the line.
    pub quantity: Decimal,
    /// After `included` and `per`: what the price model priced.
    pub billable_quantity: Decimal,
    /// Tiers touched, for graduated and volume prices.
    pub tiers: Vec<TierCharge>,
    /// The line's minimum or maximum, when it changed the amount.
    pub bound: Option<Bound>,
}

/// Which bound of a charge set a line's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The price came to less than the charge's `minimum`.
    Minimum,
    /// The price came to more than the charge's `maximum`.
    Maximum,
}

/// The part of a tiered line that fell in one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierCharge {
    /// 1-based position of the tier in the catalog.
    pub tier: usize,
    /// The tier's inclusive upper bound; `None` for the last tier.
    pub up_to: Option<Decimal>,
    /// Billable units priced in this tier.
    pub quantity: Decimal,
    /// The tier's unit price.
    pub unit_price: Decimal,
    /// The tier's flat price (charged once when the tier is used).
    pub flat_price: Decimal,
    /// `quantity * unit_price + flat_price`, exact (not rounded: only the line is).
    pub amount: Decimal,
}

fn text(d: Decimal) -> String {
    d.normalize().to_string()
}

impl Serialize for Line {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("key", &self.key)?;
        map.serialize_entry("kind", &self.kind)?;
        if let Some(usage) = &self.usage {
            map.serialize_entry("dimensions", &usage.dimensions)?;
            map.serialize_entry("quantity", &text(usage.quantity))?;
            map.serialize_entry("billable_quantity", &text(usage.billable_quantity))?;
            map.serialize_entry("amount", &self.amount.to_string())?;
            map.serialize_entry("tiers", &usage.tiers)?;
        } else {
            map.serialize_entry("amount", &self.amount.to_string())?;
        }
        map.end()
    }
}

impl Serialize for TierCharge {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("tier", &self.tier)?;
        map.serialize_entry("up_to", &self.up_to.map(text))?;
        map.serialize_entry("quantity", &text(self.quantity))?;
        map.serialize_entry("unit_price", &text(self.unit_price))?;
        map.serialize_entry("flat_price", &text(self.flat_price))?;
        map.serialize_entry("amount", &text(self.amount))?;
        map.end()
    }
}

/// Read back as written (an invoice keeps its lines' tiers): decimals as text.
impl<'de> serde::Deserialize<'de> for TierCharge {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Written {
            tier: usize,
            #[serde(default, with = "rust_decimal::serde::str_option")]
            up_to: Option<Decimal>,
            #[serde(with = "rust_decimal::serde::str")]
            quantity: Decimal,
            #[serde(with = "rust_decimal::serde::str")]
            unit_price: Decimal,
            #[serde(with = "rust_decimal::serde::str")]
            flat_price: Decimal,
            #[serde(with = "rust_decimal::serde::str")]
            amount: Decimal,
        }
        let w = Written::deserialize(deserializer)?;
        Ok(TierCharge {
            tier: w.tier,
            up_to: w.up_to,
            quantity: w.quantity,
            unit_price: w.unit_price,
            flat_price: w.flat_price,
            amount: w.amount,
        })
    }
}

fn unrated_rows<S: Serializer>(rows: &[UsageRow], serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Row<'a> {
        meter: &'a str,
        dimensions: &'a Dimensions,
        quantity: String,
    }
    serializer.collect_seq(rows.iter().map(|r| Row {
        meter: r.meter.as_str(),
        dimensions: &r.dimensions,
        quantity: text(r.quantity),
    }))
}
