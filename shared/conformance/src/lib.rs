//! The executable contracts of the ports. Each function is one case; the `*_conformance!` macros
//! expand every case into a `#[tokio::test]` for a given adapter fixture, so each adapter runs
//! exactly the same cases.
//!
//! Cases use fresh random ids and addresses, so fixtures may share one backing table or server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod counters;
pub mod deliveries;
pub mod events;
pub mod mail;
pub mod queue;
pub mod records;
pub mod sms;
pub mod sources;
pub mod store;

use std::any::Any;
use std::sync::Arc;

/// An adapter under test plus whatever must stay alive while it is used (temp dir, server).
pub struct Fixture<T: ?Sized> {
    pub port: Arc<T>,
    pub guard: Box<dyn Any + Send>,
}

impl<T: ?Sized> Fixture<T> {
    pub fn new(port: Arc<T>, guard: impl Any + Send) -> Self {
        Self {
            port,
            guard: Box::new(guard),
        }
    }
}
