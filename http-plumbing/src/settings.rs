//! Typed settings: the service's defaults, overridden by `APP_`-prefixed environment variables.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Loads settings of type `T`: `T::default()`, then every `APP_<FIELD>` variable on top.
///
/// Field names map to variables by upper-casing: `database_url` is `APP_DATABASE_URL`.
/// Numbers and booleans are parsed from the variable's text; a value of the wrong type is an
/// error naming the field, so a typo fails at start-up rather than being ignored.
pub fn load<T: Serialize + DeserializeOwned + Default>() -> Result<T, config::ConfigError> {
    config::Config::builder()
        .add_source(config::Config::try_from(&T::default())?)
        .add_source(
            config::Environment::with_prefix("APP")
                .prefix_separator("_")
                .try_parsing(true),
        )
        .build()?
        .try_deserialize()
}
