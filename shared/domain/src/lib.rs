//! DealPulse domain: typed values parsed at the boundary, the entities they form, and the ports
//! (small traits) through which the domain reaches storage, queues, mail and time.
//!
//! Nothing here knows about AWS, SQLite or HTTP; adapters implement the ports.

pub mod account;
pub mod clock;
pub mod ids;
pub mod mail;
pub mod ports;
pub mod queue;
pub mod secret;

pub use account::*;
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::*;
