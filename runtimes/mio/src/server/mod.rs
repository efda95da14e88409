//! The event-loop server.
