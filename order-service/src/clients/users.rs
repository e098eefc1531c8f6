//! Client for user-service: fetch a user.

use reqwest::StatusCode;
use reqwest_middleware::ClientWithMiddleware;
use serde::Deserialize;
use telemetry::CorrelationId;
use tokio::time::Instant;

use super::{CallError, Downstream, read_json, send, unexpected};

/// The remote service's name.
pub const SERVICE: &str = "user-service";

/// The part of user-service's user that order-service uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
}

/// Why a user could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum UserClientError {
    /// user-service has no such user.
    #[error("user {0} does not exist")]
    NotFound(i64),
    /// The call failed.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Calls user-service at a base URL, through its [`Downstream`]'s breaker and bulkhead.
#[derive(Debug, Clone)]
pub struct UserClient {
    base_url: String,
    http: ClientWithMiddleware,
    downstream: Downstream,
}

impl UserClient {
    /// A client for the user-service at `base_url` (no trailing slash needed).
    pub fn new(base_url: &str, downstream: Downstream, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: downstream.client(http),
            downstream,
        }
    }

    /// The remote service's breaker and bulkhead.
    pub fn downstream(&self) -> &Downstream {
        &self.downstream
    }

    /// `GET /users/{id}`, retried on transient failures until `deadline`.
    pub async fn fetch_user(
        &self,
        id: i64,
        correlation_id: &CorrelationId,
        deadline: Instant,
    ) -> Result<User, UserClientError> {
        let request = self.http.get(format!("{}/users/{id}", self.base_url));
        let response = send(&self.downstream, request, correlation_id, deadline).await?;
        match response.status() {
            StatusCode::OK => Ok(read_json(SERVICE, response).await?),
            StatusCode::NOT_FOUND => Err(UserClientError::NotFound(id)),
            _ => Err(unexpected(SERVICE, &response).into()),
        }
    }
}
