//! The blocking client.
