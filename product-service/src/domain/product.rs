//! A product's validated fields, and the quantity of a reservation.

/// Longest accepted product name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Highest accepted price: one million currency units, in cents.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;
/// Highest stock a product may hold.
pub const MAX_STOCK: i64 = 1_000_000_000;
/// Most units one reservation may take.
pub const MAX_QUANTITY: i64 = 1_000;

/// A product's id: a positive 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductId(i64);

impl ProductId {
    /// Accepts ids from 1 to `i64::MAX`.
    pub fn parse(raw: i64) -> Result<Self, String> {
        if raw >= 1 {
            Ok(Self(raw))
        } else {
            Err(format!("product id must be a positive integer, got {raw}"))
        }
    }

    /// The id as stored.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A product name: 1 to 200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    /// Trims and validates a name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("name must not be empty".to_owned());
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("name must be at most {MAX_NAME_CHARS} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("name must not contain control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A price in integer cents, 0 to [`MAX_PRICE_CENTS`]. Money is never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceCents(i64);

impl PriceCents {
    /// Accepts 0 to [`MAX_PRICE_CENTS`].
    pub fn parse(raw: i64) -> Result<Self, String> {
        if (0..=MAX_PRICE_CENTS).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(format!(
                "price_cents must be between 0 and {MAX_PRICE_CENTS}, got {raw}"
            ))
        }
    }

    /// The price in cents.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Units in stock, 0 to [`MAX_STOCK`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock(i32);

impl Stock {
    /// Accepts 0 to [`MAX_STOCK`].
    pub fn parse(raw: i64) -> Result<Self, String> {
        match i32::try_from(raw) {
            Ok(n) if (0..=MAX_STOCK).contains(&raw) => Ok(Self(n)),
            _ => Err(format!(
                "stock must be between 0 and {MAX_STOCK}, got {raw}"
            )),
        }
    }

    /// The stock as stored.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// Units to reserve: 1 to [`MAX_QUANTITY`].
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

    /// The quantity as stored.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// A product to be created.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Display name.
    pub name: ProductName,
    /// Unit price.
    pub price: PriceCents,
    /// Initial stock.
    pub stock: Stock,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_is_between_1_and_the_maximum() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(-5).is_err());
        assert!(Quantity::parse(MAX_QUANTITY + 1).is_err());
        assert_eq!(Quantity::parse(3).map(Quantity::get), Ok(3));
    }

    #[test]
    fn prices_and_stock_are_bounded_and_never_negative() {
        assert!(PriceCents::parse(-1).is_err());
        assert!(PriceCents::parse(MAX_PRICE_CENTS + 1).is_err());
        assert!(Stock::parse(-1).is_err());
        assert!(Stock::parse(i64::from(i32::MAX) + 1).is_err());
        assert_eq!(Stock::parse(0).map(Stock::get), Ok(0));
    }

    #[test]
    fn product_names_are_trimmed_and_bounded() {
        assert_eq!(
            ProductName::parse(" Hub ").map(|n| n.0),
            Ok("Hub".to_owned())
        );
        assert!(ProductName::parse("").is_err());
        assert!(ProductName::parse(&"x".repeat(201)).is_err());
    }
}
