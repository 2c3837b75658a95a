//! Numbers, SIMs, ports and groups.

use super::*;

#[tokio::test]
async fn numbers_and_sims_are_listed_by_state_and_kind() {
    let f = fixture().await;
    let reserved = f.client.numbers(InventoryState::Reserved).await.unwrap();
    assert_eq!(reserved.len(), f.sandbox.reserved_numbers().len());
    assert!(reserved.len() >= 3);
    assert!(reserved.iter().all(|n| n.state == InventoryState::Reserved));
    assert!(
        f.client
            .numbers(InventoryState::Active)
            .await
            .unwrap()
            .is_empty()
    );

    let added = mpn("447700955501");
    f.client.add_number(&added).await.unwrap();
    let reserved = f.client.numbers(InventoryState::Reserved).await.unwrap();
    assert!(reserved.iter().any(|n| n.mpn == added));
    assert_refused(f.client.add_number(&added).await, 409, "NUMBER_EXISTS");

    for kind in [SimKind::All, SimKind::Esim, SimKind::Psim] {
        let sims = f.client.sims(InventoryState::Reserved, kind).await.unwrap();
        assert!(!sims.is_empty(), "{kind:?}");
        let iccids: Vec<Iccid> = sims.iter().map(|s| s.iccid.clone()).collect();
        assert_eq!(iccids, f.sandbox.reserved_sims(kind), "{kind:?}");
        assert!(
            sims.iter()
                .all(|s| s.state == InventoryState::Reserved && s.mpn.is_none())
        );
        assert!(sims.iter().all(|s| kind == SimKind::All || s.kind == kind));
    }
    assert!(
        f.client
            .sims(InventoryState::Active, SimKind::All)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ports_are_listed_by_state_and_looked_up() {
    let f = fixture().await;
    let in_progress = f.client.ports(PortState::InProgress).await.unwrap();
    assert!(
        !in_progress.is_empty(),
        "the space in IN PROGRESS is encoded"
    );
    assert!(
        in_progress
            .iter()
            .all(|p| p.state == Some(PortState::InProgress) && p.provider_status == "IN PROGRESS")
    );
    for state in [
        PortState::Initial,
        PortState::Failed,
        PortState::Complete,
        PortState::Closed,
    ] {
        let ports = f.client.ports(state).await.unwrap();
        assert!(!ports.is_empty(), "{state:?}");
        assert!(ports.iter().all(|p| p.state == Some(state)), "{state:?}");
    }
    let all = f.client.ports(PortState::All).await.unwrap();
    assert!(all.len() > in_progress.len());
    let undocumented = all.iter().find(|p| p.state.is_none()).unwrap();
    assert_eq!(undocumented.provider_status, "ON HOLD");

    let port = f.client.port(&in_progress[0].id).await.unwrap();
    assert_eq!(port, in_progress[0]);
    assert!(port.pac.is_some() && port.port_in_number.is_some());
    assert!(port.direction.starts_with("PORT-"));
    assert!(matches!(
        f.client.port("999999").await,
        Err(ConnectorError::NotFound(_))
    ));
}

#[tokio::test]
async fn groups_are_added_listed_and_validated() {
    let f = fixture().await;
    assert!(f.client.groups().await.unwrap().is_empty());
    let travel = group("TRAVEL_CO", &["GB", "US"]);
    f.client.add_group(&travel).await.unwrap();
    assert_eq!(
        f.client.groups().await.unwrap(),
        std::slice::from_ref(&travel)
    );

    assert_refused(f.client.add_group(&travel).await, 409, "GROUP_EXISTS");
    assert_refused(
        f.client.add_group(&group("travel_co", &["GB"])).await,
        409,
        "GROUP_EXISTS",
    );
    for bad in ["_bad", "ab", "123", "has space", &"a".repeat(46)] {
        assert_refused(
            f.client.add_group(&group(bad, &["GB"])).await,
            400,
            "INVALID_GROUP_NAME",
        );
    }
    assert_refused(
        f.client.add_group(&group("FRENCH", &["FR"])).await,
        400,
        "INVALID_HOME_LOCATION",
    );
    let no_address = Group {
        address_line_1: None,
        ..group("NO_ADDRESS", &["GB"])
    };
    assert_refused(f.client.add_group(&no_address).await, 400, "MISSING_FIELD");
    assert_eq!(f.client.groups().await.unwrap().len(), 1);
}
