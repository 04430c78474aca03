//! `tether-auth organizations ...`: list, create and map organizations from the command
//! line, for a first deployment where no SUPERADMIN exists yet to call the HTTP routes.
//!
//! ```text
//! tether-auth organizations list
//! tether-auth organizations create --name NAME [--workos-organization org_...]
//! tether-auth organizations map ID org_...|--none
//! ```
//!
//! They work on the database named by the service's own settings (`MONGODB_URI`, ...).
//! Exit codes: 0 done, 1 the store refused or failed, 2 a usage or settings error.

use std::io::Write;
use std::process::ExitCode;

use tether_clock::SystemClock;
use tether_domain::{
    Clock, NewOrganization, Organization, OrganizationId, OrganizationRepository, RepositoryError,
    WorkosOrganizationId,
};
use tether_mongo::MongoStore;

use crate::Settings;

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print every organization, oldest first.
    List,
    /// Create an organization, optionally mapped.
    Create {
        /// Display name.
        name: String,
        /// The WorkOS organization to map it to.
        workos_organization_id: Option<WorkosOrganizationId>,
    },
    /// Map an organization to a WorkOS organization, or unmap it (`None`).
    Map {
        /// The organization.
        id: OrganizationId,
        /// The mapping; `None` unmaps.
        workos_organization_id: Option<WorkosOrganizationId>,
    },
}

/// Parses the arguments after `organizations`; the error is a message for the operator.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let workos =
        |raw: &str| WorkosOrganizationId::parse(raw).map_err(|e| format!("{raw:?} is not valid: {e}"));
    match args {
        [cmd] if cmd == "list" => Ok(Command::List),
        [cmd, rest @ ..] if cmd == "create" => {
            let mut name = None;
            let mut workos_organization_id = None;
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--name" => name = Some(value.trim().to_owned()).filter(|n| !n.is_empty()),
                    "--workos-organization" => workos_organization_id = Some(workos(value)?),
                    other => return Err(format!("unknown option {other}")),
                }
            }
            Ok(Command::Create {
                name: name.ok_or("--name NAME is required")?,
                workos_organization_id,
            })
        }
        [cmd, id, target] if cmd == "map" => Ok(Command::Map {
            id: OrganizationId::parse(id)
                .map_err(|_| format!("{id:?} is not an organization id (24 hexadecimal characters)"))?,
            workos_organization_id: match target.as_str() {
                "--none" => None,
                raw => Some(workos(raw)?),
            },
        }),
        _ => Err("expected list, create or map".to_owned()),
    }
}

/// Runs a parsed `tether-auth organizations ...` against the database of `settings`.
pub async fn run(command: Command, settings: &Settings) -> ExitCode {
    let Some(config) = crate::startup::mongo_config(settings) else {
        eprintln!("tether-auth organizations: MONGODB_URI is required: the organizations live in MongoDB");
        return ExitCode::from(2);
    };
    let store = match MongoStore::connect(config).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("tether-auth organizations: MONGODB_URI: cannot use the database: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = store.ensure_indexes().await {
        eprintln!("tether-auth organizations: MONGODB_URI: cannot prepare the database: {e}");
        return ExitCode::from(1);
    }
    let mut out = std::io::stdout().lock();
    match execute(command, &store, &SystemClock, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tether-auth organizations: {message}");
            ExitCode::from(1)
        }
    }
}

/// Carries out `command` on `organizations`, writing what it did to `out`.
pub async fn execute(
    command: Command,
    organizations: &dyn OrganizationRepository,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), String> {
    let conflict = |workos: &Option<WorkosOrganizationId>| {
        format!(
            "another organization is already mapped to {}",
            workos.as_ref().map_or("", WorkosOrganizationId::as_str)
        )
    };
    let written = match command {
        Command::List => {
            let all = organizations.list().await.map_err(store_error)?;
            let mut lines = String::from("ID                        WORKOS ORGANIZATION             NAME\n");
            for org in &all {
                lines.push_str(&line(org));
            }
            lines
        }
        Command::Create {
            name,
            workos_organization_id,
        } => {
            let created = organizations
                .create(NewOrganization {
                    name,
                    workos_organization_id: workos_organization_id.clone(),
                    created_at: clock.now(),
                })
                .await
                .map_err(|e| match e {
                    RepositoryError::Duplicate => conflict(&workos_organization_id),
                    other => store_error(other),
                })?;
            format!("created {}", line(&created))
        }
        Command::Map {
            id,
            workos_organization_id,
        } => {
            let updated = organizations
                .set_workos_organization(id, workos_organization_id.clone(), clock.now())
                .await
                .map_err(|e| match e {
                    RepositoryError::Duplicate => conflict(&workos_organization_id),
                    other => store_error(other),
                })?
                .ok_or_else(|| format!("no organization has the id {id}"))?;
            format!("updated {}", line(&updated))
        }
    };
    out.write_all(written.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the answer: {e}"))
}

fn line(org: &Organization) -> String {
    format!(
        "{}  {:<30}  {}\n",
        org.id,
        org.workos_organization_id
            .as_ref()
            .map_or("-", WorkosOrganizationId::as_str),
        org.name
    )
}

fn store_error(e: RepositoryError) -> String {
    format!("the database failed: {e}")
}

#[cfg(test)]
mod tests {
    use tether_clock::ManualClock;
    use tether_domain::{StoredSessionSettings, Timestamp};
    use tether_memory::InMemoryStore;

    use super::*;

    fn args(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_three_commands_parse_and_bad_input_is_refused() {
        assert_eq!(parse(&args(&["list"])), Ok(Command::List));
        assert_eq!(
            parse(&args(&[
                "create",
                "--name",
                "Acme",
                "--workos-organization",
                "org_01ABC"
            ])),
            Ok(Command::Create {
                name: "Acme".into(),
                workos_organization_id: Some(WorkosOrganizationId::parse("org_01ABC").unwrap()),
            })
        );
        assert_eq!(
            parse(&args(&["map", "64a1b2c3d4e5f60012345678", "--none"])),
            Ok(Command::Map {
                id: OrganizationId::parse("64a1b2c3d4e5f60012345678").unwrap(),
                workos_organization_id: None,
            })
        );
        for bad in [
            &["create"][..],
            &["create", "--name"],
            &["create", "--name", "A", "--workos-organization", "acme"],
            &["map", "nope", "org_1"],
            &["map", "64a1b2c3d4e5f60012345678"],
            &["delete"],
            &[],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn create_map_and_list_work_and_a_second_mapping_is_refused() {
        let store = InMemoryStore::new();
        let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
        let existing =
            store.add_organization("Old", Timestamp::from_millis(1), StoredSessionSettings::none());
        let mut out = Vec::new();
        let acme = WorkosOrganizationId::parse("org_ACME").unwrap();
        execute(
            Command::Create {
                name: "Acme".into(),
                workos_organization_id: Some(acme.clone()),
            },
            &store,
            &clock,
            &mut out,
        )
        .await
        .unwrap();
        let err = execute(
            Command::Map {
                id: existing,
                workos_organization_id: Some(acme.clone()),
            },
            &store,
            &clock,
            &mut out,
        )
        .await
        .unwrap_err();
        assert!(err.contains("already mapped to org_ACME"), "{err}");
        let mut listing = Vec::new();
        execute(Command::List, &store, &clock, &mut listing)
            .await
            .unwrap();
        let listing = String::from_utf8(listing).unwrap();
        let rows: Vec<&str> = listing.lines().skip(1).collect();
        assert_eq!(rows.len(), 2, "{listing}");
        assert!(
            rows[0].starts_with(&existing.to_string()) && rows[0].contains(" - "),
            "{listing}"
        );
        assert!(
            rows[1].contains("org_ACME") && rows[1].ends_with("Acme"),
            "{listing}"
        );
        let missing = OrganizationId::parse("64a1b2c3d4e5f60012345678").unwrap();
        let err = execute(
            Command::Map {
                id: missing,
                workos_organization_id: None,
            },
            &store,
            &clock,
            &mut out,
        )
        .await
        .unwrap_err();
        assert!(err.contains("no organization"), "{err}");
    }
}
