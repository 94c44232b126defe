//! Records the store reads and writes. They serialise (for `tessera export`/`import`):
//! times as RFC 3339, sealed keys as base64; private keys stay sealed in an export.

mod audit;
mod clients;
mod factors;
mod keys;
mod links;
mod refresh;
mod snapshot;
mod sso;
mod users;

pub use audit::*;
pub use clients::*;
pub use factors::*;
pub use keys::*;
pub use links::*;
pub use refresh::*;
pub use snapshot::*;
pub use sso::*;
pub use users::*;

use time::OffsetDateTime;

/// `t` at microsecond precision: what both engines store (PostgreSQL's `timestamptz` keeps
/// microseconds), so a value reads back, exports and imports unchanged.
pub fn stored_time(t: std::time::SystemTime) -> OffsetDateTime {
    let t = OffsetDateTime::from(t);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}
