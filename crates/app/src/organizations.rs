//! `tether-auth organizations ...`: list, create and map organizations from the command
//! line, for a first deployment where no SUPERADMIN exists yet to call the HTTP routes.
//!
//! ```text
//! tether-auth organizations list
//! tether-auth organizations create --name NAME [--workos-organization org_...]
//! tether-auth organizations map ID org_...|--none
//! ```
//!
//! They work on the database named by the service's own MongoDB settings
//! (`MONGODB_URI`, `MONGODB_DATABASE`, ...) and need no other. The arguments are parsed
//! by [`crate::cli`].
//! Exit codes: 0 done, 1 the store refused or failed, 2 a usage or settings error.

use std::io::Write;

use tether_clock::SystemClock;
use tether_domain::{
    Clock, NewOrganization, Organization, OrganizationId, OrganizationRepository, RepositoryError, TenantId,
};
use tether_mongo::{MongoConfig, MongoStore};

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
        tenant: Option<TenantId>,
    },
    /// Map an organization to a WorkOS organization, or unmap it (`None`).
    Map {
        /// The organization.
        id: OrganizationId,
        /// The mapping; `None` unmaps.
        tenant: Option<TenantId>,
    },
}

/// Runs a parsed `tether-auth organizations ...` against the database `config` names
/// (read by [`crate::settings::load_mongo`]: the MongoDB settings and no others); a
/// failure is the message the command stops with (exit code 1).
pub async fn run(command: Command, config: MongoConfig) -> Result<(), String> {
    let store = MongoStore::connect(config)
        .await
        .map_err(|e| format!("MONGODB_URI: cannot use the database: {e}"))?;
    store
        .ensure_indexes()
        .await
        .map_err(|e| format!("MONGODB_URI: cannot prepare the database: {e}"))?;
    let mut out = std::io::stdout().lock();
    execute(command, &store, &SystemClock, &mut out).await
}

/// Carries out `command` on `organizations`, writing what it did to `out`.
pub async fn execute(
    command: Command,
    organizations: &dyn OrganizationRepository,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), String> {
    let conflict = |workos: &Option<TenantId>| {
        format!(
            "another organization is already mapped to {}",
            workos.as_ref().map_or("", TenantId::as_str)
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
        Command::Create { name, tenant } => {
            let created = organizations
                .create(NewOrganization {
                    name,
                    tenant: tenant.clone(),
                    created_at: clock.now(),
                })
                .await
                .map_err(|e| match e {
                    RepositoryError::Duplicate => conflict(&tenant),
                    other => store_error(other),
                })?;
            format!("created {}", line(&created))
        }
        Command::Map { id, tenant } => {
            let updated = organizations
                .set_tenant(id, tenant.clone(), clock.now())
                .await
                .map_err(|e| match e {
                    RepositoryError::Duplicate => conflict(&tenant),
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
        org.tenant.as_ref().map_or("-", TenantId::as_str),
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

    /// What `command` prints, or the error it answers.
    async fn run(store: &InMemoryStore, command: Command) -> Result<String, String> {
        let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
        let mut out = Vec::new();
        execute(command, store, &clock, &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn create_map_and_list_work_and_a_second_mapping_is_refused() {
        let store = InMemoryStore::new();
        let existing =
            store.add_organization("Old", Timestamp::from_millis(1), StoredSessionSettings::none());
        let acme = tether_workos::organization_id("org_ACME").unwrap();
        let tenant = Some(acme.clone());
        run(
            &store,
            Command::Create {
                name: "Acme".into(),
                tenant,
            },
        )
        .await
        .unwrap();
        let tenant = Some(acme);
        let err = run(&store, Command::Map { id: existing, tenant })
            .await
            .unwrap_err();
        assert!(err.contains("already mapped to org_ACME"), "{err}");
        let listing = run(&store, Command::List).await.unwrap();
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
        let tenant = None;
        let err = run(&store, Command::Map { id: missing, tenant })
            .await
            .unwrap_err();
        assert!(err.contains("no organization"), "{err}");
    }
}
