//! `tether-auth link-requests list|approve ID|reject ID`: the link requests of logins
//! refused with `ACCOUNT_LINK_REQUIRED`, decided from the command line, for
//! deployments without an administrator (recorded as the `cli` actor).
//!
//! ```text
//! tether-auth link-requests list [--status pending|approved|rejected|expired] [--limit N]
//! tether-auth link-requests approve 6a1b2c3d4e5f600123456789
//! tether-auth link-requests reject 6a1b2c3d4e5f600123456789
//! ```

use std::io::Write;
use std::sync::Arc;

use tether_clock::SystemClock;
use tether_domain::lifecycle::format_rfc3339;
use tether_domain::{AuditIds, LinkCaller, LinkRequest, LinkRequests};

use crate::audit::{AuditWriter, WriterSettings, process_tag};
use tether_mongo::{MongoConfig, MongoStore};

/// What was asked of the link requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the requests of a status (default pending), newest first.
    List {
        /// `pending`, `approved`, `rejected` or `expired`.
        status: Option<String>,
        /// At most this many.
        limit: Option<u32>,
    },
    /// Approve a request: its WorkOS id is recorded on the user.
    Approve {
        /// The request's id.
        id: String,
    },
    /// Reject a request.
    Reject {
        /// The request's id.
        id: String,
    },
}

/// Runs a parsed `tether-auth link-requests ...` against the database `config` names.
pub async fn run(command: Command, config: MongoConfig) -> Result<(), String> {
    let store = Arc::new(
        MongoStore::connect(config)
            .await
            .map_err(|e| format!("MONGODB_URI: cannot use the database: {e}"))?,
    );
    // Decisions are audited like the routes' (actor `cli`); the writer stores the
    // records before the command exits.
    let (audit, writer) = AuditWriter::start(
        store.clone(),
        AuditIds::new(process_tag(&SystemClock)),
        WriterSettings::default(),
    );
    let links = LinkRequests::new(store.clone(), store, Arc::new(SystemClock), audit);
    let done = {
        let mut out = std::io::stdout().lock();
        execute(command, &links, &mut out).await
    };
    writer.stop().await;
    done
}

/// One request on one line.
fn line(request: &LinkRequest) -> String {
    let verified = match request.email_verified {
        Some(true) => "verified",
        Some(false) => "not verified",
        None => "verification unknown",
    };
    let tenant = request
        .identity
        .tenant
        .as_ref()
        .map_or_else(String::new, |t| format!(" ({})", t.as_str()));
    format!(
        "{}  {}  user {}  {} {}{tenant}  {} ({verified})  requested {}  expires {}\n",
        request.id,
        request.status.as_str(),
        request.user_id,
        request.identity.link.provider.as_str(),
        request.identity.link.subject,
        request.email,
        format_rfc3339(request.requested_at),
        format_rfc3339(request.expires_at),
    )
}

/// Carries out `command` with `links` as the command line, writing what it did to `out`.
pub async fn execute(command: Command, links: &LinkRequests, out: &mut dyn Write) -> Result<(), String> {
    let cli = LinkCaller::CommandLine;
    let text = match command {
        Command::List { status, limit } => {
            let found = links
                .list(cli, status.as_deref(), limit)
                .await
                .map_err(|e| e.to_string())?;
            if found.is_empty() {
                "no link requests\n".to_owned()
            } else {
                found.iter().map(line).collect()
            }
        }
        Command::Approve { id } => {
            let request = links.approve(cli, &id).await.map_err(|e| e.to_string())?;
            format!(
                "approved: user {} now signs in with {} {}\n",
                request.user_id,
                request.identity.link.provider.as_str(),
                request.identity.link.subject
            )
        }
        Command::Reject { id } => {
            let request = links.reject(cli, &id).await.map_err(|e| e.to_string())?;
            format!("rejected link request {}\n", request.id)
        }
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use tether_clock::ManualClock;
    use tether_domain::{
        AccessRole, Email, IdentityLink, LinkRequestStore, LinkedIdentity, NewLinkRequest, NewUser,
        OrganizationId, ProviderKey, Timestamp, UserRepository,
    };
    use tether_memory::InMemoryStore;

    use super::*;

    #[tokio::test]
    async fn list_approve_and_reject_print_what_they_did_and_refuse_what_they_cannot() {
        let store = Arc::new(InMemoryStore::new());
        let now = Timestamp::from_millis(1_800_000_000_000);
        let clock = Arc::new(ManualClock::new(now));
        let link = |subject: &str| IdentityLink {
            provider: ProviderKey::from_static("sso"),
            subject: subject.to_owned(),
        };
        let jane = store
            .insert(NewUser {
                email: Email::parse("jane@acme.example").unwrap(),
                full_name: "Jane".to_owned(),
                organization_id: OrganizationId::parse("64a1b2c3d4e5f600aaaaaaaa").unwrap(),
                access_role: AccessRole::SalesRep,
                conversation_open_preference: "split".to_owned(),
                identity: LinkedIdentity {
                    link: link("prof_old"),
                    connection: None,
                    tenant: None,
                },
                email_verified: true,
                created_at: now,
            })
            .await
            .unwrap();
        let mut ids = Vec::new();
        for subject in ["prof_new", "prof_other"] {
            let recorded = store
                .record_or_get_pending(NewLinkRequest {
                    user_id: jane.id,
                    organization_id: jane.organization_id,
                    identity: LinkedIdentity {
                        link: link(subject),
                        connection: None,
                        tenant: None,
                    },
                    email: jane.email.clone(),
                    email_verified: None,
                    requested_at: now,
                    expires_at: now.plus_seconds(3600),
                })
                .await
                .unwrap();
            ids.push(recorded.request.id.to_string());
        }
        let links = LinkRequests::new(
            store.clone(),
            store.clone(),
            clock,
            Arc::new(tether_domain::NoAudit),
        );
        let run = |command| {
            let links = links.clone();
            async move {
                let mut out = Vec::new();
                execute(command, &links, &mut out)
                    .await
                    .map(|()| String::from_utf8(out).unwrap())
            }
        };

        let listed = run(Command::List {
            status: None,
            limit: None,
        })
        .await
        .unwrap();
        assert_eq!(listed.lines().count(), 2, "{listed}");
        assert!(
            listed.contains("sso prof_new") && listed.contains("pending"),
            "{listed}"
        );
        assert!(!listed.contains("jane@acme.example (verified)"), "{listed}");

        let approved = run(Command::Approve { id: ids[0].clone() }).await.unwrap();
        assert!(approved.contains("now signs in with sso prof_new"), "{approved}");
        let jane = store.find_user(jane.id).await.unwrap().unwrap();
        assert_eq!(
            jane.subject_for(&ProviderKey::from_static("sso")),
            Some("prof_new")
        );
        let again = run(Command::Reject { id: ids[0].clone() }).await.unwrap_err();
        assert!(again.contains("approved"), "{again}");
        assert!(
            run(Command::Reject { id: ids[1].clone() })
                .await
                .unwrap()
                .contains("rejected")
        );
        assert!(
            run(Command::Approve {
                id: "nope".to_owned()
            })
            .await
            .is_err(),
            "a malformed id is refused"
        );
        let none = run(Command::List {
            status: None,
            limit: None,
        })
        .await
        .unwrap();
        assert_eq!(none, "no link requests\n");
    }
}
