//! Typed settings: the defaults below, overridden by `APP_`-prefixed environment variables.

use serde::{Deserialize, Serialize};

/// Port the seed tutorial gave the user service.
pub const DEFAULT_PORT: u16 = 5001;

/// Settings of user-service. Each field `x` is overridden by the variable `APP_X`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Address to bind (`APP_HOST`).
    pub host: String,
    /// Port to bind (`APP_PORT`); 0 picks a free port.
    pub port: u16,
    /// Postgres connection URL of this service's own database (`APP_DATABASE_URL`).
    pub database_url: String,
    /// Size of the connection pool (`APP_DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// Seconds to keep retrying the database at start-up (`APP_DATABASE_CONNECT_WAIT_SECS`).
    pub database_connect_wait_secs: u64,
    /// Load the seed's demo users on start-up when they are missing (`APP_DEMO_DATA`).
    pub demo_data: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".to_owned(),
            port: DEFAULT_PORT,
            database_url: "postgres://postgres:postgres@localhost:5432/users".to_owned(),
            database_max_connections: 8,
            database_connect_wait_secs: 30,
            demo_data: true,
        }
    }
}
