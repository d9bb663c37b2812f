//! Writes a setting changed while running back into the broker's configuration file, as Java's
//! `Configuration.persist` rewrites the broker's `-c` file after `updateBrokerConfig`: a broker
//! drained with `brokerPermission=4` stays drained across a restart.
//!
//! Only the one key changes: the file is edited as a TOML document (`toml_edit`), so the
//! operator's comments, key order and layout stay as written, and replaced whole by an atomic
//! rename, so a crash leaves the old file or the new one, never half of each.

use std::path::Path;

use toml_edit::{value, DocumentMut, Item, Table};

use crate::broker_permission::BrokerPermission;
use crate::store::paths::write_atomic;

/// Why the file was not updated (the running broker has the new value all the same).
#[derive(Debug, thiserror::Error)]
pub enum ConfigUpdateError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a TOML document any more: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: [{section}] is not a table")]
    NotATable { path: String, section: String },
    #[error(transparent)]
    Write(#[from] crate::store::StoreError),
}

/// Sets `[broker] permission` in the file at `path` to `permission`.
pub fn persist_broker_permission(
    path: &Path,
    permission: BrokerPermission,
) -> Result<(), ConfigUpdateError> {
    set_key(path, "broker", "permission", i64::from(permission.bits()))
}

/// Sets `key` of `[section]` to `v`, adding the section or the key where missing.
fn set_key(path: &Path, section: &str, key: &str, v: i64) -> Result<(), ConfigUpdateError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigUpdateError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigUpdateError::Parse {
                path: shown.clone(),
                message: e.message().to_string(),
            })?;
    let table = doc
        .entry(section)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| ConfigUpdateError::NotATable {
            path: shown,
            section: section.to_string(),
        })?;
    table.insert(key, value(v));
    write_atomic(path, doc.to_string().as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerConfig;

    fn permission(bits: &str) -> BrokerPermission {
        crate::broker_permission::plan_update(format!("brokerPermission={bits}").as_bytes())
            .unwrap()
            .unwrap()
    }

    fn update(text: &str, bits: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.toml");
        std::fs::write(&path, text).unwrap();
        persist_broker_permission(&path, permission(bits)).unwrap();
        let updated = std::fs::read_to_string(&path).unwrap();
        let config = BrokerConfig::parse(&updated, &path).unwrap();
        assert_eq!(config.broker.permission, permission(bits), "{updated}");
        updated
    }

    #[test]
    fn the_key_changes_and_everything_else_stays_as_written() {
        let text = "# the operator's notes\n[broker]\nname = \"b1\"   # kept\npermission = 6\n\n[store]\nroot = \"/data\"\n";
        assert_eq!(
            update(text, "4"),
            "# the operator's notes\n[broker]\nname = \"b1\"   # kept\npermission = 4\n\n[store]\nroot = \"/data\"\n"
        );
    }

    #[test]
    fn a_missing_key_or_section_is_added() {
        let added = update("[broker]\nname = \"b1\"\n", "4");
        assert!(added.contains("permission = 4"), "{added}");
        let added = update("[store]\nroot = \"/data\"\n", "2");
        assert!(added.contains("[broker]\npermission = 2"), "{added}");
        assert!(added.starts_with("[store]\nroot = \"/data\"\n"), "{added}");
    }

    #[test]
    fn a_file_it_cannot_read_or_edit_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.toml");
        assert!(matches!(
            persist_broker_permission(&path, permission("4")),
            Err(ConfigUpdateError::Read { .. })
        ));
        std::fs::write(&path, "broker = 3\n").unwrap();
        assert!(matches!(
            persist_broker_permission(&path, permission("4")),
            Err(ConfigUpdateError::NotATable { .. })
        ));
        std::fs::write(&path, "[broker\n").unwrap();
        assert!(matches!(
            persist_broker_permission(&path, permission("4")),
            Err(ConfigUpdateError::Parse { .. })
        ));
    }
}
