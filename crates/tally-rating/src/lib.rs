//! Rating.
