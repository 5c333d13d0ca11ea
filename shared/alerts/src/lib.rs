//! The alert pipeline, the same in both runtimes: [`matcher::Matcher`] turns catalogue events
//! into alerts and queues their deliveries, [`deliver::Deliverer`] sends each exactly once,
//! [`digest::DigestRun`] gathers what waits for a digest. Storage, queue and transports come
//! in through the domain's ports.

pub mod deliver;
pub mod digest;
pub mod failures;
pub mod feedback;
pub mod matcher;
pub mod model;
pub mod newsletter;
pub mod render;
pub mod targets;
pub mod worker;

/// Knobs of the match step.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Text messages a user gets per day at most.
    pub sms_per_day: u16,
    /// Listings scoring at least this are urgent (worth an SMS or a push).
    pub urgent_score: u8,
    /// Prices shown in an alert's history (sparkline and table).
    pub history_points: usize,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            sms_per_day: 10,
            urgent_score: 90,
            history_points: 12,
        }
    }
}
