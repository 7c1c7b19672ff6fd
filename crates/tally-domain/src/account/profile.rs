//! A customer's billing profile: who the invoice is addressed to, where they are (for
//! tax), in what language and how long they have to pay.
//!
//! It is read from the customer's `billing_details`, whose known keys it checks
//! (`legal_name`, `address`, `country`, `region`, `tax_id`, `email`, `locale`,
//! `tax_status`, `payment_terms_days`); any other key is an extra line documents print
//! under its own label (`purchase_order`: "Purchase order"). Keeping the map means a
//! customer stored before profiles existed reads as it always did, with no migration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{invalid, AccountError};
use crate::locale::Locale;

/// How a customer's invoices are taxed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxStatus {
    /// The catalog's rates for its country and region apply.
    #[default]
    Taxable,
    /// No tax (a charity, a government body, a reseller with a certificate).
    Exempt,
    /// An EU business customer in another member state: no VAT charged, the customer
    /// accounts for it (Article 196 of the VAT Directive). Needs a `tax_id`.
    ReverseCharge,
}

impl TaxStatus {
    /// The name `billing_details.tax_status` takes.
    pub fn name(self) -> &'static str {
        match self {
            TaxStatus::Taxable => "taxable",
            TaxStatus::Exempt => "exempt",
            TaxStatus::ReverseCharge => "reverse_charge",
        }
    }
}

/// The known fields of a customer's `billing_details`, checked, and the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingProfile {
    /// The name invoices are addressed to, when it differs from the customer's name.
    pub legal_name: Option<String>,
    /// Postal address, lines separated by line breaks.
    pub address: Option<String>,
    /// ISO 3166-1 alpha-2 country code (`DE`, `JP`, `US`): picks the tax rates.
    pub country: Option<String>,
    /// Region within the country (ISO 3166-2 without the country: `CA`).
    pub region: Option<String>,
    /// VAT or other tax number.
    pub tax_id: Option<String>,
    /// Where invoices go.
    pub email: Option<String>,
    /// The locale documents are written in (numbers, money, dates); `en-US` if none.
    pub locale: Option<Locale>,
    /// Taxable, exempt or reverse charge.
    pub tax_status: TaxStatus,
    /// Days an invoice is due after it is issued, instead of `invoicer.payment_terms`.
    pub payment_terms_days: Option<u32>,
    /// Every other detail, by key, printed as it is.
    pub extra: BTreeMap<String, String>,
}

/// Keys `billing_details` gives a meaning to.
pub const PROFILE_KEYS: [&str; 9] =
    ["legal_name", "address", "country", "region", "tax_id", "email", "locale", "tax_status", "payment_terms_days"];

impl BillingProfile {
    /// Reads `details`; a known key with a value it cannot take is an error naming it
    /// (`billing_details.country: "Germany" is not ...`). Empty values count as absent.
    pub fn of(details: &BTreeMap<String, String>) -> Result<BillingProfile, AccountError> {
        let mut profile = BillingProfile::default();
        for (key, value) in details {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let field = format!("billing_details.{key}");
            let text = Some(value.to_owned());
            match key.as_str() {
                "legal_name" => profile.legal_name = text,
                "address" => profile.address = text,
                "tax_id" => profile.tax_id = text,
                "country" => {
                    if !crate::iso3166::is_country(value) {
                        return Err(invalid(
                            field,
                            format!("{value:?} is not an ISO 3166-1 alpha-2 code (two capital letters: DE, JP, US)"),
                        ));
                    }
                    profile.country = text;
                }
                "region" => {
                    if !crate::iso3166::is_subdivision(value) {
                        return Err(invalid(
                            field,
                            format!("{value:?} is not a subdivision code (ISO 3166-2 without the country: CA, NY, 13)"),
                        ));
                    }
                    profile.region = text;
                }
                "email" => {
                    let ok = value.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                        && !value.chars().any(char::is_whitespace);
                    if !ok {
                        return Err(invalid(field, format!("{value:?} is not an email address")));
                    }
                    profile.email = text;
                }
                "locale" => profile.locale = Some(value.parse().map_err(|e: String| invalid(field, e))?),
                "tax_status" => {
                    profile.tax_status = match value {
                        "taxable" => TaxStatus::Taxable,
                        "exempt" => TaxStatus::Exempt,
                        "reverse_charge" => TaxStatus::ReverseCharge,
                        other => {
                            return Err(invalid(
                                field,
                                format!("unknown tax status {other:?}; expected taxable, exempt or reverse_charge"),
                            ))
                        }
                    }
                }
                "payment_terms_days" => {
                    let days: u32 =
                        value.parse().ok().filter(|d| *d <= 365).ok_or_else(|| {
                            invalid(&field, format!("{value:?} is not a number of days from 0 to 365"))
                        })?;
                    profile.payment_terms_days = Some(days);
                }
                _ => {
                    profile.extra.insert(key.clone(), value.to_owned());
                }
            }
        }
        if profile.tax_status == TaxStatus::ReverseCharge && profile.tax_id.is_none() {
            return Err(invalid("billing_details.tax_id", "a reverse-charge customer needs its VAT number (tax_id)"));
        }
        Ok(profile)
    }

    /// The locale documents use.
    pub fn locale(&self) -> Locale {
        self.locale.unwrap_or_default()
    }
}

/// How a document labels an extra detail: `purchase_order` is "Purchase order".
pub fn detail_label(key: &str) -> String {
    let spaced = key.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}
