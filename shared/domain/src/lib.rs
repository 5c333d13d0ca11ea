//! DealPulse domain: typed values parsed at the boundary, the entities they form, and the ports
//! (small traits) through which the domain reaches storage, queues, mail and time.
//!
//! Nothing here knows about AWS, SQLite or HTTP; adapters implement the ports.

pub mod account;
pub mod analytics;
pub mod billing;
pub mod channels;
pub mod clicks;
pub mod clock;
pub mod counters;
pub mod delivery;
pub mod events;
pub mod geo;
pub mod ids;
pub mod inbound;
pub mod jobs;
pub mod listing;
pub mod mail;
pub mod money;
pub mod net;
pub mod normalize;
pub mod notify;
pub mod plans;
pub mod policy;
pub mod ports;
pub mod preferences;
pub mod preview;
pub mod price_text;
pub mod query;
pub mod queue;
pub mod records;
pub mod reports;
pub mod rules;
pub mod sameness;
pub mod score;
pub mod secret;
pub mod sms;
pub mod sources;
pub mod subscribers;
pub mod unsubscribe;
pub mod vapid;
pub mod watch;

pub use account::*;
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::*;
