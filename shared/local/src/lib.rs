//! Local-mode adapters for the domain ports: everything in one SQLite file and a mail outbox
//! directory, so DealPulse runs on one machine with no cloud account.

pub mod bus;
mod counters;
pub mod db;
mod deliveries;
pub mod mail;
pub mod queue;
mod records;
pub mod sms;
mod sources;
pub mod store;

pub use bus::QueueEventBus;
pub use db::Database;
pub use mail::{OutboxMailer, SmtpMailer};
pub use queue::SqliteQueue;
pub use sms::SmsOutbox;
pub use store::SqliteStore;
