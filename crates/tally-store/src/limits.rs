//! What a stored value may be, the same for every store: at most 12 decimals and a
//! magnitude below 7.9e16, so that it fits `Decimal(38, 12)` in ClickHouse and reads
//! back into a 96-bit `rust_decimal` at that scale. Checked before any write, so both
//! stores refuse exactly the same events.

use rust_decimal::Decimal;
use tally_domain::UsageEvent;

use crate::StoreError;

/// Decimals kept for every stored value.
pub const DECIMAL_SCALE: u32 = 12;

/// The largest magnitude a stored value may have (exclusive): 7.9e16.
pub const MAX_VALUE: Decimal = Decimal::from_parts(0xd941_8000, 0x0118_aa14, 0, false, 0);

/// Whether the stores hold `value` exactly.
pub fn storable(value: &Decimal) -> bool {
    value.normalize().scale() <= DECIMAL_SCALE && value.abs() < MAX_VALUE
}

/// Refuses an event with a value the stores cannot hold exactly.
pub fn check_event(event: &UsageEvent) -> Result<(), StoreError> {
    for (path, value) in &event.numbers {
        if !storable(value) {
            return Err(StoreError::Unstorable {
                context: format!("event ({}, {}) data.{path}", event.source, event.id),
                message: format!(
                    "{value} cannot be stored exactly: at most {DECIMAL_SCALE} decimals and a magnitude below {MAX_VALUE}"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_seven_point_nine_e16() {
        assert_eq!(MAX_VALUE.to_string(), "79000000000000000");
    }
}
