//! Sandboxes: a stateful simulator of every upstream provider, speaking the
//! provider's real paths, bodies, error shapes and auth, with fault
//! injection on demand.
//!
//! They live apart from `simgate-connectors` so that the production
//! connectors carry no simulator code, while tests, demos and
//! `simgate serve --sandbox` still get a faithful upstream to talk to. The
//! wire types come from the connectors, so a simulator and the client that
//! talks to it cannot drift apart.
//!
//! One module per provider, each split into `state.rs` (configuration, the
//! in-memory store and the router that serves it) and `routes/` (one file
//! per resource). [`simulator`] holds what they all share: fault injection,
//! the list of what was sold, and serving on a port.

pub mod esim_go;
pub mod esim_story;
pub mod onsim;
pub mod sim_local;
pub mod simulator;
pub mod telnyx;
