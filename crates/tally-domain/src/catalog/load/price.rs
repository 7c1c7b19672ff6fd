//! A charge's `price` table: the model and its fields, tiers included.

use rust_decimal::Decimal;
use toml::Table;

use super::checks::at_least;
use crate::catalog::model::{Price, Tier};
use crate::catalog::reader::{Fields, Problems};

const PRICE_MODELS: [&str; 5] = ["per_unit", "package", "graduated", "volume", "dynamic"];

/// The price model and its fields; `None` if anything in it is wrong.
pub(super) fn read_price(table: &Table, path: String, p: &mut Problems) -> Option<Price> {
    let before = p.0.len();
    let mut f = Fields::new(table, path);
    let model = f.req_string("model", p);
    let price = match model.as_deref() {
        Some("per_unit") => {
            let unit_price = f.req_decimal("unit_price", p);
            at_least(&f, "unit_price", unit_price, Decimal::ZERO, p);
            unit_price.map(|unit_price| Price::PerUnit { unit_price })
        }
        Some("package") => {
            let size = f.req_decimal("size", p);
            if matches!(size, Some(s) if s <= Decimal::ZERO) {
                p.push(f.at("size"), "must be greater than zero");
            }
            let package_price = f.req_decimal("package_price", p);
            at_least(&f, "package_price", package_price, Decimal::ZERO, p);
            Some(Price::Package { size: size?, package_price: package_price? })
        }
        Some(model @ ("graduated" | "volume")) => {
            let tiers = read_tiers(&mut f, p)?;
            Some(if model == "graduated" { Price::Graduated { tiers } } else { Price::Volume { tiers } })
        }
        Some("dynamic") => {
            let multiplier = f.req_decimal("multiplier", p);
            at_least(&f, "multiplier", multiplier, Decimal::ZERO, p);
            multiplier.map(|multiplier| Price::Dynamic { multiplier })
        }
        Some(other) => {
            p.push(
                f.at("model"),
                format!("unknown price model {other:?}; expected one of: {}", PRICE_MODELS.join(", ")),
            );
            return None;
        }
        None => return None,
    };
    f.finish(p);
    if p.0.len() != before {
        return None;
    }
    price
}

fn read_tiers(f: &mut Fields<'_>, p: &mut Problems) -> Option<Vec<Tier>> {
    let tables = f.req_tables("tiers", p)?;
    if tables.is_empty() {
        p.push(f.at("tiers"), "needs at least one tier");
        return None;
    }
    let before = p.0.len();
    let last = tables.len() - 1;
    let mut tiers = Vec::with_capacity(tables.len());
    let mut previous: Option<Decimal> = None;
    for (i, t) in tables.into_iter().enumerate() {
        let mut tf = Fields::new(t, format!("{}[{i}]", f.at("tiers")));
        let up_to = tf.decimal("up_to", p);
        let unit_price = tf.decimal("unit_price", p);
        let flat_price = tf.decimal("flat_price", p);
        at_least(&tf, "unit_price", unit_price, Decimal::ZERO, p);
        at_least(&tf, "flat_price", flat_price, Decimal::ZERO, p);
        if !t.contains_key("unit_price") && !t.contains_key("flat_price") {
            p.push(tf.path().to_owned(), "a tier needs a unit_price, a flat_price or both");
        }
        match (i == last, up_to) {
            (true, Some(_)) => p.push(
                tf.at("up_to"),
                "the last tier must have no up_to: it prices every unit above the tier before it",
            ),
            (false, None) if !t.contains_key("up_to") => {
                p.push(tf.at("up_to"), "missing: only the last tier may leave up_to out")
            }
            (false, Some(bound)) => {
                if bound <= Decimal::ZERO {
                    p.push(tf.at("up_to"), "must be greater than zero");
                } else if let Some(prev) = previous.filter(|prev| bound <= *prev) {
                    p.push(
                        tf.at("up_to"),
                        format!("{bound} is not above the previous tier's up_to {prev}; bounds must strictly increase"),
                    );
                }
                previous = Some(bound);
            }
            _ => {}
        }
        tf.finish(p);
        tiers.push(Tier {
            up_to,
            unit_price: unit_price.unwrap_or(Decimal::ZERO),
            flat_price: flat_price.unwrap_or(Decimal::ZERO),
        });
    }
    (p.0.len() == before).then_some(tiers)
}
