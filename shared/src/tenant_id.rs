//! The tenant id: it becomes a directory on the shared file system and a tag value, so
//! only strict ids can exist as a `TenantId`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The longest tenant id: it must fit a DNS label and an EFS path component.
pub const MAX_LEN: usize = 63;

/// A validated tenant id: 1–63 of lowercase ASCII letters, digits and hyphens, starting and
/// ending with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let reason = if raw.is_empty() {
            Some("it is empty")
        } else if raw.chars().count() > MAX_LEN {
            Some("it is longer than 63 characters")
        } else if !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            Some("only lowercase letters, digits and hyphens are allowed")
        } else if raw.starts_with('-') || raw.ends_with('-') {
            Some("it must start and end with a letter or digit")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::new(
                ErrorKind::InvalidTenant,
                format!(
                    "tenant id {:?} is not valid: {reason}",
                    crate::error::echo(raw)
                ),
            )),
            None => Ok(Self(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant's directory from the root of the shared file system.
    pub fn root_path(&self) -> String {
        format!("/{}", self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        TenantId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_ids() {
        for ok in ["tenant-1", "a", "0", "acme-corp-2024", &"x".repeat(63)] {
            assert_eq!(TenantId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_paths_case_spaces_unicode_and_lengths() {
        for bad in [
            "",
            "../x",
            "..",
            "a/b",
            "/tenant",
            "A",
            "Tenant-1",
            "tenant 1",
            " tenant",
            "tenant\n",
            "tenant_1",
            "tenant.1",
            "tënant",
            "租户",
            "-tenant",
            "tenant-",
            &"x".repeat(64),
        ] {
            let err = TenantId::parse(bad).unwrap_err();
            assert_eq!(err.name(), "InvalidTenant", "{bad:?}");
            assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn root_path_is_the_tenant_directory() {
        assert_eq!(
            TenantId::parse("tenant-1").unwrap().root_path(),
            "/tenant-1"
        );
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<TenantId>("\"../etc\"").is_err());
        assert_eq!(
            serde_json::from_str::<TenantId>("\"t-1\"")
                .unwrap()
                .as_str(),
            "t-1"
        );
    }

    proptest! {
        #[test]
        fn every_valid_id_round_trips(id in "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?") {
            let parsed = TenantId::parse(&id).unwrap();
            prop_assert_eq!(parsed.as_str(), id.as_str());
            prop_assert_eq!(parsed.root_path(), format!("/{id}"));
        }

        #[test]
        fn accepted_ids_are_safe_path_components(raw in "\\PC{0,70}") {
            if let Ok(id) = TenantId::parse(&raw) {
                let s = id.as_str();
                prop_assert!(!s.is_empty() && s.len() <= MAX_LEN);
                prop_assert!(!s.contains('/') && !s.contains("..") && !s.contains(' '));
                prop_assert!(s.is_ascii());
                prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
        }

        #[test]
        fn any_id_with_a_forbidden_character_is_rejected(
            prefix in "[a-z0-9]{0,10}",
            bad in "[^a-z0-9-]",
            suffix in "[a-z0-9]{0,10}",
        ) {
            let raw = format!("{prefix}{bad}{suffix}");
            prop_assert!(TenantId::parse(&raw).is_err());
        }
    }
}
