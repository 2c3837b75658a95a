//! Mapping between ONSIM's wire types and the subscriber line domain.
//!
//! ONSIM speaks 19-digit ICCIDs (the printed check digit dropped), alpha-3
//! home locations and `ON`/`OFF` switches; simgate speaks printed ICCIDs,
//! alpha-2 countries and booleans. Values nobody documented are kept raw or
//! skipped with a warning, never a panic.

use chrono::NaiveDateTime;
use simgate_domain::line::{iccid_from_short_form, iccid_short_form};
use simgate_domain::{
    ActivationCode, CountryCode, Group, Iccid, InventoryState, Line, LineBundle, LineEsim,
    LineOffer, LineOfferKind, LineRef, LineServices, LineSettings, LineUc, Msisdn, PhoneNumber,
    Port, PortState, ProvisionLine, ProvisionedLine, Recording, SimCard, SimKind, Subscriber,
    SubscriberFilter,
};

use super::types::{
    Account, AccountInfo, CatalogueBody, DataBundle, EsimQuery, EsimStatus, GroupRecord,
    NumberEntry, OFF, ON, PROVISIONED, PbxInfo, PortRecord, ProvisionOnsimUc, ProvisionOwnUc,
    Provisioned, RecordingUpdate, SimEntry, SubscriberEntry, SubscriberQuery, TIME_FORMAT,
};
use crate::ConnectorError;

/// What a [`ProvisionLine`] becomes: the call depends on whose UC it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionRequest {
    /// `POST /reseller/provision`.
    Own(ProvisionOwnUc),
    /// `POST /reseller/provision-onsim`.
    Onsim(ProvisionOnsimUc),
}

/// `ON` or `OFF`.
pub fn on_off(on: bool) -> &'static str {
    if on { ON } else { OFF }
}

/// Reads an `ON`/`OFF` switch (case-insensitive; `Y`, `YES`, `TRUE`, `1`
/// count as on). A missing or unknown value is off.
pub fn is_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_uppercase().as_str(),
            "ON" | "Y" | "YES" | "TRUE" | "1"
        )
    })
}

/// Reads a bundle period time; an unreadable one is no time.
pub fn parse_time(raw: Option<&str>) -> Option<NaiveDateTime> {
    let raw = raw?.trim();
    NaiveDateTime::parse_from_str(raw, TIME_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

/// Writes a bundle period time as ONSIM does.
pub fn format_time(time: NaiveDateTime) -> String {
    time.format(TIME_FORMAT).to_string()
}

/// An amount in `unit` as MB (1 GB = 1024 MB, as ONSIM's `10GB` is 10240).
/// An unknown unit is taken as the documented `megabyte`.
pub fn megabytes(amount: Option<u64>, unit: Option<&str>) -> Option<u64> {
    let amount = amount?;
    let unit = unit.unwrap_or("megabyte").trim().to_ascii_lowercase();
    Some(match unit.as_str() {
        "gigabyte" | "gigabytes" | "gb" => amount.saturating_mul(1024),
        "kilobyte" | "kilobytes" | "kb" => amount / 1024,
        "byte" | "bytes" | "b" => amount / (1024 * 1024),
        _ => amount,
    })
}

/// An ICCID as ONSIM sends it (19 digits, maybe `ONSIM`-prefixed), or
/// `None` with a warning when it is not one.
pub fn iccid(raw: &str) -> Option<Iccid> {
    match iccid_from_short_form(raw) {
        Ok(iccid) => Some(iccid),
        Err(error) => {
            tracing::warn!(provider = "onsim", %error, "ignored an unreadable ICCID");
            None
        }
    }
}

/// The data bundle as the domain's, in MB.
pub fn bundle(data: &DataBundle) -> LineBundle {
    let unit = data.unit.as_deref();
    LineBundle {
        name: data.bundle_name.clone(),
        allowance_mb: megabytes(data.allowance, unit),
        used_mb: megabytes(data.used, unit),
        remaining_mb: megabytes(data.remaining, unit),
        period_from: parse_time(data.period_from.as_deref()),
        period_to: parse_time(data.period_to.as_deref()),
    }
}

/// One account as a line; `requested` stands in for an unreadable `mpn`.
pub fn account_line(account: &Account, requested: &Msisdn) -> Line {
    let services = &account.services;
    Line {
        mpn: Msisdn::parse(&account.mpn).unwrap_or_else(|_| requested.clone()),
        iccid: account.sim.as_deref().and_then(iccid),
        account_id: account.i_account.clone(),
        sip_address: account.sip_address.clone(),
        services: LineServices {
            mobile_data: is_on(services.mobile_data.as_deref()),
            mobile_voice: is_on(services.mobile_voice.as_deref()),
            mobile_messaging: is_on(services.mobile_messaging.as_deref()),
            mobile_hotspot: is_on(services.mobile_hotspot.as_deref()),
        },
        bundle: account.bundles.data.as_ref().map(bundle),
    }
}

/// The line of `mpn` in an account answer (array or object): the entry
/// with that number, else the only one; none at all is `NotFound`.
pub fn line(mpn: &Msisdn, info: AccountInfo) -> Result<Line, ConnectorError> {
    let accounts = info.account.into_vec();
    let account = accounts
        .iter()
        .find(|a| Msisdn::parse(&a.mpn).is_ok_and(|m| m == *mpn))
        .or_else(|| accounts.first())
        .ok_or_else(|| ConnectorError::NotFound(format!("no ONSIM account for {mpn}")))?;
    Ok(account_line(account, mpn))
}

/// The provisioning call for a line: ICCIDs in their 19-digit form, home
/// locations in alpha-3.
pub fn provision_request(request: &ProvisionLine) -> ProvisionRequest {
    let mpn = request.mpn.as_str().to_owned();
    let iccid = request
        .iccid
        .as_ref()
        .map(|iccid| iccid_short_form(iccid).to_owned());
    match &request.uc {
        LineUc::Own {
            pbx_user,
            pbx_password,
        } => ProvisionRequest::Own(ProvisionOwnUc {
            mpn,
            iccid,
            pbx_user: pbx_user.clone(),
            pbx_password: pbx_password.clone(),
        }),
        LineUc::Onsim {
            group_name,
            home_location,
            first_name,
            last_name,
            email,
            product,
            mobile_data,
        } => ProvisionRequest::Onsim(ProvisionOnsimUc {
            mpn,
            iccid,
            group_name: group_name.clone(),
            home_location: home_location.alpha3().to_owned(),
            first_name: first_name.clone(),
            last_name: last_name.clone(),
            email: email.clone(),
            product: *product,
            mobile_data: mobile_data.clone(),
        }),
    }
}

/// What provisioning returned. The SIP username is the `pbx_user` asked
/// for, else the `ONSIM`-prefixed ICCID ONSIM answers with.
pub fn provisioned(request: &ProvisionLine, answer: &Provisioned) -> ProvisionedLine {
    let activation_code = answer
        .esim_code
        .as_deref()
        .filter(|code| !code.trim().is_empty())
        .and_then(|code| match ActivationCode::parse(code) {
            Ok(code) => Some(code),
            Err(error) => {
                tracing::warn!(provider = "onsim", %error, "ignored an unreadable eSIM code");
                None
            }
        });
    let answered = iccid(&answer.iccid);
    let sip_username = match &request.uc {
        LineUc::Own {
            pbx_user: Some(user),
            ..
        } => user.clone(),
        _ if answer.iccid.starts_with("ONSIM") => answer.iccid.clone(),
        _ => format!("ONSIM{}", answer.iccid),
    };
    ProvisionedLine {
        iccid: answered.or_else(|| request.iccid.clone()),
        activation_code,
        sip_username: Some(sip_username),
        pbx_password: answer.pbx_password.clone().filter(|p| !p.is_empty()),
    }
}

/// The `/account/esim` query for a line.
pub fn esim_query(line: &LineRef, refresh: bool) -> EsimQuery {
    let mut query = EsimQuery {
        refresh_code: u8::from(refresh),
        ..EsimQuery::default()
    };
    match line {
        LineRef::Mpn(mpn) => query.mpn = Some(mpn.as_str().to_owned()),
        LineRef::Iccid(iccid) => query.iccid = Some(iccid_short_form(iccid).to_owned()),
        LineRef::Account(id) => query.i_account = Some(id.clone()),
    }
    query
}

/// The eSIM answer; an unreadable activation code is an invalid answer.
pub fn line_esim(answer: &EsimStatus) -> Result<LineEsim, ConnectorError> {
    let activation_code = ActivationCode::parse(&answer.esim_code)
        .map_err(|e| ConnectorError::InvalidResponse(format!("ONSIM eSIM code: {e}")))?;
    let enabled_on_device = answer.enabled_on_device.as_deref().and_then(|flag| {
        match flag.trim().to_ascii_uppercase().as_str() {
            "Y" | "YES" => Some(true),
            "N" | "NO" => Some(false),
            _ => None,
        }
    });
    Ok(LineEsim {
        activation_code,
        status: answer.esim_status.clone(),
        enabled_on_device,
        refresh: answer.refresh_code.clone(),
    })
}

/// Settings as ONSIM's mobile settings; `mobile_sms` is its messaging switch.
pub fn pbx_info(settings: &LineSettings) -> PbxInfo {
    let switch = |on: Option<bool>| on.map(|on| on_off(on).to_owned());
    PbxInfo {
        mpn: settings.mpn.as_ref().map(|m| m.as_str().to_owned()),
        pbx_user: settings.pbx_user.clone(),
        pbx_password: settings.pbx_password.clone(),
        first_name: settings.first_name.clone(),
        last_name: settings.last_name.clone(),
        email: settings.email.clone(),
        mobile_data: switch(settings.mobile_data),
        mobile_voice: switch(settings.mobile_voice),
        mobile_sms: switch(settings.mobile_sms),
        mobile_hotspot: switch(settings.mobile_hotspot),
    }
}

/// Recording switches as `ON`/`OFF`.
pub fn recording(recording: Recording) -> RecordingUpdate {
    RecordingUpdate {
        voice_recording: Some(on_off(recording.voice).to_owned()),
        sms_recording: Some(on_off(recording.sms).to_owned()),
    }
}

/// The path segment of an inventory state.
pub fn inventory_segment(state: InventoryState) -> &'static str {
    match state {
        InventoryState::Active => "ACTIVE",
        InventoryState::Reserved => "RESERVED",
    }
}

/// Reads an inventory state, case-insensitively.
pub fn inventory_state(raw: &str) -> Option<InventoryState> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "ACTIVE" => Some(InventoryState::Active),
        "RESERVED" => Some(InventoryState::Reserved),
        _ => None,
    }
}

/// The path segment of a SIM kind.
pub fn sim_kind_segment(kind: SimKind) -> &'static str {
    match kind {
        SimKind::All => "ALL",
        SimKind::Esim => "eSIM",
        SimKind::Psim => "pSIM",
    }
}

/// Reads a SIM kind (`eSIM`, `pSIM`, `ALL`), case-insensitively.
pub fn sim_kind(raw: &str) -> Option<SimKind> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "ALL" => Some(SimKind::All),
        "ESIM" => Some(SimKind::Esim),
        "PSIM" => Some(SimKind::Psim),
        _ => None,
    }
}

/// The path segment of a port state (`IN PROGRESS` has a space).
pub fn port_state_segment(state: PortState) -> &'static str {
    match state {
        PortState::All => "ALL",
        PortState::Initial => "INITIAL",
        PortState::InProgress => "IN PROGRESS",
        PortState::Failed => "FAILED",
        PortState::Complete => "COMPLETE",
        PortState::Closed => "CLOSED",
    }
}

/// Reads a port's status; `None` for one nobody documented (and for
/// `ALL`, which filters but is no state of a port).
pub fn port_state(raw: &str) -> Option<PortState> {
    let normalised = raw.trim().to_ascii_uppercase().replace(['_', '-'], " ");
    match normalised.as_str() {
        "INITIAL" => Some(PortState::Initial),
        "IN PROGRESS" | "INPROGRESS" => Some(PortState::InProgress),
        "FAILED" => Some(PortState::Failed),
        "COMPLETE" | "COMPLETED" => Some(PortState::Complete),
        "CLOSED" => Some(PortState::Closed),
        _ => None,
    }
}

/// A port as the domain's; its raw status is kept whatever it is.
pub fn port(record: &PortRecord) -> Port {
    Port {
        id: record.tr_id.clone(),
        number: record.number.clone(),
        state: port_state(&record.status),
        provider_status: record.status.clone(),
        direction: record.kind.clone().unwrap_or_default(),
        pac: record.pac.clone(),
        port_in_number: record.portin_number.clone(),
        order_date: record.order_date.clone(),
        port_date: record.portin_date.clone(),
        valid_until: record.valid_until.clone(),
        updated: record.updated_date.clone(),
    }
}

/// A number of a list asked for in `requested`; `None` (with a warning) when
/// it is not a number.
pub fn phone_number(entry: &NumberEntry, requested: InventoryState) -> Option<PhoneNumber> {
    let Ok(mpn) = Msisdn::parse(&entry.mpn) else {
        tracing::warn!(provider = "onsim", mpn = %entry.mpn, "ignored an unreadable number");
        return None;
    };
    Some(PhoneNumber {
        mpn,
        state: entry
            .state
            .as_deref()
            .and_then(inventory_state)
            .unwrap_or(requested),
    })
}

/// A SIM of a list asked for in `requested`, with its printed ICCID; `None`
/// (with a warning) when its ICCID or kind cannot be read.
pub fn sim_card(entry: &SimEntry, requested: InventoryState) -> Option<SimCard> {
    let iccid = iccid(&entry.iccid)?;
    let Some(kind @ (SimKind::Esim | SimKind::Psim)) = sim_kind(&entry.kind) else {
        tracing::warn!(provider = "onsim", kind = %entry.kind, "ignored a SIM of unknown type");
        return None;
    };
    Some(SimCard {
        iccid,
        kind,
        state: entry
            .state
            .as_deref()
            .and_then(inventory_state)
            .unwrap_or(requested),
        mpn: entry.mpn.as_deref().and_then(|m| Msisdn::parse(m).ok()),
    })
}

/// A group as the domain's; home locations unknown to ISO are skipped.
pub fn group(record: &GroupRecord) -> Group {
    let home_locations = record
        .home_location
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .filter_map(|code| {
            if let Ok(country) = CountryCode::from_alpha3(code) {
                Some(country)
            } else {
                tracing::warn!(provider = "onsim", %code, "ignored an unknown home location");
                None
            }
        })
        .collect();
    Group {
        name: record.name.clone(),
        home_locations,
        address_line_1: record.address_line_1.clone(),
        address_line_2: record.address_line_2.clone(),
        city: record.city.clone(),
        country: record.country.clone(),
        post_code: record.post_code.clone(),
        description: record.description.clone(),
    }
}

/// A group as ONSIM takes it: home locations comma-separated in alpha-3.
pub fn group_record(group: &Group) -> GroupRecord {
    let home_location = group
        .home_locations
        .iter()
        .map(CountryCode::alpha3)
        .collect::<Vec<_>>()
        .join(",");
    GroupRecord {
        name: group.name.clone(),
        address_line_1: group.address_line_1.clone(),
        address_line_2: group.address_line_2.clone(),
        city: group.city.clone(),
        country: group.country.clone(),
        post_code: group.post_code.clone(),
        home_location: Some(home_location),
        description: group.description.clone(),
    }
}

/// The subscriber query: `state` defaults to `PROVISIONED`, the only
/// documented value (one copy of the reference calls it required).
pub fn subscriber_query(filter: &SubscriberFilter) -> SubscriberQuery {
    SubscriberQuery {
        state: Some(
            filter
                .state
                .clone()
                .unwrap_or_else(|| PROVISIONED.to_owned()),
        ),
        is_recorded: filter.is_recorded,
        group: filter.group.clone(),
    }
}

/// A subscriber as the domain's; `None` (with a warning) without a readable number.
pub fn subscriber(entry: &SubscriberEntry) -> Option<Subscriber> {
    let Ok(mpn) = Msisdn::parse(&entry.mpn) else {
        tracing::warn!(provider = "onsim", mpn = %entry.mpn, "ignored a subscriber without a number");
        return None;
    };
    Some(Subscriber {
        mpn,
        iccid: entry.iccid.as_deref().and_then(iccid),
        state: entry.state.clone(),
        group: entry.group.clone(),
        is_recorded: entry.is_recorded,
    })
}

/// Products (by id, to provision with) then bundles (by SKU, to change to).
pub fn offers(catalogue: &CatalogueBody) -> Vec<LineOffer> {
    let products = catalogue.products.iter().map(|product| LineOffer {
        id: product.id.to_string(),
        name: product.name.clone(),
        kind: LineOfferKind::Product,
        data_mb: None,
    });
    let bundles = catalogue.bundles.iter().map(|bundle| LineOffer {
        id: bundle.sku.clone(),
        name: bundle.name.clone(),
        kind: LineOfferKind::Bundle,
        data_mb: megabytes(bundle.allowance, bundle.unit.as_deref()),
    });
    products.chain(bundles).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onsim::types::{PortList, PortLookup};

    const ACCOUNT: &str = r#"{"sim":"8944530000000012345","i_account":"123456","mpn":"447777777777",
        "sip_address":"ONSIM8944530000000012345@sip.onsimapp.com",
        "services":{"mobile_data":"ON","mobile_hotspot":"OFF","mobile_messaging":"ON","mobile_voice":"ON"},
        "bundles":{"data":{"bundle_name":"10GB","allowance":10240,"used":240,"remaining":10000,
        "unit":"megabyte","period_from":"2024-01-01 00:00:00","period_to":"2024-02-01 00:00:00"}}}"#;

    fn mpn() -> Msisdn {
        Msisdn::parse("447777777777").unwrap()
    }

    #[test]
    fn reads_the_documented_account_as_an_array() {
        let info: AccountInfo =
            serde_json::from_str(&format!(r#"{{"account":[{ACCOUNT}]}}"#)).unwrap();
        let line = line(&mpn(), info).unwrap();
        assert_eq!(line.mpn, mpn());
        assert_eq!(
            line.iccid,
            Some(Iccid::with_check_digit("8944530000000012345").unwrap())
        );
        assert_eq!(line.account_id.as_deref(), Some("123456"));
        assert_eq!(
            line.services,
            LineServices {
                mobile_data: true,
                mobile_voice: true,
                mobile_messaging: true,
                mobile_hotspot: false,
            }
        );
        let bundle = line.bundle.unwrap();
        assert_eq!(bundle.name, "10GB");
        assert_eq!(
            (bundle.allowance_mb, bundle.used_mb, bundle.remaining_mb),
            (Some(10240), Some(240), Some(10000))
        );
        assert_eq!(
            format_time(bundle.period_from.unwrap()),
            "2024-01-01 00:00:00"
        );
        assert_eq!(
            format_time(bundle.period_to.unwrap()),
            "2024-02-01 00:00:00"
        );
    }

    #[test]
    fn reads_the_account_shown_as_an_object_too() {
        let info: AccountInfo =
            serde_json::from_str(&format!(r#"{{"account":{ACCOUNT}}}"#)).unwrap();
        let as_object = line(&mpn(), info).unwrap();
        let info: AccountInfo =
            serde_json::from_str(&format!(r#"{{"account":[{ACCOUNT}]}}"#)).unwrap();
        assert_eq!(as_object, line(&mpn(), info).unwrap());
    }

    #[test]
    fn an_empty_account_list_is_not_found_and_odd_values_do_not_fail() {
        let empty: AccountInfo = serde_json::from_str(r#"{"account":[]}"#).unwrap();
        assert!(matches!(
            line(&mpn(), empty),
            Err(ConnectorError::NotFound(_))
        ));
        let odd: AccountInfo = serde_json::from_str(
            r#"{"account":{"sim":"not an iccid","i_account":42,"mpn":"447777777777",
            "services":{"mobile_data":"on"},
            "bundles":{"data":{"bundle_name":"UNLIMITED","allowance":"unlimited","used":"12",
            "unit":"gigabyte","period_from":"yesterday"}}}}"#,
        )
        .unwrap();
        let line = line(&mpn(), odd).unwrap();
        assert_eq!(line.iccid, None);
        assert_eq!(line.account_id.as_deref(), Some("42"));
        assert!(line.services.mobile_data && !line.services.mobile_voice);
        let bundle = line.bundle.unwrap();
        assert_eq!(
            (bundle.allowance_mb, bundle.used_mb),
            (None, Some(12 * 1024))
        );
        assert_eq!(bundle.period_from, None);
    }

    #[test]
    fn provisioning_sends_short_iccids_and_alpha3_locations() {
        let printed = Iccid::with_check_digit("8944530000000012345").unwrap();
        let request = ProvisionLine {
            mpn: mpn(),
            iccid: Some(printed.clone()),
            uc: LineUc::Onsim {
                group_name: "CUSTOMER_A".into(),
                home_location: CountryCode::parse("GB").unwrap(),
                first_name: "John".into(),
                last_name: "Smith".into(),
                email: "j.smith@example.com".into(),
                product: 18,
                mobile_data: "2GB".into(),
            },
        };
        let ProvisionRequest::Onsim(body) = provision_request(&request) else {
            panic!("ONSIM UC goes to provision-onsim");
        };
        assert_eq!(body.iccid.as_deref(), Some("8944530000000012345"));
        assert_eq!(body.home_location, "GBR");
        let answer = Provisioned {
            esim_code: Some("LPA:1$smdp.example$ABC".into()),
            iccid: "ONSIM8944530000000012345".into(),
            pbx_password: Some("1a2B3c4D".into()),
        };
        let provisioned = provisioned(&request, &answer);
        assert_eq!(provisioned.iccid, Some(printed));
        assert_eq!(
            provisioned.sip_username.as_deref(),
            Some("ONSIM8944530000000012345")
        );
        assert_eq!(provisioned.activation_code.unwrap().matching_id, "ABC");
        assert!(!format!("{answer:?}").contains("1a2B3c4D"));
    }

    #[test]
    fn own_uc_keeps_the_pbx_user_and_redacts_the_password() {
        let request = ProvisionLine {
            mpn: mpn(),
            iccid: None,
            uc: LineUc::Own {
                pbx_user: Some("USER12345".into()),
                pbx_password: Some("hunter2".into()),
            },
        };
        let ProvisionRequest::Own(body) = provision_request(&request) else {
            panic!("own UC goes to provision");
        };
        assert_eq!(body.iccid, None);
        assert!(!format!("{body:?}").contains("hunter2"));
        let answer = Provisioned {
            esim_code: None,
            iccid: "ONSIM8944530000000012345".into(),
            pbx_password: Some("hunter2".into()),
        };
        let provisioned = provisioned(&request, &answer);
        assert_eq!(provisioned.sip_username.as_deref(), Some("USER12345"));
        assert_eq!(provisioned.activation_code, None);
    }

    #[test]
    fn esim_answers_and_queries_map_both_ways() {
        let printed = Iccid::with_check_digit("8944444444444444444").unwrap();
        let query = esim_query(&LineRef::Iccid(printed), true);
        assert_eq!(query.iccid.as_deref(), Some("8944444444444444444"));
        assert_eq!(query.refresh_code, 1);
        let answer: EsimStatus = serde_json::from_str(
            r#"{"esim_code":"LPA:1$smdp.example$XYZ","esim_status":"installed",
            "enabled_on_device":"Y","refresh_code":"error"}"#,
        )
        .unwrap();
        let esim = line_esim(&answer).unwrap();
        assert_eq!(esim.enabled_on_device, Some(true));
        assert_eq!(esim.refresh.as_deref(), Some("error"));
        let bad = EsimStatus {
            esim_code: "LPA:XXXX".into(),
            ..answer
        };
        assert!(matches!(
            line_esim(&bad),
            Err(ConnectorError::InvalidResponse(_))
        ));
    }

    #[test]
    fn ports_keep_unknown_statuses_raw() {
        let list: PortList = serde_json::from_str(
            r#"{"portQueue":[{"trID":"1","number":"447777777771","orderDate":"2025-01-01",
            "PAC":"ABC12345","portinDate":"2025-01-02","portinNumber":"447777777772","resellerId":1,
            "status":"IN PROGRESS","type":"PORT-IN","updatedDate":"Jan 2, 2025 1:20:30 PM"},
            {"trID":2,"number":"447777777773","status":"ON HOLD"}]}"#,
        )
        .unwrap();
        let ports: Vec<Port> = list.port.into_vec().iter().map(port).collect();
        assert_eq!(ports[0].state, Some(PortState::InProgress));
        assert_eq!(ports[0].pac.as_deref(), Some("ABC12345"));
        assert_eq!(ports[0].direction, "PORT-IN");
        assert_eq!(ports[1].id, "2");
        assert_eq!(ports[1].state, None);
        assert_eq!(ports[1].provider_status, "ON HOLD");
        let bare: PortLookup = serde_json::from_str(
            r#"{"trID":"1","number":"447777777771","status":"COMPLETE","validUntil":"2025-01-30"}"#,
        )
        .unwrap();
        let wrapped: PortLookup = serde_json::from_str(
            r#"{"port":{"trID":"1","number":"447777777771","status":"COMPLETE","validUntil":"2025-01-30"}}"#,
        )
        .unwrap();
        assert_eq!(bare.into_record(), wrapped.into_record());
        for state in [
            PortState::Initial,
            PortState::InProgress,
            PortState::Failed,
            PortState::Complete,
            PortState::Closed,
        ] {
            assert_eq!(port_state(port_state_segment(state)), Some(state));
        }
        assert_eq!(port_state("ALL"), None);
    }

    #[test]
    fn groups_speak_alpha3_upstream() {
        let group = Group {
            name: "CUSTOMER_A".into(),
            home_locations: vec![
                CountryCode::parse("GB").unwrap(),
                CountryCode::parse("US").unwrap(),
            ],
            address_line_1: Some("Example Building".into()),
            address_line_2: None,
            city: None,
            country: None,
            post_code: None,
            description: None,
        };
        let record = group_record(&group);
        assert_eq!(record.home_location.as_deref(), Some("GBR,USA"));
        assert_eq!(super::group(&record), group);
        let odd = GroupRecord {
            home_location: Some("GBR, XXX".into()),
            ..record
        };
        assert_eq!(super::group(&odd).home_locations.len(), 1);
    }

    #[test]
    fn inventory_and_subscribers_skip_what_they_cannot_read() {
        let number = NumberEntry {
            mpn: "447700900100".into(),
            state: None,
        };
        assert_eq!(
            phone_number(&number, InventoryState::Reserved)
                .unwrap()
                .state,
            InventoryState::Reserved
        );
        let bad = NumberEntry {
            mpn: "07700".into(),
            state: Some("ACTIVE".into()),
        };
        assert_eq!(phone_number(&bad, InventoryState::Active), None);
        let sim = SimEntry {
            iccid: "8944530000000012345".into(),
            kind: "pSIM".into(),
            state: Some("ACTIVE".into()),
            mpn: Some("447777777777".into()),
        };
        let card = sim_card(&sim, InventoryState::Active).unwrap();
        assert_eq!(card.kind, SimKind::Psim);
        assert_eq!(card.iccid.as_str().len(), 20);
        let unknown_kind = SimEntry {
            kind: "iSIM".into(),
            ..sim
        };
        assert_eq!(sim_card(&unknown_kind, InventoryState::Active), None);
        let query = subscriber_query(&SubscriberFilter::default());
        assert_eq!(query.state.as_deref(), Some(PROVISIONED));
        assert_eq!(query.is_recorded, None);
    }

    #[test]
    fn switches_and_units() {
        assert!(is_on(Some("ON")) && is_on(Some("on")) && !is_on(Some("OFF")) && !is_on(None));
        assert_eq!(megabytes(Some(2), Some("gigabyte")), Some(2048));
        assert_eq!(megabytes(Some(2048), None), Some(2048));
        assert_eq!(megabytes(None, Some("megabyte")), None);
        let settings = LineSettings {
            mobile_sms: Some(false),
            pbx_password: Some("PA$$W0RD!".into()),
            ..LineSettings::default()
        };
        let info = pbx_info(&settings);
        assert_eq!(info.mobile_sms.as_deref(), Some(OFF));
        assert_eq!(info.mobile_data, None);
        assert!(!format!("{info:?}").contains("PA$$W0RD!"));
        assert_eq!(
            serde_json::to_value(recording(Recording {
                voice: true,
                sms: false
            }))
            .unwrap(),
            serde_json::json!({"voice_recording": "ON", "sms_recording": "OFF"})
        );
    }
}
