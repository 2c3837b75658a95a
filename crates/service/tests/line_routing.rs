//! Line operations go to the provider recorded on the line, not to the
//! first configured line provider.
//!
//! ONSIM is simgate's only subscriber line provider and `ProviderId` is an
//! enum, so a second one is made honestly from real parts: a second ONSIM
//! sandbox reached by a real `OnsimClient`, registered under another
//! provider id that sorts before ONSIM (and so is "the first configured").
//! Everything else is real: the store (SQLite), the queue, both simulators
//! over HTTP.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use simgate_connectors::onsim::{OnsimClient, OnsimConfig};
use simgate_connectors::{ConnectorError, ConnectorRegistry, SubscriberLines};
use simgate_domain::{
    ActivationCode, Group, Iccid, InventoryState, Line, LineEsim, LineOffer, LineRef, LineSettings,
    LineUc, Msisdn, PhoneNumber, Port, PortState, ProviderId, ProvisionLine, ProvisionedLine,
    Recording, SimCard, SimKind, Subscriber, SubscriberFilter,
};
use simgate_sandbox::onsim::{DEFAULT_API_KEY, OnsimSandbox, OnsimSandboxConfig};
use simgate_sandbox::simulator::SimulatorHandle;
use simgate_service::queue::ApalisQueue;
use simgate_service::{ServiceConfig, Services};
use simgate_store::Store;
use tokio::net::TcpListener;

/// A real ONSIM client answering to another provider id: the second line
/// provider the registry holds.
struct SecondLineProvider {
    id: ProviderId,
    client: OnsimClient,
}

#[async_trait]
impl SubscriberLines for SecondLineProvider {
    fn provider(&self) -> ProviderId {
        self.id
    }
    async fn line_catalogue(&self) -> Result<Vec<LineOffer>, ConnectorError> {
        self.client.line_catalogue().await
    }
    async fn provision_line(
        &self,
        request: &ProvisionLine,
    ) -> Result<ProvisionedLine, ConnectorError> {
        self.client.provision_line(request).await
    }
    async fn line(&self, mpn: &Msisdn) -> Result<Line, ConnectorError> {
        self.client.line(mpn).await
    }
    async fn line_esim(&self, line: &LineRef, refresh: bool) -> Result<LineEsim, ConnectorError> {
        self.client.line_esim(line, refresh).await
    }
    async fn provider_qr_url(&self, code: &ActivationCode) -> Result<String, ConnectorError> {
        self.client.provider_qr_url(code).await
    }
    async fn change_bundle(&self, mpn: &Msisdn, sku: &str) -> Result<(), ConnectorError> {
        self.client.change_bundle(mpn, sku).await
    }
    async fn update_settings(
        &self,
        mpn: &Msisdn,
        settings: &LineSettings,
    ) -> Result<(), ConnectorError> {
        self.client.update_settings(mpn, settings).await
    }
    async fn set_recording(
        &self,
        mpn: &Msisdn,
        recording: Recording,
    ) -> Result<(), ConnectorError> {
        self.client.set_recording(mpn, recording).await
    }
    async fn cease(&self, iccid: &Iccid) -> Result<(), ConnectorError> {
        self.client.cease(iccid).await
    }
    async fn numbers(&self, state: InventoryState) -> Result<Vec<PhoneNumber>, ConnectorError> {
        self.client.numbers(state).await
    }
    async fn add_number(&self, mpn: &Msisdn) -> Result<(), ConnectorError> {
        self.client.add_number(mpn).await
    }
    async fn sims(
        &self,
        state: InventoryState,
        kind: SimKind,
    ) -> Result<Vec<SimCard>, ConnectorError> {
        self.client.sims(state, kind).await
    }
    async fn ports(&self, state: PortState) -> Result<Vec<Port>, ConnectorError> {
        self.client.ports(state).await
    }
    async fn port(&self, id: &str) -> Result<Port, ConnectorError> {
        self.client.port(id).await
    }
    async fn groups(&self) -> Result<Vec<Group>, ConnectorError> {
        self.client.groups().await
    }
    async fn add_group(&self, group: &Group) -> Result<(), ConnectorError> {
        self.client.add_group(group).await
    }
    async fn subscribers(
        &self,
        filter: &SubscriberFilter,
    ) -> Result<Vec<Subscriber>, ConnectorError> {
        self.client.subscribers(filter).await
    }
}

/// An ONSIM sandbox on a random port and a client reaching it.
async fn onsim() -> (SimulatorHandle, OnsimSandbox, OnsimClient) {
    let sandbox = OnsimSandbox::new(OnsimSandboxConfig::default());
    let handle = sandbox
        .spawn(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let client = OnsimClient::new(OnsimConfig {
        base_url: handle.base_url(),
        api_key: DEFAULT_API_KEY.to_owned().into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    (handle, sandbox, client)
}

#[tokio::test]
async fn a_line_is_managed_at_the_provider_it_was_provisioned_at() {
    let (_onsim_handle, _onsim, onsim_client) = onsim().await;
    let (_second_handle, _second, second_client) = onsim().await;
    // The second provider's id sorts first: it is what `line_provider(None)` picks.
    let second_id = ProviderId::EsimGo;
    assert!(second_id < ProviderId::Onsim);
    let mut registry = ConnectorRegistry::new();
    registry.register_lines(Arc::new(onsim_client));
    registry.register_lines(Arc::new(SecondLineProvider {
        id: second_id,
        client: second_client,
    }));
    assert_eq!(
        registry.line_providers().collect::<Vec<_>>(),
        [second_id, ProviderId::Onsim]
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("simgate.db").display());
    let store = Store::connect(&url).await.unwrap();
    let queue = ApalisQueue::connect(&url).await.unwrap();
    let services = Services::new(
        Arc::new(store),
        registry,
        Arc::new(queue),
        ServiceConfig::default(),
    )
    .unwrap();
    assert_eq!(services.line_provider(None).unwrap().provider(), second_id);
    let tenant = services
        .create_tenant("line owner")
        .await
        .unwrap()
        .tenant
        .id;

    // Provisioned explicitly at ONSIM, the provider configured second.
    let onsim_lines = services.line_provider(Some(ProviderId::Onsim)).unwrap();
    let reserved = onsim_lines.numbers(InventoryState::Reserved).await.unwrap();
    let mpn = reserved[0].mpn.clone();
    let provisioned = services
        .provision_line(
            &tenant,
            Some(ProviderId::Onsim),
            &ProvisionLine {
                mpn: mpn.clone(),
                iccid: None,
                uc: LineUc::Own {
                    pbx_user: None,
                    pbx_password: None,
                },
            },
        )
        .await
        .unwrap();
    let iccid = provisioned.iccid.expect("ONSIM names the line's SIM");
    let recorded = services.lines(&tenant).await.unwrap();
    assert_eq!(recorded[0].provider, ProviderId::Onsim);

    // Every later call about the line reaches ONSIM, where it lives.
    let line = services.line(&tenant, &mpn).await.unwrap();
    assert_eq!(line.iccid.as_ref(), Some(&iccid));
    let (esim_iccid, esim) = services.line_esim(&tenant, &mpn, false).await.unwrap();
    assert_eq!(esim_iccid.as_ref(), Some(&iccid));
    let qr = services.line_provider_qr(&tenant, &mpn).await.unwrap();
    assert!(!qr.is_empty(), "a QR URL for {}", esim.activation_code);
    services.cease_line(&tenant, &mpn, true).await.unwrap();
    assert_eq!(
        services.lines(&tenant).await.unwrap()[0].status,
        simgate_store::LineStatus::Ceased
    );
    assert!(matches!(
        services.line(&tenant, &mpn).await,
        Err(simgate_service::ServiceError::LineNotFound(_))
    ));
}
