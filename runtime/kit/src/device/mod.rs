//! Device sessions (flavor `flexible`): long-lived tokens a signed-in user creates for a device
//! (a kiosk, a CLI, a phone widget) that then calls the service with `x-device-session-token`
//! instead of a cookie. They live only in this service's database; only a SHA-256 of the token
//! is stored, so a database dump does not hand out working tokens.

mod owner_status;
mod routes;
mod store;

pub(crate) use owner_status::OwnerStatuses;
pub(crate) use routes::bad_request;
pub use routes::device_session_routes;
pub use store::{
    DeviceIdentity, DeviceSessionInfo, DeviceSessions, NewDeviceSession,
    DEFAULT_DEVICE_SESSION_TTL, MAX_LIVE_PER_USER,
};
