//! The `limit`/`offset` query convention shared by every list endpoint.

use serde::Deserialize;
use utoipa::IntoParams;

/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 100;
/// Page size when the client names none.
pub const DEFAULT_LIMIT: u32 = 20;

/// Query parameters of a paginated list.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<u32>,
    /// How many items to skip (default 0).
    #[param(minimum = 0, example = 0)]
    pub offset: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items to return.
    pub limit: i64,
    /// Items to skip.
    pub offset: i64,
}

impl PageParams {
    /// Validates the parameters; the error is a message for a 400 response.
    pub fn parse(self) -> Result<Page, String> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            ));
        }
        Ok(Page {
            limit: i64::from(limit),
            offset: i64::from(self.offset.unwrap_or(0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_to_20_and_rejects_zero_and_over_100() {
        let p = PageParams {
            limit: None,
            offset: None,
        }
        .parse();
        assert_eq!(
            p,
            Ok(Page {
                limit: 20,
                offset: 0
            })
        );
        assert!(
            PageParams {
                limit: Some(0),
                offset: None
            }
            .parse()
            .is_err()
        );
        assert!(
            PageParams {
                limit: Some(101),
                offset: None
            }
            .parse()
            .is_err()
        );
    }
}
