//! What each provider module declares about itself, so that the places
//! that handle every provider (the registry build, the settings, the
//! sandboxes, the reconcile cutoff) read it from one table instead of each
//! naming the providers by hand.

use simgate_domain::ProviderId;

/// Which of the three provider traits a provider implements, and so which
/// part of the [`crate::ConnectorRegistry`] it is registered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Sells eSIM bundles: a [`crate::Connector`].
    Esim,
    /// Ships physical SIM cards: a [`crate::SimCardOrders`].
    SimOrders,
    /// Provisions and manages subscriber lines: a [`crate::SubscriberLines`].
    Lines,
}

/// A provider's identity as the rest of simgate needs it: exported by each
/// provider module as `DESCRIPTOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderDescriptor {
    /// The provider this module speaks.
    pub id: ProviderId,
    /// How it is registered.
    pub kind: ProviderKind,
    /// Its name for people, in log lines and banners (`eSIM Go`).
    pub name: &'static str,
    /// Its section of the configuration: `[providers.<section>]`, and
    /// `SIMGATE_PROVIDERS__<SECTION>__…` in the environment.
    pub section: &'static str,
}
