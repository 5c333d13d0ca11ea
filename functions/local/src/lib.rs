//! DealPulse's local runtime: the same routers as the Lambda functions, mounted on one listener,
//! over SQLite and a mail outbox, with background jobs in-process.

pub mod accounts;
pub mod bench_pipeline;
pub mod cli;
pub mod demo;
pub mod demo_shop;
pub mod extract;
pub mod mail_ingest;
pub mod parse_price;
pub mod runtime;
pub mod serve;
pub mod subscribers;
