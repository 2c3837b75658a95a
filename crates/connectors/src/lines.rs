//! The interface of providers of subscriber lines (ONSIM): a number, a SIM,
//! services, a data bundle and porting, managed over the line's life.

use async_trait::async_trait;
use simgate_domain::{
    ActivationCode, Group, Iccid, InventoryState, Line, LineEsim, LineOffer, LineRef, LineSettings,
    Msisdn, PhoneNumber, Port, PortState, ProviderId, ProvisionLine, ProvisionedLine, Recording,
    SimCard, SimKind, Subscriber, SubscriberFilter,
};

use crate::ConnectorError;

/// A provider of subscriber lines.
#[async_trait]
pub trait SubscriberLines: Send + Sync {
    /// Which provider this is.
    fn provider(&self) -> ProviderId;

    /// Products (to provision with) and data bundles (to change to).
    async fn line_catalogue(&self) -> Result<Vec<LineOffer>, ConnectorError>;

    /// Provisions a line on the reseller's own UC or on the provider's.
    async fn provision_line(
        &self,
        request: &ProvisionLine,
    ) -> Result<ProvisionedLine, ConnectorError>;

    /// A line's account: SIM, services and bundle usage.
    async fn line(&self, mpn: &Msisdn) -> Result<Line, ConnectorError>;

    /// The line's eSIM activation code and install state; `refresh` asks
    /// for a new code when the eSIM is not installed yet.
    async fn line_esim(&self, line: &LineRef, refresh: bool) -> Result<LineEsim, ConnectorError>;

    /// A URL of a QR image of an activation code, made by the provider.
    async fn provider_qr_url(&self, code: &ActivationCode) -> Result<String, ConnectorError>;

    /// Changes the line's data bundle to the SKU.
    async fn change_bundle(&self, mpn: &Msisdn, sku: &str) -> Result<(), ConnectorError>;

    /// Updates mobile settings (services, SIP, subscriber details).
    async fn update_settings(
        &self,
        mpn: &Msisdn,
        settings: &LineSettings,
    ) -> Result<(), ConnectorError>;

    /// Turns call and SMS recording on or off.
    async fn set_recording(&self, mpn: &Msisdn, recording: Recording)
    -> Result<(), ConnectorError>;

    /// Ceases the SIM and its account, irreversibly.
    async fn cease(&self, iccid: &Iccid) -> Result<(), ConnectorError>;

    /// The reseller's numbers in a state.
    async fn numbers(&self, state: InventoryState) -> Result<Vec<PhoneNumber>, ConnectorError>;

    /// Adds a number to the reseller's inventory.
    async fn add_number(&self, mpn: &Msisdn) -> Result<(), ConnectorError>;

    /// The reseller's SIMs in a state, of a kind.
    async fn sims(
        &self,
        state: InventoryState,
        kind: SimKind,
    ) -> Result<Vec<SimCard>, ConnectorError>;

    /// Number ports in a state.
    async fn ports(&self, state: PortState) -> Result<Vec<Port>, ConnectorError>;

    /// One port by id.
    async fn port(&self, id: &str) -> Result<Port, ConnectorError>;

    /// The reseller's customer groups.
    async fn groups(&self) -> Result<Vec<Group>, ConnectorError>;

    /// Adds a customer group.
    async fn add_group(&self, group: &Group) -> Result<(), ConnectorError>;

    /// The reseller's subscribers matching `filter`.
    async fn subscribers(
        &self,
        filter: &SubscriberFilter,
    ) -> Result<Vec<Subscriber>, ConnectorError>;
}
