//! The price catalog: meters (what is measured) and plans (how it is priced).
//!
//! A [`Catalog`] only exists validated: [`Catalog::from_toml_str`] and
//! [`Catalog::load`] check every rule of the pricing contract up front and report all
//! problems at once, each naming the file, the plan or charge key and the field, so
//! the rating engine never meets an unknown meter, a tier without a price or a float.

mod error;
mod load;
mod model;
mod reader;
mod selectors;
mod tax;

pub use error::{CatalogError, Problem};
pub use model::{Accounting, Aggregation, Catalog, Charge, Display, Fee, Interval, Meter, Plan, Price, Tier};
pub use selectors::{ChargeSelector, MeterSelector, PlanSelectors};
pub use tax::{TaxRate, TaxRounding, TaxTable, STANDARD_CATEGORY};

#[cfg(test)]
mod tests;
