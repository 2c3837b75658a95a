//! HTTP client for the ONSIM reseller API: bearer auth, a timeout on every
//! call, bounded `Retry-After` retries of 429/503 from the shared kit, and
//! every operation of [`SubscriberLines`].

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use simgate_domain::line::iccid_short_form;
use simgate_domain::{
    ActivationCode, Group, Iccid, InventoryState, Line, LineEsim, LineOffer, LineRef, LineSettings,
    Msisdn, PhoneNumber, Port, PortState, ProviderId, ProvisionLine, ProvisionedLine, Recording,
    SimCard, SimKind, Subscriber, SubscriberFilter,
};

use super::transform::{self, ProvisionRequest};
use super::types::{
    AccountInfo, Catalogue, Cease, ErrorBody, EsimStatus, GenerateQr, GroupList, NumberList,
    PortList, PortLookup, Provisioned, SimList, SubscriberList,
};
use crate::http::auth::Auth;
use crate::http::core::{ProviderHttp, body_excerpt};
use crate::http::{self, RawResponse, RetryPolicy};
use crate::{ConnectorError, SubscriberLines};

/// The body of a call that sends none.
const NO_BODY: Option<&()> = None;

/// How to reach ONSIM. `Debug` shows no key (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct OnsimConfig {
    /// e.g. `https://api.onsimapp.com`; may carry a path prefix.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>` and nowhere else.
    pub api_key: SecretString,
    /// The longest wait for any one call.
    pub timeout: Duration,
}

/// The ONSIM connector: subscriber lines, numbers, SIMs, ports and groups.
pub struct OnsimClient {
    config: OnsimConfig,
    http: ProviderHttp,
}

impl std::fmt::Debug for OnsimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnsimClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

impl OnsimClient {
    /// A client for the given configuration, retrying 429/503 as
    /// [`RetryPolicy::default`] allows; a base URL that cannot be used is
    /// [`ConnectorError::Config`].
    pub fn new(config: OnsimConfig) -> Result<Self, ConnectorError> {
        let http = ProviderHttp::new(
            "ONSIM",
            &config.base_url,
            config.timeout,
            RetryPolicy::default(),
            Auth::Bearer(config.api_key.clone()),
            refusal,
        )?;
        Ok(Self { config, http })
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<RawResponse, ConnectorError> {
        self.http
            .send(method, segments, |request| match body {
                Some(body) => request.json(body),
                None => request,
            })
            .await
    }

    async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, ConnectorError> {
        let raw = self.send(method, segments, body).await?;
        self.http.decode(&raw, segments)
    }

    /// `GET /account/{mpn}` as sent (`account` an array or an object).
    pub async fn account_info(&self, mpn: &Msisdn) -> Result<AccountInfo, ConnectorError> {
        self.json(Method::GET, &["account", mpn.as_str()], NO_BODY)
            .await
    }

    /// `GET /reseller/catalogue` as sent.
    pub async fn catalogue(&self) -> Result<Catalogue, ConnectorError> {
        self.json(Method::GET, &["reseller", "catalogue"], NO_BODY)
            .await
    }
}

/// Maps a refusal. 401/403 mean our key; 404 means the thing asked for;
/// another 4xx with ONSIM's error body keeps its code; 429 and 5xx are
/// classified by the shared kit.
fn refusal(raw: &RawResponse) -> ConnectorError {
    let body = serde_json::from_slice::<ErrorBody>(&raw.body).ok();
    let detail = match &body {
        Some(body) if !body.error.message.is_empty() => body.error.message.clone(),
        Some(body) => body.error.code.clone(),
        None => body_excerpt(&raw.body),
    };
    let code = body.as_ref().map_or("", |b| b.error.code.as_str());
    tracing::warn!(provider = "onsim", status = %raw.status, code, "ONSIM refused a call");
    let status = raw.status.as_u16();
    match raw.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectorError::Unauthorized { status },
        StatusCode::NOT_FOUND => ConnectorError::NotFound(detail),
        StatusCode::TOO_MANY_REQUESTS => http::error_for_status(raw, detail),
        s if s.is_client_error() => match body {
            Some(body) => ConnectorError::Provider {
                status,
                code: body.error.code,
                detail,
            },
            None => ConnectorError::Rejected {
                status,
                message: detail,
            },
        },
        _ => http::error_for_status(raw, detail),
    }
}

/// Reads the QR answer: documented as a bare string, taken as a JSON
/// string or as plain text.
fn qr_url(body: &[u8]) -> Result<String, ConnectorError> {
    let url = serde_json::from_slice::<String>(body)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_owned());
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url)
    } else {
        Err(ConnectorError::InvalidResponse(
            "ONSIM's QR answer is not a URL".to_owned(),
        ))
    }
}

#[async_trait]
impl SubscriberLines for OnsimClient {
    fn provider(&self) -> ProviderId {
        ProviderId::Onsim
    }

    async fn line_catalogue(&self) -> Result<Vec<LineOffer>, ConnectorError> {
        Ok(transform::offers(&self.catalogue().await?.catalogue))
    }

    async fn provision_line(
        &self,
        request: &ProvisionLine,
    ) -> Result<ProvisionedLine, ConnectorError> {
        let answer: Provisioned = match transform::provision_request(request) {
            ProvisionRequest::Own(body) => {
                self.json(Method::POST, &["reseller", "provision"], Some(&body))
                    .await?
            }
            ProvisionRequest::Onsim(body) => {
                self.json(Method::POST, &["reseller", "provision-onsim"], Some(&body))
                    .await?
            }
        };
        Ok(transform::provisioned(request, &answer))
    }

    async fn line(&self, mpn: &Msisdn) -> Result<Line, ConnectorError> {
        transform::line(mpn, self.account_info(mpn).await?)
    }

    async fn line_esim(&self, line: &LineRef, refresh: bool) -> Result<LineEsim, ConnectorError> {
        let query = transform::esim_query(line, refresh);
        let answer: EsimStatus = self
            .json(Method::POST, &["account", "esim"], Some(&query))
            .await?;
        transform::line_esim(&answer)
    }

    async fn provider_qr_url(&self, code: &ActivationCode) -> Result<String, ConnectorError> {
        let body = GenerateQr {
            esim_code: code.to_string(),
        };
        let raw = self
            .send(Method::POST, &["account", "esim", "generate"], Some(&body))
            .await?;
        qr_url(&raw.body)
    }

    async fn change_bundle(&self, mpn: &Msisdn, sku: &str) -> Result<(), ConnectorError> {
        self.send(
            Method::POST,
            &["account", mpn.as_str(), "bundle", sku],
            NO_BODY,
        )
        .await
        .map(drop)
    }

    async fn update_settings(
        &self,
        mpn: &Msisdn,
        settings: &LineSettings,
    ) -> Result<(), ConnectorError> {
        let body = transform::pbx_info(settings);
        self.send(
            Method::POST,
            &["account", "pbxinfo", mpn.as_str()],
            Some(&body),
        )
        .await
        .map(drop)
    }

    async fn set_recording(
        &self,
        mpn: &Msisdn,
        recording: Recording,
    ) -> Result<(), ConnectorError> {
        let body = transform::recording(recording);
        self.send(
            Method::POST,
            &["account", mpn.as_str(), "recording"],
            Some(&body),
        )
        .await
        .map(drop)
    }

    async fn cease(&self, iccid: &Iccid) -> Result<(), ConnectorError> {
        let body = Cease {
            iccid: iccid_short_form(iccid).to_owned(),
        };
        self.send(Method::DELETE, &["account"], Some(&body))
            .await
            .map(drop)
    }

    async fn numbers(&self, state: InventoryState) -> Result<Vec<PhoneNumber>, ConnectorError> {
        let list: NumberList = self
            .json(
                Method::GET,
                &["numbers", transform::inventory_segment(state)],
                NO_BODY,
            )
            .await?;
        Ok(list
            .numbers
            .iter()
            .filter_map(|entry| transform::phone_number(entry, state))
            .collect())
    }

    async fn add_number(&self, mpn: &Msisdn) -> Result<(), ConnectorError> {
        self.send(Method::POST, &["numbers", mpn.as_str()], NO_BODY)
            .await
            .map(drop)
    }

    async fn sims(
        &self,
        state: InventoryState,
        kind: SimKind,
    ) -> Result<Vec<SimCard>, ConnectorError> {
        let segments = [
            "sims",
            transform::inventory_segment(state),
            transform::sim_kind_segment(kind),
        ];
        let list: SimList = self.json(Method::GET, &segments, NO_BODY).await?;
        Ok(list
            .sims
            .iter()
            .filter_map(|entry| transform::sim_card(entry, state))
            .collect())
    }

    async fn ports(&self, state: PortState) -> Result<Vec<Port>, ConnectorError> {
        let segments = ["port", "all", transform::port_state_segment(state)];
        let list: PortList = self.json(Method::GET, &segments, NO_BODY).await?;
        Ok(list.port.into_vec().iter().map(transform::port).collect())
    }

    async fn port(&self, id: &str) -> Result<Port, ConnectorError> {
        let lookup: PortLookup = self.json(Method::GET, &["port", id], NO_BODY).await?;
        Ok(transform::port(&lookup.into_record()))
    }

    async fn groups(&self) -> Result<Vec<Group>, ConnectorError> {
        let list: GroupList = self
            .json(Method::GET, &["reseller", "groups"], NO_BODY)
            .await?;
        Ok(list.groups.iter().map(transform::group).collect())
    }

    async fn add_group(&self, group: &Group) -> Result<(), ConnectorError> {
        let body = transform::group_record(group);
        self.send(Method::POST, &["reseller", "groups"], Some(&body))
            .await
            .map(drop)
    }

    async fn subscribers(
        &self,
        filter: &SubscriberFilter,
    ) -> Result<Vec<Subscriber>, ConnectorError> {
        let query = transform::subscriber_query(filter);
        let list: SubscriberList = self
            .json(Method::POST, &["reseller", "subscribers"], Some(&query))
            .await?;
        Ok(list
            .subscribers
            .iter()
            .filter_map(transform::subscriber)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderMap;

    use super::*;

    fn client(base_url: &str) -> OnsimClient {
        OnsimClient::new(OnsimConfig {
            base_url: base_url.to_owned(),
            api_key: SecretString::from("key-that-must-not-leak".to_owned()),
            timeout: Duration::from_secs(1),
        })
        .unwrap()
    }

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn path_segments_are_percent_encoded_under_any_prefix() {
        let url = client("https://api.onsimapp.com")
            .http
            .url(&["port", "all", "IN PROGRESS"]);
        assert_eq!(
            url.as_str(),
            "https://api.onsimapp.com/port/all/IN%20PROGRESS"
        );
        let url = client("http://127.0.0.1:9/prefix/")
            .http
            .url(&["account", "447777777777"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/account/447777777777"
        );
        let config = |base_url: &str| OnsimConfig {
            base_url: base_url.to_owned(),
            api_key: SecretString::from("key".to_owned()),
            timeout: Duration::from_secs(1),
        };
        for bad in ["not a url", "mailto:ops@example.com"] {
            let error = OnsimClient::new(config(bad)).unwrap_err();
            assert!(matches!(
                error,
                ConnectorError::Config {
                    setting: "base_url",
                    ..
                }
            ));
            assert!(error.nothing_was_processed() && !error.is_transient());
        }
    }

    #[test]
    fn the_key_stays_out_of_debug_output() {
        let client = client("https://api.onsimapp.com");
        assert!(!format!("{client:?}").contains("key-that-must-not-leak"));
        assert!(!format!("{:?}", client.config).contains("key-that-must-not-leak"));
    }

    #[test]
    fn refusals_are_classified() {
        let body = r#"{"error":{"code":"GROUP_EXISTS","message":"Group name already taken"}}"#;
        assert!(matches!(
            refusal(&raw(401, body)),
            ConnectorError::Unauthorized { status: 401 }
        ));
        assert!(matches!(
            refusal(&raw(403, "")),
            ConnectorError::Unauthorized { status: 403 }
        ));
        assert!(matches!(
            refusal(&raw(404, body)),
            ConnectorError::NotFound(detail) if detail == "Group name already taken"
        ));
        assert!(matches!(
            refusal(&raw(409, body)),
            ConnectorError::Provider { status: 409, code, .. } if code == "GROUP_EXISTS"
        ));
        assert!(matches!(
            refusal(&raw(400, "<html>bad gateway config</html>")),
            ConnectorError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            refusal(&raw(429, body)),
            ConnectorError::RateLimited { .. }
        ));
        assert!(matches!(
            refusal(&raw(502, body)),
            ConnectorError::ServerError { status: 502 }
        ));
    }

    #[test]
    fn the_qr_answer_is_a_string_in_either_form() {
        let url = "https://onsimqrcodes.s3.amazonaws.com/UUID.png?X-Amz-Algorithm=XXXXX";
        assert_eq!(qr_url(format!("\"{url}\"").as_bytes()).unwrap(), url);
        assert_eq!(qr_url(format!("{url}\n").as_bytes()).unwrap(), url);
        assert!(qr_url(b"{\"oops\":1}").is_err());
    }
}
