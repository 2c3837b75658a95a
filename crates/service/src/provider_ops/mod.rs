//! Operations only one provider has, each provider's in its own module.
//!
//! They stay out of the shared `Connector` trait: the registry hands out
//! every connector behind that trait, and [`simgate_connectors::Connector::extras`]
//! gives back the provider's own client, which the provider's module here
//! downcasts to its concrete type (typed: no operation is dispatched by
//! name). Calls are measured like trait calls
//! ([`simgate_connectors::metered::measured`]), and the same tenant rules
//! apply: an operation on an eSIM first checks that the tenant holds it;
//! operations on simgate's own provider account are for the operator, which
//! the api enforces.

pub mod esim_go;
pub mod telnyx;
