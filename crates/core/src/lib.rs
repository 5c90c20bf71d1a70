//! Shared types for every Argus layer: the error codes AWS clients understand,
//! the injected clock, ARN construction, and the context each API request
//! carries (account, region, request id).
//!
//! This crate depends on nothing else in Argus and knows nothing about HTTP,
//! protocols or storage. Everything above it may use it.

pub mod arn;
pub mod clock;
pub mod context;
pub mod error;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use context::RequestContext;
pub use error::{ApiError, ErrorCode};
