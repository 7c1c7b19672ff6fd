//! The invoice: what a customer receives for one subscription and one closed period.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_domain::{Currency, CustomerId, Dimensions, Period, PlanKey, SubscriptionId};

/// Where an invoice is in its life (in the domain crate: the store keeps it typed).
pub use tally_domain::InvoiceState;

impl Document {
    /// Its name as stored and exported (`invoice`, `credit_note`).
    pub fn name(self) -> &'static str {
        match self {
            Document::Invoice => "invoice",
            Document::CreditNote => "credit_note",
        }
    }
}

/// What an invoice line bills for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A recurring fee for its service period (in advance, or the first period's).
    Fee,
    /// Usage of the closed period, in arrears.
    Usage,
    /// The plan's minimum-commitment true-up for the closed period.
    MinimumCommitment,
    /// The difference between a period's fees as billed in advance and as they turned
    /// out (a plan change or an end within the period); negative for a credit.
    FeeAdjustment,
    /// Usage that arrived after its period's invoice was issued, billed here.
    LateUsage,
    /// An amount a credit note gives back that is not one of the invoice's lines (a
    /// dispute settled for an amount, a goodwill credit).
    Credit,
}

impl LineKind {
    /// Its name as stored and exported (`fee`, `usage`, `late_usage`, ...).
    pub fn name(self) -> &'static str {
        match self {
            LineKind::Fee => "fee",
            LineKind::Usage => "usage",
            LineKind::MinimumCommitment => "minimum_commitment",
            LineKind::FeeAdjustment => "fee_adjustment",
            LineKind::LateUsage => "late_usage",
            LineKind::Credit => "credit",
        }
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// The fee or charge key (`minimum_commitment` for the true-up).
    pub key: String,
    /// The plan the line was priced with.
    pub plan: PlanKey,
    /// What it bills for.
    pub kind: LineKind,
    /// The time the line covers (the part of a period a plan was active, or the next period for advance fees).
    pub service_period: Period,
    /// The group's values of a `group_by` charge.
    #[serde(default, skip_serializing_if = "Dimensions::is_empty")]
    pub dimensions: Dimensions,
    /// Aggregated usage, for usage lines.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "optional_decimal")]
    pub quantity: Option<Decimal>,
    /// After `included` and `per`: the units priced.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "optional_decimal")]
    pub billable_quantity: Option<Decimal>,
    /// Tiers touched, for tiered prices (as `tally rate` writes them: decimals as text).
    /// Typed rather than JSON values: a month of invoices held for the books is a
    /// tenth smaller, and a tier that cannot be read is an error when read back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<tally_rating::TierCharge>,
    /// Rounded to the currency's minor unit.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// How documents name the line: the catalog's display fields when the invoice was
    /// composed (empty on invoices composed before they existed).
    #[serde(default, skip_serializing_if = "LineLabel::is_empty")]
    pub label: LineLabel,
    /// Its tax, rounded, when the invoice rounds tax per line.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "optional_decimal")]
    pub tax: Option<Decimal>,
    /// The rates it carries: positions in the invoice's `tax.rates`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tax_rates: Vec<usize>,
    /// Its amount includes its tax (a tax-inclusive plan, an amount credited).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tax_inclusive: bool,
}

/// A line's display fields, kept on the invoice so a document says what the catalog
/// said when it was composed, whatever the catalog says later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineLabel {
    /// The fee's or charge's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The unit of the billable quantity ("1M tokens").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The price of one billable unit, for per-unit charges.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "optional_decimal")]
    pub unit_price: Option<Decimal>,
    /// What changed the amount from quantity times price.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<LineNote>,
}

/// Why a line's amount is not simply its quantity times its price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum LineNote {
    /// The plan includes this many units free (of the quantity used).
    Included {
        /// Units taken off.
        #[serde(with = "rust_decimal::serde::str")]
        units: Decimal,
    },
    /// A fee for part of its period.
    Prorated {
        /// Days billed.
        days: i64,
        /// Days of the whole period.
        of: i64,
    },
    /// The charge's minimum per line and period applied.
    Minimum {
        /// The minimum.
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    /// The charge's maximum applied.
    Maximum {
        /// The cap.
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
}

impl LineLabel {
    /// No field set.
    pub fn is_empty(&self) -> bool {
        *self == LineLabel::default()
    }

    /// The label of fee or charge `key` of `plan` in `catalog` (empty if neither is there).
    pub fn of(catalog: &tally_domain::Catalog, plan: &PlanKey, key: &str) -> LineLabel {
        let Some(plan) = catalog.plan(plan.as_str()) else { return LineLabel::default() };
        if let Some(fee) = plan.fees.iter().find(|f| f.key.as_str() == key) {
            let d = &fee.display;
            return LineLabel {
                name: d.name.clone(),
                description: d.description.clone(),
                unit: None,
                unit_price: None,
                notes: Vec::new(),
            };
        }
        let Some(charge) = plan.charges.iter().find(|c| c.key.as_str() == key) else { return LineLabel::default() };
        let d = &charge.display;
        let unit_price = match charge.price {
            tally_domain::Price::PerUnit { unit_price } => Some(unit_price),
            _ => None,
        };
        LineLabel {
            name: d.name.clone(),
            description: d.description.clone(),
            unit: d.unit.clone(),
            unit_price,
            notes: Vec::new(),
        }
    }
}

/// One invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Derived from (subscription, period): closing twice yields the same id.
    pub id: String,
    /// The human number, given at issue (`None` while a draft).
    pub number: Option<String>,
    /// Who pays.
    pub customer: CustomerId,
    /// For which subscription.
    pub subscription: SubscriptionId,
    /// The closed period (usage in arrears).
    pub period: Period,
    /// Currency of every amount.
    pub currency: Currency,
    /// Draft, issued or void.
    pub state: InvoiceState,
    /// Fees, usage, true-ups and corrections, in that order.
    pub lines: Vec<InvoiceLine>,
    /// What the customer pays: the sum of the lines, plus the tax of tax-exclusive
    /// lines (`tax.subtotal + tax.tax`).
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// Its tax, when the catalog has tax rates (`None`: no tax part at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<crate::tax::TaxSummary>,
    /// When it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<DateTime<Utc>>,
    /// When it is due: set at issue from the customer's payment terms or the default
    /// (`None` on drafts, credit notes and invoices issued before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<chrono::NaiveDate>,
    /// Its rate to the reporting currency on its issue day, recorded as it was issued
    /// (`None`: no reporting currency was set then, or a draft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<tally_domain::Exchange>,
    /// An invoice, or a credit note cancelling one.
    #[serde(default)]
    pub document: Document,
    /// For a credit note: the invoice it cancels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<String>,
    /// For a revised invoice: the voided invoice it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revises: Option<String>,
    /// For a credit note: why it was issued (a void, a dispute, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A note for the customer or for the books.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// For a partial credit note of lines: the positions (from 0) of the credited
    /// invoice's lines it gives back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credited_lines: Vec<usize>,
    /// The plans and parts of the period it was composed with (the subscription's
    /// spans then): a later change that makes the subscription say otherwise about
    /// this period makes the invoice stale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<(PlanKey, Period)>,
    /// An invoice of late usage only: events of earlier periods that arrived after the
    /// subscription's last invoice (it had ended), billed on an invoice of their own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late_only: bool,
    /// The prices of each plan it was priced with (`Plan::prices`), so that a period
    /// is never priced again with prices edited since.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub prices: std::collections::BTreeMap<PlanKey, String>,
}

/// What kind of billing document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Document {
    /// An invoice (an original or a revision).
    #[default]
    Invoice,
    /// A credit note: the negation of a voided invoice, or of part of an issued one.
    CreditNote,
}

impl Invoice {
    /// Whether it counts for what was billed: an issued invoice (original or revision),
    /// not a voided one, not a credit note (which only offsets a voided one).
    pub fn counts(&self) -> bool {
        self.state == InvoiceState::Issued && self.document == Document::Invoice
    }

    /// The plans and parts of its period it billed: as composed, or, for an invoice
    /// stored before that was kept, read from its lines (those of the period itself:
    /// usage, first fees, true-ups).
    pub fn billed_spans(&self) -> Vec<(PlanKey, Period)> {
        if !self.spans.is_empty() {
            return self.spans.clone();
        }
        let mut spans: Vec<(PlanKey, Period)> = self
            .lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Usage | LineKind::Fee | LineKind::MinimumCommitment))
            .filter(|l| self.period.start() <= l.service_period.start() && l.service_period.end() <= self.period.end())
            .map(|l| (l.plan.clone(), l.service_period))
            .collect();
        spans.sort_by(|a, b| (a.1.start(), &a.0).cmp(&(b.1.start(), &b.0)));
        spans.dedup();
        spans
    }

    /// Whether this is the credit note of a void (it cancels the whole invoice), not a
    /// partial credit.
    pub fn cancels_whole(&self) -> bool {
        self.document == Document::CreditNote
            && self.credits.as_ref().is_some_and(|id| self.id == format!("{id}/credit"))
    }

    /// An empty invoice of late usage for `period` of a subscription: lines are added
    /// by the caller, then the id (`<period invoice id>/late-<hash of the lines>`).
    pub fn late_shell(customer: &tally_domain::Customer, subscription: &SubscriptionId, period: Period) -> Invoice {
        Invoice {
            id: String::new(),
            number: None,
            customer: customer.id.clone(),
            subscription: subscription.clone(),
            period,
            currency: customer.currency,
            state: InvoiceState::Draft,
            lines: Vec::new(),
            total: Decimal::ZERO,
            tax: None,
            issued_at: None,
            due: None,
            exchange: None,
            document: Document::Invoice,
            credits: None,
            revises: None,
            reason: None,
            memo: Some("Usage of earlier periods that arrived after the last invoice".into()),
            credited_lines: Vec::new(),
            spans: Vec::new(),
            late_only: true,
            prices: Default::default(),
        }
    }

    /// The credit note cancelling this invoice: every line negated, same period.
    pub fn credit_note(&self) -> Invoice {
        let mut note = self.clone();
        note.id = format!("{}/credit", self.id);
        note.number = None;
        note.document = Document::CreditNote;
        note.credits = Some(self.id.clone());
        note.revises = None;
        note.due = None;
        note.exchange = None;
        for line in &mut note.lines {
            line.amount = -line.amount;
            line.quantity = line.quantity.map(|q| -q);
            line.billable_quantity = line.billable_quantity.map(|q| -q);
            line.tax = line.tax.map(|t| -t);
        }
        note.total = -self.total;
        if let Some(tax) = &mut note.tax {
            for rate in &mut tax.rates {
                (rate.base, rate.tax) = (-rate.base, -rate.tax);
            }
            (tax.subtotal, tax.tax) = (-tax.subtotal, -tax.tax);
        }
        note
    }
}

/// The id of the invoice closing `period` of `subscription`: `SUB@START`, the period's
/// start as its UTC instant in milliseconds, so two closers agree without talking.
pub fn invoice_id(subscription: &SubscriptionId, period: &Period) -> String {
    format!("{subscription}@{}", period.start().timestamp_millis())
}

pub(crate) mod optional_decimal {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => serializer.serialize_str(&d.normalize().to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|t| t.parse().map_err(serde::de::Error::custom)).transpose()
    }
}
