//! Subscriber lines: provisioned once (written down first, so a lost answer
//! is settled by looking the number up), managed while they live, ceased
//! only on explicit confirmation. Each line belongs to one tenant.

use std::collections::HashSet;
use std::sync::Arc;

use simgate_connectors::{ConnectorError, SubscriberLines};
use simgate_domain::entities::{LineActivation, LineRecord, LineStatus};
use simgate_domain::{
    Capability, Group, Iccid, InventoryState, Line, LineEsim, LineOffer, LineRef, LineSettings,
    Msisdn, PhoneNumber, Port, PortState, ProviderId, ProvisionLine, ProvisionedLine, Recording,
    SimCard, SimKind, Subscriber, SubscriberFilter,
};

use crate::{ServiceError, Services};

impl Services {
    /// The subscriber line provider, the named one or the only one.
    pub fn line_provider(
        &self,
        provider: Option<ProviderId>,
    ) -> Result<Arc<dyn SubscriberLines>, ServiceError> {
        self.connectors
            .lines(provider)
            .ok_or(ServiceError::NoProviderFor(Capability::SubscriberLines))
    }

    /// Provisions a line for a tenant. The number is claimed first, so two
    /// tenants cannot provision the same number and a lost answer is found.
    pub async fn provision_line(
        &self,
        tenant_id: &str,
        provider: Option<ProviderId>,
        request: &ProvisionLine,
    ) -> Result<ProvisionedLine, ServiceError> {
        let connector = self.line_provider(provider)?;
        let provider = connector.provider();
        let Some(claim) = self
            .store
            .claim_line(tenant_id, provider, &request.mpn)
            .await?
        else {
            return Err(ServiceError::LineExists(request.mpn.to_string()));
        };
        match connector.provision_line(request).await {
            Ok(provisioned) => {
                let iccid = provisioned.iccid.as_ref().or(request.iccid.as_ref());
                self.record_line_answer(&claim, iccid).await?;
                tracing::info!(%provider, mpn = %request.mpn, "line provisioned");
                Ok(provisioned)
            }
            Err(error) if error.nothing_was_processed() => {
                self.store
                    .release_line(provider, &request.mpn, claim.fence)
                    .await?;
                Err(ServiceError::upstream(error))
            }
            Err(error) => {
                tracing::warn!(%provider, mpn = %request.mpn, %error, "provisioning outcome unknown; it will be looked up");
                Err(ServiceError::upstream(error))
            }
        }
    }

    /// Records that the provider provisioned a claimed line, for the attempt
    /// the claim was read at; a provisioning that can no longer be the
    /// tenant's line is logged and counted for an operator.
    async fn record_line_answer(
        &self,
        claim: &LineRecord,
        iccid: Option<&Iccid>,
    ) -> Result<LineActivation, ServiceError> {
        let activation = self
            .store
            .activate_line(
                &claim.tenant_id,
                claim.provider,
                &claim.mpn,
                claim.fence,
                iccid,
            )
            .await?;
        match activation {
            LineActivation::Activated { superseded: true } => {
                metrics::counter!("simgate_superseded_answers_total", "kind" => "line")
                    .increment(1);
                tracing::warn!(mpn = %claim.mpn, "recorded the answer of a superseded provisioning attempt");
            }
            LineActivation::Extra => {
                metrics::counter!("simgate_extra_purchases_total", "kind" => "line").increment(1);
                tracing::error!(mpn = %claim.mpn, tenant = %claim.tenant_id, "a superseded attempt provisioned a number that is another line now: recorded, settle it");
            }
            LineActivation::Activated { superseded: false } | LineActivation::Unchanged => {}
        }
        Ok(activation)
    }

    /// The tenant's live line record and the connector of the provider it
    /// was provisioned at, or `LineNotFound` (also for another tenant's
    /// line, which must not be told apart from a missing one). Every call
    /// about a line goes to the provider recorded on it, not to whichever
    /// line provider happens to be configured first.
    async fn owned_line(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
    ) -> Result<(Arc<dyn SubscriberLines>, LineRecord), ServiceError> {
        let providers: Vec<ProviderId> = self.connectors.line_providers().collect();
        if providers.is_empty() {
            return Err(ServiceError::NoProviderFor(Capability::SubscriberLines));
        }
        for provider in providers {
            let owned =
                self.store.line(provider, mpn).await?.filter(|line| {
                    line.tenant_id == tenant_id && line.status == LineStatus::Active
                });
            if let Some(record) = owned {
                return Ok((self.line_provider(Some(record.provider))?, record));
            }
        }
        Err(ServiceError::LineNotFound(mpn.to_string()))
    }

    /// The tenant's lines as simgate knows them.
    pub async fn lines(&self, tenant_id: &str) -> Result<Vec<LineRecord>, ServiceError> {
        Ok(self.store.lines_for_tenant(tenant_id).await?)
    }

    /// A line's live account: SIM, services, bundle and usage.
    pub async fn line(&self, tenant_id: &str, mpn: &Msisdn) -> Result<Line, ServiceError> {
        let (connector, _) = self.owned_line(tenant_id, mpn).await?;
        connector.line(mpn).await.map_err(ServiceError::upstream)
    }

    /// The line's ICCID and eSIM activation code, refreshed if asked and
    /// not installed yet.
    pub async fn line_esim(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
        refresh: bool,
    ) -> Result<(Option<Iccid>, LineEsim), ServiceError> {
        let (connector, record) = self.owned_line(tenant_id, mpn).await?;
        let esim = connector
            .line_esim(&LineRef::Mpn(mpn.clone()), refresh)
            .await
            .map_err(ServiceError::upstream)?;
        Ok((record.iccid, esim))
    }

    /// The URL of a QR image of the line's activation code that the
    /// line's provider hosts (ONSIM's generator), for resellers who link to
    /// it rather than serve simgate's own PNG or SVG.
    pub async fn line_provider_qr(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
    ) -> Result<String, ServiceError> {
        let (connector, _) = self.owned_line(tenant_id, mpn).await?;
        let esim = connector
            .line_esim(&LineRef::Mpn(mpn.clone()), false)
            .await
            .map_err(ServiceError::upstream)?;
        connector
            .provider_qr_url(&esim.activation_code)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Changes the line's settings; a new number moves the line to it.
    pub async fn update_line_settings(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
        settings: &LineSettings,
    ) -> Result<(), ServiceError> {
        let (connector, record) = self.owned_line(tenant_id, mpn).await?;
        connector
            .update_settings(mpn, settings)
            .await
            .map_err(ServiceError::upstream)?;
        if let Some(new_mpn) = settings.mpn.as_ref().filter(|new| *new != mpn) {
            self.store
                .renumber_line(record.provider, mpn, new_mpn)
                .await?;
        }
        Ok(())
    }

    /// Turns call and SMS recording on or off.
    pub async fn set_line_recording(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
        recording: Recording,
    ) -> Result<(), ServiceError> {
        let (connector, _) = self.owned_line(tenant_id, mpn).await?;
        connector
            .set_recording(mpn, recording)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Moves the line to another data bundle.
    pub async fn change_line_bundle(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
        sku: &str,
    ) -> Result<(), ServiceError> {
        let (connector, _) = self.owned_line(tenant_id, mpn).await?;
        connector
            .change_bundle(mpn, sku)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Ceases a line for good. Refused unless the caller confirmed it.
    pub async fn cease_line(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
        confirmed: bool,
    ) -> Result<(), ServiceError> {
        if !confirmed {
            return Err(ServiceError::ConfirmationRequired);
        }
        let (connector, record) = self.owned_line(tenant_id, mpn).await?;
        let iccid = match record.iccid {
            Some(iccid) => iccid,
            None => connector
                .line(mpn)
                .await
                .map_err(ServiceError::upstream)?
                .iccid
                .ok_or_else(|| ServiceError::LineNotFound(mpn.to_string()))?,
        };
        connector
            .cease(&iccid)
            .await
            .map_err(ServiceError::upstream)?;
        self.store
            .set_line_status(record.provider, mpn, LineStatus::Ceased, Some(&iccid))
            .await?;
        tracing::info!(provider = %record.provider, %mpn, "line ceased");
        Ok(())
    }

    /// Settles lines whose provisioning answer was lost: a number the
    /// provider knows is active, one it does not know was never provisioned.
    /// The lines are leased first, so several instances share the work.
    pub async fn settle_lines(&self) -> Result<usize, ServiceError> {
        let claimed = self
            .store
            .claim_lines_to_settle(&self.lease(), self.reconcile_cutoff(), 100)
            .await?;
        let mut settled = 0;
        for record in claimed {
            let Some(connector) = self.connectors.lines(Some(record.provider)) else {
                continue;
            };
            match connector.line(&record.mpn).await {
                Ok(line) => {
                    self.record_line_answer(&record, line.iccid.as_ref())
                        .await?;
                    settled += 1;
                }
                Err(ConnectorError::NotFound(_)) => {
                    if self
                        .store
                        .release_line(record.provider, &record.mpn, record.fence)
                        .await?
                    {
                        settled += 1;
                    }
                }
                Err(error) => {
                    tracing::warn!(mpn = %record.mpn, %error, "could not settle a line yet");
                }
            }
            self.store
                .release_line_lease(record.provider, &record.mpn, record.fence)
                .await?;
        }
        Ok(settled)
    }

    /// Products and bundles lines can have.
    pub async fn line_offers(&self) -> Result<Vec<LineOffer>, ServiceError> {
        self.line_provider(None)?
            .line_catalogue()
            .await
            .map_err(ServiceError::upstream)
    }

    /// The provider account's numbers in a state, as `scope` may see them:
    /// numbers free to provision (`reserved`) are offered to every tenant;
    /// numbers in use only to the tenant whose lines they are.
    pub async fn numbers(
        &self,
        scope: InventoryScope<'_>,
        state: InventoryState,
    ) -> Result<Vec<PhoneNumber>, ServiceError> {
        let connector = self.line_provider(None)?;
        let numbers = connector
            .numbers(state)
            .await
            .map_err(ServiceError::upstream)?;
        if state == InventoryState::Reserved {
            return Ok(numbers);
        }
        let held = self.held_lines(scope, connector.provider()).await?;
        Ok(numbers
            .into_iter()
            .filter(|number| held.holds_number(number.mpn.as_str()))
            .collect())
    }

    /// Adds a number to the provider account (an operator's act).
    pub async fn add_number(&self, mpn: &Msisdn) -> Result<(), ServiceError> {
        self.line_provider(None)?
            .add_number(mpn)
            .await
            .map_err(ServiceError::upstream)
    }

    /// The provider account's SIMs, as `scope` may see them: a tenant sees
    /// the SIMs and eSIMs behind its own lines only.
    pub async fn line_sims(
        &self,
        scope: InventoryScope<'_>,
        state: InventoryState,
        kind: SimKind,
    ) -> Result<Vec<SimCard>, ServiceError> {
        let connector = self.line_provider(None)?;
        let sims = connector
            .sims(state, kind)
            .await
            .map_err(ServiceError::upstream)?;
        let held = self.held_lines(scope, connector.provider()).await?;
        Ok(sims.into_iter().filter(|sim| held.holds_sim(sim)).collect())
    }

    /// Number ports in a state, as `scope` may see them: a tenant sees the
    /// ports of its own lines' numbers.
    pub async fn ports(
        &self,
        scope: InventoryScope<'_>,
        state: PortState,
    ) -> Result<Vec<Port>, ServiceError> {
        let connector = self.line_provider(None)?;
        let ports = connector
            .ports(state)
            .await
            .map_err(ServiceError::upstream)?;
        let held = self.held_lines(scope, connector.provider()).await?;
        Ok(ports
            .into_iter()
            .filter(|port| held.holds_port(port))
            .collect())
    }

    /// One number port; another tenant's port is `PortNotFound`, like a
    /// missing one, so its existence is not disclosed.
    pub async fn port(&self, scope: InventoryScope<'_>, id: &str) -> Result<Port, ServiceError> {
        let connector = self.line_provider(None)?;
        let port = match connector.port(id).await {
            Err(ConnectorError::NotFound(_)) => {
                return Err(ServiceError::PortNotFound(id.to_owned()));
            }
            other => other.map_err(ServiceError::upstream)?,
        };
        let held = self.held_lines(scope, connector.provider()).await?;
        if held.holds_port(&port) {
            Ok(port)
        } else {
            Err(ServiceError::PortNotFound(id.to_owned()))
        }
    }

    /// Customer groups of the provider account (an operator's view).
    pub async fn groups(&self) -> Result<Vec<Group>, ServiceError> {
        self.line_provider(None)?
            .groups()
            .await
            .map_err(ServiceError::upstream)
    }

    /// Adds a customer group, checked against the provider's rules first
    /// (an operator's act).
    pub async fn add_group(&self, group: &Group) -> Result<(), ServiceError> {
        group.validate()?;
        self.line_provider(None)?
            .add_group(group)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Subscribers matching a filter, as `scope` may see them: a tenant sees
    /// the subscribers of its own lines.
    pub async fn subscribers(
        &self,
        scope: InventoryScope<'_>,
        filter: &SubscriberFilter,
    ) -> Result<Vec<Subscriber>, ServiceError> {
        let connector = self.line_provider(None)?;
        let subscribers = connector
            .subscribers(filter)
            .await
            .map_err(ServiceError::upstream)?;
        let held = self.held_lines(scope, connector.provider()).await?;
        Ok(subscribers
            .into_iter()
            .filter(|subscriber| held.holds_number(subscriber.mpn.as_str()))
            .collect())
    }

    /// What `scope` holds at the provider: everything for the operator,
    /// the numbers and SIMs of its own (not ceased) lines for a tenant.
    async fn held_lines(
        &self,
        scope: InventoryScope<'_>,
        provider: ProviderId,
    ) -> Result<HeldLines, ServiceError> {
        let tenant_id = match scope {
            InventoryScope::Operator => return Ok(HeldLines::Everything),
            InventoryScope::Tenant(tenant_id) => tenant_id,
        };
        let lines = self.store.lines_held_by(tenant_id, provider).await?;
        Ok(HeldLines::Only {
            numbers: lines.iter().map(|l| l.mpn.as_str().to_owned()).collect(),
            sims: lines
                .iter()
                .filter_map(|l| l.iccid.as_ref())
                .map(|i| i.as_str().to_owned())
                .collect(),
        })
    }
}

/// Whose view of the line provider's account a caller gets. The account is
/// the operator's; tenants share it, so each sees only its own part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryScope<'a> {
    /// The operator: the whole account, unfiltered.
    Operator,
    /// A tenant (by id): what sits behind its own lines, and the numbers
    /// free to provision.
    Tenant(&'a str),
}

/// The numbers and SIMs a scope may see.
enum HeldLines {
    Everything,
    /// Digits of E.164 numbers and printed ICCIDs of a tenant's lines.
    Only {
        numbers: HashSet<String>,
        sims: HashSet<String>,
    },
}

impl HeldLines {
    /// Whether a number (as the provider wrote it) is one of the lines.
    fn holds_number(&self, number: &str) -> bool {
        match self {
            Self::Everything => true,
            Self::Only { numbers, .. } => {
                Msisdn::parse(number).is_ok_and(|mpn| numbers.contains(mpn.as_str()))
            }
        }
    }

    /// A SIM is a line's when it carries the line's number or ICCID.
    fn holds_sim(&self, sim: &SimCard) -> bool {
        match self {
            Self::Everything => true,
            Self::Only { sims, .. } => {
                sims.contains(sim.iccid.as_str())
                    || sim
                        .mpn
                        .as_ref()
                        .is_some_and(|m| self.holds_number(m.as_str()))
            }
        }
    }

    /// A port is a line's when it moves the line's number, or ports a
    /// number in onto the line.
    fn holds_port(&self, port: &Port) -> bool {
        self.holds_number(&port.number)
            || port
                .port_in_number
                .as_deref()
                .is_some_and(|n| self.holds_number(n))
    }
}
