//! Tests of the spec rules: each error names the entry and the field.

use trm_storage::EndpointList;

use super::*;

/// Validates the default spec after `edit` and returns the error's message and field.
fn refused(edit: impl FnOnce(&mut FederationSpec)) -> (String, &'static str) {
    let mut spec = FederationSpec::default_dev();
    edit(&mut spec);
    match spec.validate() {
        Err(err @ CertsError::Invalid { field, .. }) => (err.to_string(), field),
        other => panic!("expected an invalid-field error, got {other:?}"),
    }
}

fn node_mut<'a>(spec: &'a mut FederationSpec, address: &str) -> &'a mut NodeSpec {
    spec.nodes
        .iter_mut()
        .find(|n| n.address == address)
        .expect("node in the default spec")
}

#[test]
fn a_node_whose_broker_is_missing_is_named() {
    let (message, field) = refused(|s| node_mut(s, "astra@rs").address = "astra@xx".into());
    assert_eq!(field, "home broker");
    assert_eq!(
        message,
        r#"node "astra@xx": home broker "xx" is not in the spec"#
    );
}

#[test]
fn duplicate_addresses_names_and_endpoints_are_refused() {
    let (message, field) = refused(|s| node_mut(s, "atina@rs").address = "astra@rs".into());
    assert_eq!(
        (message.as_str(), field),
        (r#"node "astra@rs": address appears twice"#, "address")
    );

    let (message, field) = refused(|s| s.brokers[1].name = "at".into());
    assert_eq!(
        (message.as_str(), field),
        (r#"broker "at": name appears twice"#, "name")
    );

    let (message, field) =
        refused(|s| s.brokers[3].endpoints = EndpointList::from("https://127.0.0.1:7401"));
    assert_eq!(field, "endpoints");
    assert!(
        message.starts_with(r#"broker "al": endpoints "#),
        "{message}"
    );
    assert!(
        message.contains(r#"already used by broker "at""#),
        "{message}"
    );
}

#[test]
fn malformed_fields_name_the_entry_and_field() {
    type Edit = Box<dyn FnOnce(&mut FederationSpec)>;
    let cases: Vec<(Edit, &str, &str)> = vec![
        (
            Box::new(|s| node_mut(s, "oncat@al").organisation_type = "charity".into()),
            "organisation_type",
            r#"node "oncat@al": organisation_type "charity" is not one of"#,
        ),
        (
            Box::new(|s| node_mut(s, "myla@mk").address = "MYLA@mk".into()),
            "address",
            r#"node "MYLA@mk": address must be name@broker"#,
        ),
        (
            Box::new(|s| s.brokers[0].name = "Austria".into()),
            "name",
            r#"broker "Austria": name must be"#,
        ),
        (
            Box::new(|s| s.brokers[1].endpoints = EndpointList::from("http://127.0.0.1:7402")),
            "endpoints",
            r#"broker "rs": endpoints "http://127.0.0.1:7402" must be https://host:port"#,
        ),
        (
            Box::new(|s| s.brokers[2].country = "mk".into()),
            "country",
            r#"broker "mk": country "mk" must be"#,
        ),
        (
            Box::new(|s| node_mut(s, "atina@rs").country = "Serbia".into()),
            "country",
            r#"node "atina@rs": country "Serbia" must be"#,
        ),
        (
            Box::new(|s| node_mut(s, "cpvt@rs").languages.push("Serbian".into())),
            "languages",
            r#"node "cpvt@rs": languages entry "Serbian" must be an ISO 639-1 code"#,
        ),
        (
            Box::new(|s| node_mut(s, "cpvt@rs").services.push("shelter".into())),
            "services",
            r#"node "cpvt@rs": services entry "shelter" appears twice"#,
        ),
        (
            Box::new(|s| node_mut(s, "nc-mk@mk").organisation = "  ".into()),
            "organisation",
            r#"node "nc-mk@mk": organisation must be"#,
        ),
        (
            Box::new(|s| s.validity_days = 0),
            "validity_days",
            "spec: validity_days 0 must be between 1 and 3650",
        ),
        (
            Box::new(|s| s.federation = "trm dev".into()),
            "federation",
            r#"spec: federation "trm dev" must be"#,
        ),
        (
            Box::new(|s| s.brokers.clear()),
            "brokers",
            "spec: brokers must list at least one broker",
        ),
    ];
    for (edit, expected_field, expected_start) in cases {
        let (message, field) = refused(edit);
        assert_eq!(field, expected_field, "{message}");
        assert!(
            message.starts_with(expected_start),
            "{message:?} vs {expected_start:?}"
        );
    }
}

/// Several endpoints per broker: every one is checked, none may repeat within the list or
/// across brokers, and the list may not be empty.
#[test]
fn a_broker_lists_several_endpoints_each_usable_and_its_own() {
    let two = |first: &str, second: &str| EndpointList::from(vec![first.into(), second.into()]);
    let mut spec = FederationSpec::default_dev();
    spec.brokers[0].endpoints = two("https://127.0.0.1:7401", "https://10.0.0.2:7401");
    assert!(spec.validate().is_ok(), "two usable endpoints of its own");

    let cases: Vec<(EndpointList, &str)> = vec![
        (
            EndpointList::default(),
            r#"broker "at": endpoints must list at least one endpoint"#,
        ),
        (
            two("https://127.0.0.1:7401", "https://10.0.0.2"),
            r#"broker "at": endpoints "https://10.0.0.2" must be https://host:port"#,
        ),
        (
            two("https://127.0.0.1:7401", "https://127.0.0.1:7401"),
            r#"broker "at": endpoints "https://127.0.0.1:7401" is listed twice"#,
        ),
        (
            two("https://127.0.0.1:7401", "https://127.0.0.1:7403"),
            r#"broker "mk": endpoints "https://127.0.0.1:7403" is already used by broker "at""#,
        ),
    ];
    for (endpoints, expected) in cases {
        let (message, field) = refused(|s| s.brokers[0].endpoints = endpoints.clone());
        assert_eq!((message.as_str(), field), (expected, "endpoints"));
    }
}

#[test]
fn a_spec_may_list_several_endpoints_or_name_one_the_old_way() {
    let text = r#"
        federation = "f"
        validity_days = 30
        [[brokers]]
        name = "at"
        country = "AT"
        endpoints = ["https://127.0.0.1:7401", "https://127.0.0.1:7411"]
        [[brokers]]
        name = "rs"
        country = "RS"
        endpoint = "https://127.0.0.1:7402"
    "#;
    let spec: FederationSpec = toml::from_str(text).expect("a spec");
    assert_eq!(spec.brokers[0].endpoints.as_slice().len(), 2);
    assert_eq!(
        spec.brokers[1].endpoints.as_slice(),
        ["https://127.0.0.1:7402"]
    );
}

#[test]
fn https_endpoints_need_a_host_and_a_port() {
    assert!(is_https_endpoint("https://127.0.0.1:7401"));
    assert!(is_https_endpoint("https://[::1]:7401"));
    assert!(is_https_endpoint("https://broker.example.org:443"));
    for bad in [
        "127.0.0.1:7401",
        "https://127.0.0.1",
        "https://:7401",
        "https://h:0",
        "https://h:x",
    ] {
        assert!(!is_https_endpoint(bad), "{bad}");
    }
}
