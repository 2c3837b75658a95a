//! Subscriber lines: provisioned once (written down first, so a lost answer
//! is settled by looking the number up), managed while they live, ceased
//! only on explicit confirmation. Each line belongs to one tenant.

use std::sync::Arc;

use simgate_connectors::{ConnectorError, SubscriberLines};
use simgate_domain::{
    Capability, Group, Iccid, InventoryState, Line, LineEsim, LineOffer, LineRef, LineSettings,
    Msisdn, PhoneNumber, Port, PortState, ProviderId, ProvisionLine, ProvisionedLine, Recording,
    SimCard, SimKind, Subscriber, SubscriberFilter,
};
use simgate_store::{LineActivation, LineRecord, LineStatus};

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

    /// The tenant's live line record, or `LineNotFound` (also for another
    /// tenant's line, which must not be told apart from a missing one).
    async fn owned_line(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
    ) -> Result<(Arc<dyn SubscriberLines>, LineRecord), ServiceError> {
        let connector = self.line_provider(None)?;
        let record = self
            .store
            .line(connector.provider(), mpn)
            .await?
            .filter(|line| line.tenant_id == tenant_id && line.status == LineStatus::Active)
            .ok_or_else(|| ServiceError::LineNotFound(mpn.to_string()))?;
        Ok((connector, record))
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
    /// provider hosts (ONSIM's generator), for resellers who link to it
    /// rather than serve simgate's own PNG or SVG.
    pub async fn line_provider_qr(
        &self,
        tenant_id: &str,
        mpn: &Msisdn,
    ) -> Result<String, ServiceError> {
        let (_, esim) = self.line_esim(tenant_id, mpn, false).await?;
        self.line_provider(None)?
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

    /// The provider account's numbers in a state.
    pub async fn numbers(&self, state: InventoryState) -> Result<Vec<PhoneNumber>, ServiceError> {
        self.line_provider(None)?
            .numbers(state)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Adds a number to the provider account.
    pub async fn add_number(&self, mpn: &Msisdn) -> Result<(), ServiceError> {
        self.line_provider(None)?
            .add_number(mpn)
            .await
            .map_err(ServiceError::upstream)
    }

    /// The provider account's SIMs.
    pub async fn line_sims(
        &self,
        state: InventoryState,
        kind: SimKind,
    ) -> Result<Vec<SimCard>, ServiceError> {
        self.line_provider(None)?
            .sims(state, kind)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Number ports in a state.
    pub async fn ports(&self, state: PortState) -> Result<Vec<Port>, ServiceError> {
        self.line_provider(None)?
            .ports(state)
            .await
            .map_err(ServiceError::upstream)
    }

    /// One number port.
    pub async fn port(&self, id: &str) -> Result<Port, ServiceError> {
        match self.line_provider(None)?.port(id).await {
            Err(ConnectorError::NotFound(_)) => Err(ServiceError::PortNotFound(id.to_owned())),
            other => other.map_err(ServiceError::upstream),
        }
    }

    /// Customer groups.
    pub async fn groups(&self) -> Result<Vec<Group>, ServiceError> {
        self.line_provider(None)?
            .groups()
            .await
            .map_err(ServiceError::upstream)
    }

    /// Adds a customer group, checked against the provider's rules first.
    pub async fn add_group(&self, group: &Group) -> Result<(), ServiceError> {
        group.validate()?;
        self.line_provider(None)?
            .add_group(group)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Subscribers matching a filter.
    pub async fn subscribers(
        &self,
        filter: &SubscriberFilter,
    ) -> Result<Vec<Subscriber>, ServiceError> {
        self.line_provider(None)?
            .subscribers(filter)
            .await
            .map_err(ServiceError::upstream)
    }
}
