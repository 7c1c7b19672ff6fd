//! Billing accounts: customers and their subscriptions to the catalog's plans.
//!
//! A customer bills in one currency and one time zone (its periods start at local
//! midnight). A subscription binds a customer to a plan from a start, optionally to an
//! end, with an anchor date its periods count from. A plan change is a new phase from
//! an instant on: the period it falls into is split, each part rated with its own plan
//! and its fees prorated.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalog::{Catalog, Interval};
use crate::cycle::BillingCycle;
use crate::ids::{CustomerId, PlanKey, SubscriptionId};
use crate::money::Currency;
use crate::period::Period;

mod profile;
pub use profile::{detail_label, BillingProfile, TaxStatus, PROFILE_KEYS};

/// A billing account: the `subject` of its usage events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The events' `subject`.
    pub id: CustomerId,
    /// Legal or display name, printed on invoices.
    pub name: String,
    /// Currency of its invoices; its plans must price in it.
    pub currency: Currency,
    /// IANA time zone its billing periods are computed in, e.g. `Europe/Berlin`.
    #[serde(with = "zone_name")]
    pub timezone: Tz,
    /// Optional details printed on invoices (`email`, `address`, `tax_id`, ...).
    #[serde(default)]
    pub billing_details: BTreeMap<String, String>,
}

/// A customer's subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Chosen by the operator; unique.
    pub id: SubscriptionId,
    /// Who pays.
    pub customer: CustomerId,
    /// First instant billed.
    pub start: DateTime<Utc>,
    /// First instant no longer billed, if it ends.
    pub end: Option<DateTime<Utc>>,
    /// The local date periods count from (in the customer's zone).
    pub anchor: NaiveDate,
    /// Which plan from when: sorted, the first from `start`.
    pub phases: Vec<Phase>,
}

/// From `from` on, the subscription bills with `plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// The plan's key in the catalog.
    pub plan: PlanKey,
    /// When this phase begins.
    pub from: DateTime<Utc>,
}

/// A subscription or customer the catalog cannot bill, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountError {
    /// A field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, e.g. `phases[1].plan`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> AccountError {
    AccountError::Invalid { field: field.into(), message: message.into() }
}

/// How far from today a subscription's dates may be set. A slip of the year (0001,
/// 1970, 3026) would otherwise be accepted and open thousands of immutable invoices at
/// the next invoice run (a start in 1970 issued 99,984 in one run before this check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateHorizon {
    /// How far back a start, a plan change or an end may be dated.
    pub past: TimeDelta,
    /// How far ahead.
    pub future: TimeDelta,
}

/// `value` (named `field`) is not empty and holds no control character: ids and names
/// reach terminals, logs, CSV files and SQL, where an escape or a NUL does harm. Line
/// breaks are allowed where `multiline` (an address).
pub fn check_text(field: &str, value: &str, multiline: bool) -> Result<(), AccountError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "is empty"));
    }
    if let Some(c) = value.chars().find(|&c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) {
        return Err(invalid(field, format!("contains the control character U+{:04X}", u32::from(c))));
    }
    Ok(())
}

impl Customer {
    /// Its id, name and billing details hold text that can be shown safely.
    pub fn validate(&self) -> Result<(), AccountError> {
        check_text("id", self.id.as_str(), false)?;
        check_text("name", &self.name, false)?;
        for (key, value) in &self.billing_details {
            check_text(&format!("billing_details.{key}"), key, false)?;
            if !value.is_empty() {
                check_text(&format!("billing_details.{key}"), value, true)?;
            }
        }
        BillingProfile::of(&self.billing_details)?;
        Ok(())
    }

    /// Its billing profile, from `billing_details` (checked when it was stored).
    pub fn profile(&self) -> Result<BillingProfile, AccountError> {
        BillingProfile::of(&self.billing_details)
    }
}

/// How far an anchor date may lie from the start's local date.
const ANCHOR_SPREAD_DAYS: i64 = 366;

impl DateHorizon {
    /// `at` (named `field`) lies within the horizon around `now`.
    pub fn check(&self, field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), AccountError> {
        let earliest = now.checked_sub_signed(self.past).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let latest = now.checked_add_signed(self.future).unwrap_or(DateTime::<Utc>::MAX_UTC);
        if at < earliest || at > latest {
            return Err(invalid(
                field,
                format!(
                    "{} is outside the accepted range {} to {} (accounts.max_backdate / accounts.max_ahead)",
                    at.to_rfc3339(),
                    earliest.date_naive(),
                    latest.date_naive()
                ),
            ));
        }
        Ok(())
    }
}

impl Subscription {
    /// A subscription to one plan from `start`; its periods count from `anchor`, by
    /// default the start's local date in the customer's time zone.
    pub fn new(
        id: SubscriptionId,
        customer: &Customer,
        plan: PlanKey,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        anchor: Option<NaiveDate>,
    ) -> Subscription {
        Subscription {
            id,
            customer: customer.id.clone(),
            start,
            end,
            anchor: anchor.unwrap_or_else(|| start.with_timezone(&customer.timezone).date_naive()),
            phases: vec![Phase { plan, from: start }],
        }
    }

    /// Bills with `plan` from `at` on: a new phase after every existing one, inside the
    /// term (validate afterwards for the plan itself).
    pub fn change_plan(&mut self, plan: PlanKey, at: DateTime<Utc>) -> Result<(), AccountError> {
        if self.phases.iter().any(|p| p.from >= at) {
            return Err(invalid("at", format!("{at}: the subscription already changes plan at or after that instant")));
        }
        if at < self.start {
            return Err(invalid("at", format!("{at}: before the subscription's start {}", self.start)));
        }
        self.phases.push(Phase { plan, from: at });
        Ok(())
    }

    /// A new subscription's dates: start, end and plan changes within `horizon` of
    /// `now`, and the anchor within a year of the start's local date (`zone`). Changes
    /// to an existing subscription check only the dates they set ([`DateHorizon::check`]).
    pub fn validate_dates(&self, now: DateTime<Utc>, horizon: DateHorizon, zone: Tz) -> Result<(), AccountError> {
        horizon.check("start", self.start, now)?;
        if let Some(end) = self.end {
            horizon.check("end", end, now)?;
        }
        for (i, phase) in self.phases.iter().enumerate().skip(1) {
            horizon.check(&format!("phases[{i}].from"), phase.from, now)?;
        }
        let start_date = self.start.with_timezone(&zone).date_naive();
        if (self.anchor - start_date).num_days().abs() > ANCHOR_SPREAD_DAYS {
            return Err(invalid(
                "anchor",
                format!("{} is more than {ANCHOR_SPREAD_DAYS} days from the start date {start_date}", self.anchor),
            ));
        }
        Ok(())
    }

    /// Checks the subscription against its customer and the catalog: known plans in the
    /// customer's currency, all of one interval, phases in order inside the term.
    pub fn validate(&self, customer: &Customer, catalog: &Catalog) -> Result<(), AccountError> {
        if self.customer != customer.id {
            return Err(invalid("customer", format!("{} is not {}", self.customer, customer.id)));
        }
        check_text("id", self.id.as_str(), false)?;
        if let Some(end) = self.end {
            if end <= self.start {
                return Err(invalid("end", format!("{end} is not after start {}", self.start)));
            }
        }
        let Some(first) = self.phases.first() else {
            return Err(invalid("phases", "a subscription needs a plan"));
        };
        if first.from != self.start {
            return Err(invalid("phases[0].from", format!("{} is not the start {}", first.from, self.start)));
        }
        let mut interval = None;
        for (i, phase) in self.phases.iter().enumerate() {
            let field = |name: &str| format!("phases[{i}].{name}");
            let plan = catalog
                .plan(phase.plan.as_str())
                .ok_or_else(|| invalid(field("plan"), format!("{} is not a plan of the catalog", phase.plan)))?;
            if plan.currency != customer.currency {
                return Err(invalid(
                    field("plan"),
                    format!("{} prices in {}, the customer pays in {}", plan.key, plan.currency, customer.currency),
                ));
            }
            if *interval.get_or_insert(plan.interval) != plan.interval {
                return Err(invalid(
                    field("plan"),
                    format!(
                        "{} bills every {}, the subscription every {}",
                        plan.key,
                        plan.interval.name(),
                        interval.map_or("", |i| i.name())
                    ),
                ));
            }
            if i > 0 && phase.from <= self.phases[i - 1].from {
                return Err(invalid(field("from"), "phases must be in time order"));
            }
            if self.end.is_some_and(|end| phase.from >= end) {
                return Err(invalid(field("from"), "after the subscription's end"));
            }
        }
        Ok(())
    }

    /// The billing cycle: the plans' interval from the anchor, in `zone`.
    pub fn cycle(&self, interval: Interval, zone: Tz) -> BillingCycle {
        BillingCycle::new(interval, self.anchor, zone)
    }

    /// The parts of `period` the subscription is active in, each with its plan, in order.
    pub fn spans(&self, period: &Period) -> Vec<(PlanKey, Period)> {
        let mut spans = Vec::new();
        for (i, phase) in self.phases.iter().enumerate() {
            let until = self.phases.get(i + 1).map(|next| next.from).or(self.end);
            let phase_period = match until {
                Some(until) => Period::new(phase.from, until).ok(),
                None => Period::new(phase.from, DateTime::<Utc>::MAX_UTC).ok(),
            };
            if let Some(span) = phase_period.and_then(|p| p.intersect(period)) {
                spans.push((phase.plan.clone(), span));
            }
        }
        spans
    }
}

/// Serializes a time zone as its IANA name.
mod zone_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(zone: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(zone.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(|_| serde::de::Error::custom(format!("{name:?} is not an IANA time zone")))
    }
}

#[cfg(test)]
mod tests;
