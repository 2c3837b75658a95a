//! The reseller's subscribers and groups.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use simgate_connectors::onsim::types::{
    GROUP_HOME_LOCATIONS, GroupList, GroupRecord, PROVISIONED, SubscriberEntry, SubscriberList,
    SubscriberQuery,
};

use crate::onsim::routes::*;
use crate::onsim::state::*;

pub(crate) async fn subscribers(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let query: SubscriberQuery = if body.is_empty() {
        SubscriberQuery::default()
    } else {
        parse(&body)?
    };
    let provisioned = query
        .state
        .as_deref()
        .is_none_or(|s| s.eq_ignore_ascii_case(PROVISIONED));
    let state = sandbox.lock();
    let subscribers = state
        .accounts
        .iter()
        .filter(|_| provisioned)
        .map(|(mpn, account)| SubscriberEntry {
            mpn: mpn.clone(),
            iccid: Some(account.sim.clone()),
            i_account: Some(account.i_account.to_string()),
            state: PROVISIONED.to_owned(),
            group: account.group.clone(),
            is_recorded: account.voice_recording || account.sms_recording,
            first_name: account.first_name.clone(),
            last_name: account.last_name.clone(),
            email: account.email.clone(),
        })
        .filter(|s| query.is_recorded.is_none_or(|r| r == s.is_recorded))
        .filter(|s| query.group.is_none() || s.group == query.group)
        .collect();
    Ok(Json(SubscriberList { subscribers }).into_response())
}

pub(crate) async fn groups(State(sandbox): State<OnsimSandbox>) -> Json<GroupList> {
    Json(GroupList {
        groups: sandbox.lock().groups.clone(),
    })
}

pub(crate) async fn add_group(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let mut group: GroupRecord = parse(&body)?;
    if !valid_group_name(&group.name) {
        return Err(bad_request(
            "INVALID_GROUP_NAME",
            "name must be 3-45 characters of a-z A-Z 0-9 _ -, start with an alphanumeric \
             character and contain a letter",
        ));
    }
    if group
        .address_line_1
        .as_deref()
        .is_none_or(|line| line.trim().is_empty())
    {
        return Err(bad_request("MISSING_FIELD", "address_line_1 is required"));
    }
    let locations: Vec<String> = group
        .home_location
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|code| code.trim().to_ascii_uppercase())
        .filter(|code| !code.is_empty())
        .collect();
    if locations.is_empty()
        || !locations
            .iter()
            .all(|code| GROUP_HOME_LOCATIONS.contains(&code.as_str()))
    {
        return Err(bad_request(
            "INVALID_HOME_LOCATION",
            "home_location must be GBR, USA or both, comma separated",
        ));
    }
    group.home_location = Some(locations.join(","));
    let mut state = sandbox.lock();
    if state
        .groups
        .iter()
        .any(|g| g.name.eq_ignore_ascii_case(&group.name))
    {
        return Err(error(
            StatusCode::CONFLICT,
            "GROUP_EXISTS",
            &format!("A group named {} already exists", group.name),
        ));
    }
    state.groups.push(group);
    ok("New Group Successfully Added")
}
