//! An order request's validated fields, and exact money arithmetic.

/// Most units one order may take.
pub const MAX_QUANTITY: i64 = 1_000;

/// The id of a user or product held by another service: a positive 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceId(i64);

impl ResourceId {
    /// Accepts ids from 1 to `i64::MAX`; `what` names the field in the error.
    pub fn parse(raw: i64, what: &str) -> Result<Self, String> {
        if raw >= 1 {
            Ok(Self(raw))
        } else {
            Err(format!("{what} must be a positive integer, got {raw}"))
        }
    }

    /// The id.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Units to order: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i32);

impl Quantity {
    /// Accepts 1 to [`MAX_QUANTITY`].
    pub fn parse(raw: i64) -> Result<Self, String> {
        match i32::try_from(raw) {
            Ok(n) if (1..=MAX_QUANTITY).contains(&raw) => Ok(Self(n)),
            _ => Err(format!(
                "quantity must be between 1 and {MAX_QUANTITY}, got {raw}"
            )),
        }
    }

    /// The quantity.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// A valid request to place an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderRequest {
    /// Who orders.
    pub user_id: ResourceId,
    /// What is ordered.
    pub product_id: ResourceId,
    /// How many units.
    pub quantity: Quantity,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Stock reserved and order stored.
    Confirmed,
    /// Cancelled; its stock was released.
    Cancelled,
}

impl OrderStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// `unit_price_cents × quantity`, exactly; `None` if a price is negative or it overflows.
pub fn total_cents(unit_price_cents: i64, quantity: Quantity) -> Option<i64> {
    if unit_price_cents < 0 {
        return None;
    }
    unit_price_cents.checked_mul(i64::from(quantity.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_exact_integer_cents() {
        let three = Quantity::parse(3).unwrap();
        assert_eq!(total_cents(4999, three), Some(14_997));
        assert_eq!(total_cents(i64::MAX, three), None);
        assert_eq!(total_cents(-1, three), None);
    }

    #[test]
    fn quantity_and_ids_are_range_checked() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(-5).is_err());
        assert!(Quantity::parse(MAX_QUANTITY + 1).is_err());
        assert!(ResourceId::parse(0, "user_id").is_err());
        assert_eq!(ResourceId::parse(1, "user_id").map(ResourceId::get), Ok(1));
    }
}
