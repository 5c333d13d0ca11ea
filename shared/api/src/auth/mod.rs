//! Authentication: password hashing, token issuing, and the extractor that turns an
//! `Authorization` header into an authenticated user.

pub mod extract;
pub mod passwords;
pub mod tokens;

pub use extract::{Authenticated, Credential};
