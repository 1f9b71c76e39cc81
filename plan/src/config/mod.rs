//! The `stackr.config.json` file as the user writes it: serde types (unknown fields rejected), the
//! loader that turns parse errors into located [`ConfigError`]s, and the JSON Schema export.

mod error;
mod load;
mod locate;
mod lone_surrogate;
mod objects_as_arrays;
mod placement;
pub mod printable;
mod schema;
mod schema_at;
mod types;
mod unique_keys;
mod user_fields;

pub use error::{stderr_in_color, ConfigError, JsonPath};
pub use load::{load_config_file, parse_config, project_above_hint, CONFIG_FILE};
pub use locate::{locate, value_range};
pub use placement::{HostConfig, PartsConfig, PlacementConfig, DEFAULT_REPLICA_PORT_START};
pub use schema::{config_schema_json, SCHEMA_FILE};
pub use types::*;
pub use user_fields::{UserFieldConfig, UserFieldType};
