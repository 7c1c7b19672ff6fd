//! The validated catalog types. Invariants listed on each type hold for every value,
//! because the only way to build a [`Catalog`] is the loader in `load.rs`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::ids::{ChargeKey, FeeKey, MeterKey, PlanKey};
use crate::money::Currency;

/// Meters and plans, as loaded from one catalog file.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub(crate) meters: Vec<Meter>,
    pub(crate) plans: Vec<Plan>,
    pub(crate) meter_index: BTreeMap<MeterKey, usize>,
    pub(crate) plan_index: BTreeMap<PlanKey, usize>,
    pub(crate) tax: super::tax::TaxTable,
    pub(crate) accounting: Accounting,
}

impl Catalog {
    /// Meters in file order.
    pub fn meters(&self) -> &[Meter] {
        &self.meters
    }

    /// Plans in file order.
    pub fn plans(&self) -> &[Plan] {
        &self.plans
    }

    /// The meter with this key.
    pub fn meter(&self, key: &str) -> Option<&Meter> {
        self.meter_position(key).map(|i| &self.meters[i])
    }

    /// Where the meter with this key is in [`Catalog::meters`]: a number to group rows by
    /// without comparing the key again.
    pub fn meter_position(&self, key: &str) -> Option<usize> {
        self.meter_index.get(key).copied()
    }

    /// The plan with this key.
    pub fn plan(&self, key: &str) -> Option<&Plan> {
        self.plan_index.get(key).map(|&i| &self.plans[i])
    }

    /// Its tax rates (empty: no tax on any invoice).
    pub fn tax(&self) -> &super::tax::TaxTable {
        &self.tax
    }

    /// How the books name fee or charge `key` of `plan`: each field from the fee's or
    /// charge's `accounting` table, else the plan's, else the catalog's.
    pub fn accounting(&self, plan: &str, key: &str) -> Accounting {
        let Some(plan) = self.plan(plan) else { return self.accounting.clone() };
        let fee = plan.fees.iter().find(|f| f.key.as_str() == key).map(|f| &f.accounting);
        let line = fee.or_else(|| plan.charges.iter().find(|c| c.key.as_str() == key).map(|c| &c.accounting));
        let pick = |get: fn(&Accounting) -> &Option<String>| {
            line.and_then(|l| get(l).clone())
                .or_else(|| get(&plan.accounting).clone())
                .or_else(|| get(&self.accounting).clone())
        };
        Accounting {
            income_account: pick(|a| &a.income_account),
            item: pick(|a| &a.item),
            tax_code: pick(|a| &a.tax_code),
        }
    }

    /// The tax category of fee or charge `key` of `plan` (`None` if neither is there).
    pub fn tax_category(&self, plan: &str, key: &str) -> Option<&str> {
        let plan = self.plan(plan)?;
        let fee = plan.fees.iter().find(|f| f.key.as_str() == key).map(|f| f.tax_category.as_str());
        fee.or_else(|| plan.charges.iter().find(|c| c.key.as_str() == key).map(|c| c.tax_category.as_str()))
    }
}

/// How a meter folds a period's events into one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Aggregation {
    /// Sum of the value.
    Sum,
    /// Number of events; reads no value.
    Count,
    /// Largest value.
    Max,
    /// Smallest value.
    Min,
    /// Number of distinct values.
    UniqueCount,
    /// Value of the event with the latest `time`.
    Latest,
}

impl Aggregation {
    /// Every aggregation with its catalog name.
    pub const ALL: [(Aggregation, &'static str); 6] = [
        (Aggregation::Sum, "sum"),
        (Aggregation::Count, "count"),
        (Aggregation::Max, "max"),
        (Aggregation::Min, "min"),
        (Aggregation::UniqueCount, "unique_count"),
        (Aggregation::Latest, "latest"),
    ];

    /// The name used in catalogs.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(a, _)| *a == self).map_or("sum", |(_, n)| n)
    }
}

/// What is measured: one CloudEvents type, aggregated one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    /// Unique key, `[a-z0-9_]+`.
    pub key: MeterKey,
    /// The CloudEvents `type` this meter reads.
    pub event_type: String,
    /// How events fold into a quantity.
    pub aggregation: Aggregation,
    /// Dotted path into the event's `data`; `None` exactly when `aggregation` is count.
    pub value: Option<String>,
    /// Whether an event of `event_type` without the value is rejected (`true`, the
    /// default) or kept, adding nothing to this meter (`required = false`, for optional
    /// properties such as a pass-through cost).
    pub value_required: bool,
    /// Data properties kept for filters and group_by; unique.
    pub dimensions: Vec<String>,
}

/// Length of a plan's billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    /// One day.
    Day,
    /// Seven days.
    Week,
    /// One calendar month.
    Month,
    /// Three calendar months.
    Quarter,
    /// One calendar year.
    Year,
}

impl Interval {
    /// Every interval with its catalog name.
    pub const ALL: [(Interval, &'static str); 5] = [
        (Interval::Day, "day"),
        (Interval::Week, "week"),
        (Interval::Month, "month"),
        (Interval::Quarter, "quarter"),
        (Interval::Year, "year"),
    ];

    /// The name used in catalogs.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(i, _)| *i == self).map_or("month", |(_, n)| n)
    }
}

/// A plan: fees and usage charges in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Unique key.
    pub key: PlanKey,
    /// Display name, if given.
    pub name: Option<String>,
    /// What the plan is, for people (documents, the console), if given.
    pub description: Option<String>,
    /// Currency of every amount in the plan.
    pub currency: Currency,
    /// Billing period length.
    pub interval: Interval,
    /// If the period's subtotal is lower, a true-up line makes up the difference. Non-negative.
    pub minimum_commitment: Option<Decimal>,
    /// A partial period's minimum commitment is prorated like fees (`minimum *
    /// active / period`); false keeps the whole minimum for any active part.
    pub prorate_minimum_commitment: bool,
    /// Recurring flat fees, billed in advance.
    pub fees: Vec<Fee>,
    /// Usage charges, billed in arrears.
    pub charges: Vec<Charge>,
    /// Its prices include tax (gross, as Japan's consumer prices are): an invoice
    /// takes the tax out of them instead of adding it on top.
    pub tax_inclusive: bool,
    /// What prices the plan, as a short stable hash of its definition (display names
    /// left out): an invoice keeps it, so an old period is never priced again with
    /// prices edited since (new prices are a new plan, moved to at a date).
    pub prices: String,
    /// How the books name its lines, where a fee or charge does not say.
    pub accounting: Accounting,
    /// Which usage rows each charge picks, resolved when the catalog loaded.
    pub(crate) selectors: super::selectors::PlanSelectors,
}

impl Plan {
    /// Which usage rows each charge picks: charges grouped by meter, filters as numbered
    /// slots (see `selectors.rs`).
    pub fn selectors(&self) -> &super::selectors::PlanSelectors {
        &self.selectors
    }
}

/// A recurring flat fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    /// Unique within the plan (among fees and charges).
    pub key: FeeKey,
    /// Amount per full period, non-negative.
    pub amount: Decimal,
    /// Partial periods pay `amount * active / period`.
    pub prorate: bool,
    /// How documents name it.
    pub display: Display,
    /// Which tax rates apply to it (`standard` when not given).
    pub tax_category: String,
    /// How the books name it (fields not set fall back to the plan's, then the catalog's).
    pub accounting: Accounting,
}

/// How the accounting software names what a line bills (the catalog's, a plan's, a
/// fee's or a charge's `accounting` table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounting {
    /// The income (sales) account: Xero's AccountCode, an IIF account, Zoho's Account.
    pub income_account: Option<String>,
    /// The product or service: QuickBooks' Item, Zoho's Item Name.
    pub item: Option<String>,
    /// The tax code or rate name the books use (Xero's TaxType, QuickBooks' tax code).
    pub tax_code: Option<String>,
}

/// How documents name a fee or charge: all optional, for people only (left out of the
/// plan's price fingerprint, so changing a label never counts as changing a price).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Display {
    /// A short name ("GPT-4o input tokens"); documents fall back to the key.
    pub name: Option<String>,
    /// A sentence more, if the name is not enough.
    pub description: Option<String>,
    /// The unit the billable quantity is counted in, after `per` ("1M tokens",
    /// "GPU-hour", "session").
    pub unit: Option<String>,
}

/// A usage charge: a meter, which of its usage, and how it is priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Unique within the plan (among fees and charges).
    pub key: ChargeKey,
    /// The meter it prices; exists in the catalog.
    pub meter: MeterKey,
    /// Only usage whose dimensions equal these; keys are dimensions of the meter.
    pub filter: BTreeMap<String, String>,
    /// One line per distinct combination of these dimensions of the meter; unique.
    pub group_by: Vec<String>,
    /// Free units taken off the quantity before pricing; non-negative (zero when not given).
    pub included: Decimal,
    /// Prices are per this many units; positive (one when not given).
    pub per: Decimal,
    /// Per line and period, applied only when the quantity is positive; non-negative.
    pub minimum: Option<Decimal>,
    /// Per line and period, a cap; non-negative, not below `minimum`.
    pub maximum: Option<Decimal>,
    /// The price model.
    pub price: Price,
    /// How documents name it.
    pub display: Display,
    /// Which tax rates apply to it (`standard` when not given).
    pub tax_category: String,
    /// How the books name it (fields not set fall back to the plan's, then the catalog's).
    pub accounting: Accounting,
}

/// How a billable quantity becomes an amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Price {
    /// `q * unit_price`.
    PerUnit {
        /// Price of one unit (of `per` units).
        unit_price: Decimal,
    },
    /// `ceil(q / size) * package_price`.
    Package {
        /// Units in a package; positive.
        size: Decimal,
        /// Price of one started package.
        package_price: Decimal,
    },
    /// Each tier prices the units inside it, plus its flat price once if any unit falls in it.
    Graduated {
        /// At least one; bounds strictly increasing; only the last is unbounded.
        tiers: Vec<Tier>,
    },
    /// All units at the price of the tier that contains the quantity, plus its flat price.
    Volume {
        /// As for graduated.
        tiers: Vec<Tier>,
    },
    /// The meter's values are a cost carried by the events: `q * multiplier`.
    Dynamic {
        /// Factor on the carried cost; non-negative.
        multiplier: Decimal,
    },
}

impl Price {
    /// The model's catalog name.
    pub fn model_name(&self) -> &'static str {
        match self {
            Price::PerUnit { .. } => "per_unit",
            Price::Package { .. } => "package",
            Price::Graduated { .. } => "graduated",
            Price::Volume { .. } => "volume",
            Price::Dynamic { .. } => "dynamic",
        }
    }
}

/// One tier of a graduated or volume price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Inclusive upper bound, in billable units; `None` only on the last tier.
    pub up_to: Option<Decimal>,
    /// Price per unit inside the tier (zero when not given).
    pub unit_price: Decimal,
    /// Price once when the tier is used (zero when not given).
    pub flat_price: Decimal,
}
