//! The configuration reference is current, and the example configurations the packages
//! install are read by the daemons' own parsers.

use std::path::Path;

use trm_config_docs as reference;
use trm_config_docs::workspace_root;

#[test]
fn the_committed_configuration_reference_is_current() -> anyhow::Result<()> {
    let root = workspace_root();
    let generated = reference::generate(&root)?;
    let committed = std::fs::read_to_string(root.join(reference::FILE))?;
    assert!(
        committed == generated,
        "{} is not current: run `{}`",
        reference::FILE,
        reference::COMMAND
    );
    // Every key of both files is in it, with the table fields' sections.
    for key in [
        "`listen`",
        "`quotas.max_queued_per_node`",
        "`network.handshake_timeout_ms`",
        "`address`",
        "`deadlines.follow_up_months`",
        "`attachments.max_file_bytes`",
        "`retention_days`",
    ] {
        assert!(generated.contains(key), "{key} missing");
    }
    assert!(generated.contains("| `directory` | path | required | reloaded: the file is re-read;"));
    assert!(generated.contains("| `data_dir` | path | required | restart |"));
    assert!(generated.contains("| `max_envelope_bytes` | integer | `4194304` (4 MiB) | restart |"));
    Ok(())
}

#[test]
fn the_example_configurations_parse_as_the_daemons_read_them() -> anyhow::Result<()> {
    let config = workspace_root().join("packaging/config");
    let node = std::fs::read_to_string(config.join("node.toml.example"))?;
    let node = trm_node::NodeConfigFile::from_toml(&node, Path::new("/etc/trm/node/node.toml"))?;
    assert_eq!(node.tls_key, Path::new("/etc/trm/node/tls.key"));
    assert_eq!(node.data_dir, Path::new("/var/lib/trm-node"));
    let broker = std::fs::read_to_string(config.join("broker.toml.example"))?;
    let broker =
        trm_broker::BrokerConfigFile::from_toml(&broker, Path::new("/etc/trm/broker/broker.toml"))?;
    assert_eq!(broker.data_dir, Path::new("/var/lib/trm-broker"));
    // The units read the files these examples become, and write where the examples point.
    let units = workspace_root().join("packaging/systemd");
    let node_unit = std::fs::read_to_string(units.join("trm-node.service"))?;
    assert!(node_unit.contains("--config /etc/trm/node/node.toml"));
    assert!(node_unit.contains("ReadWritePaths=/var/lib/trm-node /run/trm-node"));
    let broker_unit = std::fs::read_to_string(units.join("trm-broker.service"))?;
    assert!(broker_unit.contains("--config /etc/trm/broker/broker.toml"));
    Ok(())
}
